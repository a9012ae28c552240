// The self-service check-in kiosk (自助报到机) in a real browser (headless
// Debian Chromium): a scanned visit number (a keyboard-wedge scanner types
// it and Enter) shows the right ticket and position and produces the
// 80 mm print page; the on-screen keypad works; every refusal shows its
// Chinese message and changes nothing; a kiosk without a valid token gets
// nothing. Portrait 1080×1920 and landscape.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, screenshotDir, serverNow } from "./harness.mjs";

let server;
let browser;
let kiosk;

before(async () => {
  server = await Server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.kill();
});

async function register(visitNo, name, dept = "NK", extra = {}) {
  return server.arrive(visitNo, name, dept, { body: { checked_in: false, ...extra } });
}

/** A kiosk page that counts its print jobs instead of printing. */
async function openKiosk(code, token, viewport = { width: 1080, height: 1920 }) {
  const page = await browser.newPage({ viewport });
  await page.addInitScript(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
  await page.goto(`${server.base}/kiosk/${code}#token=${token}`);
  return page;
}

async function scanned(page, visit) {
  await page.waitForFunction(() => document.activeElement?.id === "visit");
  await page.keyboard.type(visit);
  await page.keyboard.press("Enter");
}

async function state(page) {
  const [queue, visits] = await Promise.all([
    server.api("GET", "/api/v1/queues/NK"),
    server.api("GET", "/api/v1/queues/WK"),
  ]);
  return JSON.stringify([queue.entries, visits.entries]);
}

test("a scanned visit number shows the ticket and position, matching the queue, and prints the 80 mm ticket", async () => {
  await server.arrive("KA0", "排队甲");
  await register("KA1", "自助报到甲");
  kiosk = await openKiosk("KIOSK-HALL", server.access.tokens["KIOSK-HALL"]);
  await page_ready(kiosk);
  await scanned(kiosk, "KA1");
  await kiosk.waitForSelector("#result:not([hidden])");
  const ticket = await kiosk.textContent("#r-ticket");
  const ahead = Number(await kiosk.textContent("#r-ahead"));
  const q = await server.api("GET", "/api/v1/queues/NK");
  const entry = q.entries.find((e) => e.visit_no === "KA1");
  assert.equal(entry.ticket_no, ticket);
  assert.equal(entry.position, ahead + 1, "the position the kiosk shows is the queue's");
  assert.equal(ahead, 1);
  assert.match(await kiosk.textContent("#r-dept"), /内科/);
  await kiosk.waitForFunction(() => window.__printed === 1);
  // The print page: only the slip, with the ticket, at 80 mm.
  await kiosk.emulateMedia({ media: "print" });
  const slip = await kiosk.$eval("#slip", (s) => ({ shown: getComputedStyle(s).display !== "none", text: s.textContent, width: s.getBoundingClientRect().width }));
  const panel = await kiosk.$eval("#result", (p) => getComputedStyle(p).display);
  await kiosk.emulateMedia({ media: "screen" });
  assert.ok(slip.shown, "the slip prints");
  assert.equal(panel, "none", "the screen panels do not print");
  assert.match(slip.text, new RegExp(ticket));
  assert.match(slip.text, /内科/);
  assert.match(slip.text, /前面还有 1 人/);
  // The wait from the queue's forecast: one ahead, four rooms free.
  assert.match(slip.text, /预计等候 (即将叫到|约 \d+–\d+ 分钟)/);
  assert.ok(!slip.text.includes("自助报到甲"), "no full name on the ticket");
  assert.ok(slip.width < 300, `80 mm wide (${slip.width} px)`);
  await kiosk.screenshot({ path: join(screenshotDir(), "kiosk-portrait.png") });
  // Done: back to scanning.
  await kiosk.click("#done");
  await kiosk.waitForSelector("#scan:not([hidden])");
});

async function page_ready(page) {
  await page.waitForSelector("#scan:not([hidden])");
}

test("the on-screen keypad types the visit number for a patient without a scanner", async () => {
  await register("77012", "键盘乙");
  for (const k of ["7", "7", "0", "1", "2"]) await kiosk.click(`#keypad button[data-key="${k}"]`);
  await kiosk.click('#form button[type="submit"]');
  await kiosk.waitForSelector("#result:not([hidden])");
  const q = await server.api("GET", "/api/v1/queues/NK");
  assert.equal(q.entries.find((e) => e.visit_no === "77012").ticket_no, await kiosk.textContent("#r-ticket"));
  await kiosk.click("#done");
});

test("each refusal shows its Chinese message with the nurse path and changes nothing", async () => {
  await register("KC1", "退号丙");
  await server.api("DELETE", "/api/v1/registrations/KC1");
  await register("KW1", "外科丁", "WK");
  await server.api("PUT", "/api/v1/queues/NK/rules", { early_check_in_minutes: 30, reason: "预约提前30分钟报到" });
  const later = new Date(serverNow().getTime() + 40 * 60e3);
  // Later today: the time to come back; past midnight (Beijing): the day.
  const day = (d) => d.toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
  const tooEarly = day(later) === day(serverNow()) ? /预约时段未到，请于 \d\d:\d\d 后/ : /您的预约日期是 \d{4}-\d\d-\d\d，请当天再来报到/;
  const end = new Date(later.getTime() + 1800e3);
  await register("KT1", "预约戊", "NK", { appointment: { start: later.toISOString(), end: end.toISOString() } });
  const nk = await openKiosk("KIOSK-NK", server.access.tokens["KIOSK-NK"], { width: 1920, height: 1080 });
  await page_ready(nk);
  const printed = await kiosk.evaluate(() => window.__printed);
  for (const [page, visit, text] of [
    [kiosk, "NOSUCH1", /未找到该就诊号/],
    [kiosk, "KC1", /该挂号已退号，请到挂号窗口咨询/],
    [kiosk, "KT1", tooEarly],
    [nk, "KW1", /本机不办理外科的报到/],
  ]) {
    const before = await state();
    await page.waitForSelector("#scan:not([hidden])");
    await scanned(page, visit);
    await page.waitForSelector("#refusal:not([hidden])");
    assert.match(await page.textContent("#refusal-text"), text, visit);
    // One message, one instruction: not repeated, not contradicted.
    const panel = await page.textContent("#refusal");
    assert.equal((panel.match(/请/g) || []).length, 1, `one instruction: ${panel}`);
    assert.ok(!(panel.includes("挂号窗口") && panel.includes("分诊台")), `two places to go: ${panel}`);
    assert.equal(await state(), before, `${visit} changed nothing`);
    await page.click("#back");
  }
  // Already checked in: the same ticket, said so, not printed again.
  const before = await state();
  await scanned(kiosk, "KA1");
  await kiosk.waitForSelector("#result:not([hidden])");
  assert.match(await kiosk.textContent("#result-title"), /已报到过/);
  assert.equal(await kiosk.evaluate(() => window.__printed), printed, "no second ticket");
  assert.equal(await state(), before);
  await nk.screenshot({ path: join(screenshotDir(), "kiosk-landscape.png") });
  await nk.close();
});

test("a kiosk without a valid token gets nothing", async () => {
  const page = await openKiosk("KIOSK-HALL", "not-the-token");
  await page.waitForSelector("#denied:not([hidden])");
  // Patients read where to go; staff, in small type, what to do.
  assert.match(await page.textContent("#denied .refusal-text"), /请到分诊台报到/);
  assert.match(await page.textContent("#denied .for-staff"), /工作人员：.*令牌/);
  assert.doesNotMatch(await page.textContent("#denied"), /triage screen token/);
  assert.ok(!(await page.isVisible("#scan")), "no way to check in");
  const r = await fetch(`${server.base}/api/v1/kiosks/KIOSK-HALL/check-in`, {
    method: "POST", headers: { "content-type": "application/json", "x-device-token": "not-the-token" },
    body: JSON.stringify({ visit_no: "KA1" }),
  });
  assert.equal(r.status, 401);
  await page.close();
});

// Issue 26, item 10: a visit number typed in lower case is found; the
// ticket names only rooms that call now (not a paused or stopped one).
test("a lower-case visit number checks in, and the ticket names only the rooms that call now", async () => {
  await register("KL1", "小写己");
  await server.api("POST", "/api/v1/rooms/NK-03/pause");
  await server.api("POST", "/api/v1/rooms/NK-04/close", { waiting: "keep", reason: "医生停诊" });
  for (const back of ["#done", "#back"]) if (await kiosk.isVisible(back)) await kiosk.click(back);
  await page_ready(kiosk);
  await scanned(kiosk, "kl1");
  await kiosk.waitForSelector("#result:not([hidden])");
  const q = await server.api("GET", "/api/v1/queues/NK");
  assert.equal(q.entries.find((e) => e.visit_no === "KL1")?.ticket_no, await kiosk.textContent("#r-ticket"));
  const where = await kiosk.textContent("#r-where");
  assert.match(where, /内科2诊室/);
  assert.ok(!where.includes("内科3诊室") && !where.includes("内科4诊室"), `a paused or stopped room on the ticket: ${where}`);
  const slip = await kiosk.textContent("#slip");
  assert.ok(!slip.includes("内科3诊室") && !slip.includes("内科4诊室"), slip);
  await kiosk.click("#done");
  await server.api("POST", "/api/v1/rooms/NK-03/resume");
});
