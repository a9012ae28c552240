// Browser-test harness: the real triage binary on a free port with a fresh
// SQLite file, Debian's Chromium through playwright-core, and small API helpers.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..");
const bin = process.env.TRIAGE_BIN || join(repo, "target", "debug", "triage");

// The test command collects every log line of the run here, with the
// secrets and names the tests made, and scans the one for the other
// (scripts/scan-logs.py).
const logDir = process.env.TRIAGE_TEST_LOG_DIR;

/** Lists a secret or a name a test made, for the log scan. */
export function noteSecret(secret) {
  if (!logDir || !secret) return;
  mkdirSync(logDir, { recursive: true });
  appendFileSync(join(logDir, "secrets.txt"), `${secret}\n`);
}

// Time is an input: the server runs on a named instant (a Wednesday, 09:30
// China time) and every page's Date shows the same clock; the tests take
// their dates from `serverNow()`, durations from `performance.now()`, and
// never read the host's clock.
export const WEDNESDAY_0930 = "2026-12-09T09:30:00+08:00";
const NAMED = Date.parse(WEDNESDAY_0930);
const STARTED = performance.now();

/** Now on the servers' and pages' clock (running on from the named instant). */
export function serverNow() {
  return new Date(NAMED + (performance.now() - STARTED));
}

/** Today's service date (Asia/Shanghai) on that clock: YYYY-MM-DD. */
export function serverToday(plusDays = 0) {
  return new Date(serverNow().getTime() + 8 * 3600e3 + plusDays * 86400e3).toISOString().slice(0, 10);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

export class Server {
  constructor(port, dbFile) { this.port = port; this.dbFile = dbFile; this.base = `http://127.0.0.1:${port}`; this.session = null; }

  static async start() {
    const dir = mkdtempSync(join(tmpdir(), "triage-browser-"));
    const s = new Server(await freePort(), join(dir, "t.sqlite"));
    await s.boot();
    return s;
  }

  async boot() {
    let stderr = "inherit";
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      stderr = openSync(join(logDir, `browser-serve-${process.pid}-${this.port}.log`), "a");
    }
    this.proc = spawn(bin, ["serve", "--demo", "--no-simulation", "--bind", `127.0.0.1:${this.port}`,
      "--database-url", `sqlite://${this.dbFile}`],
    { stdio: ["ignore", "ignore", stderr],
      env: { ...process.env, TRIAGE_LOG: logDir ? "info" : "warn", TRIAGE_CLOCK: serverNow().toISOString() } });
    const deadline = performance.now() + 30000;
    while (performance.now() < deadline) {
      try {
        const r = await fetch(`${this.base}/readyz`);
        if (r.ok) { this.access = this.demoAccess(); return; }
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("triage did not become ready");
  }

  /** Runs `triage <args>` on this server's database as hospital IT would
   * (in the database's directory, on the server's clock); its exit code
   * and output. */
  cli(args) {
    const r = spawnSync(bin, [...args, "--demo", "--database-url", `sqlite://${this.dbFile}`],
      { cwd: dirname(this.dbFile), encoding: "utf8", env: { ...process.env, TRIAGE_CLOCK: serverNow().toISOString() } });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  /** The demo's accounts and screen tokens, kept beside the database. */
  demoAccess() {
    const kept = JSON.parse(readFileSync(join(dirname(this.dbFile), "demo-credentials.json"), "utf8"));
    for (const [, , password] of kept.accounts) noteSecret(password);
    for (const [, token] of kept.screens) noteSecret(token);
    for (const [, token] of kept.kiosks || []) noteSecret(token);
    return {
      accounts: Object.fromEntries(kept.accounts.map(([code, role, password]) => [code, { role, password }])),
      tokens: Object.fromEntries([...kept.screens, ...(kept.kiosks || [])]),
    };
  }

  /** Logs in as the demo administrator (once); the cookie and CSRF token. */
  async login() {
    if (this.session) return this.session;
    const r = await fetch(`${this.base}/api/v1/session`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: "admin", password: this.access.accounts.admin.password }),
    });
    if (!r.ok) throw new Error(`login: ${r.status}`);
    const cookie = (r.headers.get("set-cookie") || "").split(";")[0];
    const { csrf_token: csrf } = await r.json();
    noteSecret(cookie.split("=")[1]);
    noteSecret(csrf);
    this.session = { cookie, csrf };
    return this.session;
  }

  kill() {
    return new Promise((resolve) => { this.proc.once("exit", resolve); this.proc.kill("SIGKILL"); });
  }

  /** Stops the server on purpose (SIGTERM); resolves with its exit code. */
  terminate() {
    return new Promise((resolve) => { this.proc.once("exit", (code) => resolve(code)); this.proc.kill("SIGTERM"); });
  }

  async api(method, path, body) {
    const { cookie, csrf } = await this.login();
    const headers = { cookie, "x-csrf-token": csrf };
    if (body) headers["content-type"] = "application/json";
    const r = await fetch(`${this.base}${path}`, {
      method, headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await r.json().catch(() => null);
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  }

  async arrive(visitNo, name, dept = "NK", extra = {}) {
    noteSecret(name);
    return this.api("PUT", `/api/v1/registrations/${visitNo}`, {
      patient: { id: `P${visitNo}`, name, sex: extra.sex || "1", birth_date: "1975-06-01" },
      department_code: dept, visit_type: "first", registered_at: serverNow().toISOString(), checked_in: true, ...extra.body,
    });
  }

  callNext(room) { return this.api("POST", `/api/v1/rooms/${room}/call-next`); }
}

export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"],
  });
  // Every page's Date shows the servers' clock (timers run as they do).
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (options) => {
    const page = await newPage(options);
    await page.clock.setSystemTime(serverNow());
    return page;
  };
  return browser;
}

// A page with speech stubbed: every announcement is logged with start/end.
export async function openScreen(browser, server, code, { speechMs = 250 } = {}) {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.addInitScript((ms) => {
    window.__speech = [];
    window.__triageSpeech = async (text) => {
      const entry = { text, start: performance.now(), end: null };
      window.__speech.push(entry);
      await new Promise((r) => setTimeout(r, ms));
      entry.end = performance.now();
    };
  }, speechMs);
  await page.goto(`${server.base}/screens/${code}#token=${server.access.tokens[code]}`);
  await page.waitForFunction(() => document.body.dataset.online === "true");
  return page;
}

/** Logs in on a staff page's form by keyboard alone: type, Tab, type, Enter. */
export async function loginByKeyboard(page, code, password) {
  await page.waitForSelector('form[aria-label="登录"]');
  noteSecret(password);
  await page.keyboard.type(code);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
}

/** WCAG contrast ratio of two CSS colours given as "rgb(r, g, b)" (AA asks
 * 4.5:1 for text). */
export function contrastRatio(a, b) {
  const lum = (rgb) => {
    const [r, g, bl] = rgb.match(/\d+/g).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  return (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
}

export function screenshotDir() {
  const dir = process.env.TRIAGE_UPDATE_SCREENSHOTS ? join(repo, "docs", "screenshots") : join(repo, "target", "screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}
