// The patient's phone (issue 28) in a real browser (headless Debian
// Chromium, a phone-sized viewport): the QR code is read from the printed
// kiosk ticket's image (decoded here, as a phone's camera would), it opens
// the patient's own page with the ticket, the position and the rooms; a
// doctor's call shows the room within a second, with vibration; a killed
// and restarted server is picked up without a reload; another visit's link
// shows nothing of this one, and a made-up link shows nothing at all.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PNG } from "pngjs";
import jsQR from "jsqr";
import { Server, launch, noteSecret, screenshotDir } from "./harness.mjs";

let server;
let browser;
let phone;
let link;

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

before(async () => {
  server = await Server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.kill();
});

/** The kiosk's printed ticket as an image, and the address its QR code holds. */
async function printedTicketLink(visitNo) {
  const kiosk = await browser.newPage({ viewport: { width: 1080, height: 1920 } });
  await kiosk.addInitScript(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
  await kiosk.goto(`${server.base}/kiosk/KIOSK-HALL#token=${server.access.tokens["KIOSK-HALL"]}`);
  await kiosk.waitForFunction(() => document.activeElement?.id === "visit");
  await kiosk.keyboard.type(visitNo);
  await kiosk.keyboard.press("Enter");
  await kiosk.waitForFunction(() => window.__printed === 1);
  await kiosk.emulateMedia({ media: "print" });
  const image = await kiosk.locator("#slip").screenshot({ path: join(screenshotDir(), "patient-ticket.png") });
  await kiosk.close();
  const png = PNG.sync.read(image);
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(code, "the printed ticket carries a QR code that decodes");
  return code.data;
}

async function openPhone(url) {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__vibrations = 0;
    navigator.vibrate = () => { window.__vibrations += 1; return true; };
  });
  await page.goto(url);
  return page;
}

const text = (page, sel) => page.textContent(sel).then((t) => (t || "").trim());

test("the QR code on the printed ticket opens the patient's page with the ticket, the position and the rooms", async () => {
  await server.arrive("PA0", "候诊甲");
  await server.arrive("PA1", "候诊乙");
  await server.arrive("PA2", "扫码丙", "NK", { body: { checked_in: false } });
  link = await printedTicketLink("PA2");
  const url = new URL(link);
  assert.equal(url.origin, server.base, "the kiosk's own address (no gateway configured)");
  assert.match(url.pathname, /^\/p\/[A-Za-z0-9_-]{22}$/);
  noteSecret(url.pathname.slice(3));
  phone = await openPhone(link);
  await phone.waitForSelector("#visit:not([hidden])");
  const q = await server.api("GET", "/api/v1/queues/NK");
  const entry = q.entries.find((e) => e.visit_no === "PA2");
  assert.equal(await text(phone, "#ticket"), entry.ticket_no);
  assert.equal(await text(phone, "#ahead"), "2");
  assert.equal(await text(phone, "#status"), "候诊中");
  assert.equal(await text(phone, "#name"), "扫*丙", "the masked name only");
  assert.match(await text(phone, "#rooms"), /内科1诊室/);
  assert.match(await text(phone, "#department"), /内科/);
  // The wait as a range from the queue's forecast (two ahead, four rooms
  // free: at once), within a second or two of the check-in.
  await phone.waitForSelector("#wait-row:not([hidden])", { timeout: 5000 });
  assert.match(await text(phone, "#wait"), /^(约 \d+–\d+ 分钟|即将叫到)$/);
  const body = await phone.textContent("body");
  assert.ok(!body.includes("扫码丙"), "no full name");
  assert.ok(!body.includes("PA2") && !body.includes("PPA2"), "no visit number or patient ID");
  assert.equal(await phone.getAttribute("#status-box", "aria-live"), "assertive", "a screen reader hears a change");
  // Large type (适老化): the ticket and the status are big and dark on white.
  const sizes = await phone.$eval("#ticket", (t) => parseFloat(getComputedStyle(t).fontSize));
  assert.ok(sizes >= 64, `ticket ${sizes}px`);
  await phone.screenshot({ path: join(screenshotDir(), "patient-waiting.png") });
});

test("the position follows the calls, and the doctor's call shows the room within a second, with vibration", async () => {
  await server.callNext("NK-02");
  await phone.waitForFunction(() => document.getElementById("ahead").textContent === "1", null, { timeout: 2000 });
  await server.callNext("NK-03");
  await phone.waitForFunction(() => document.getElementById("ahead").textContent === "0", null, { timeout: 2000 });
  const t0 = performance.now();
  await server.callNext("NK-04");
  await phone.waitForFunction(() => document.body.dataset.status === "called", null, { timeout: 1000 });
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `shown ${ms.toFixed(0)} ms after the call`);
  assert.match(await text(phone, "#called"), /请到 内科4诊室/);
  assert.match(await text(phone, "#advice"), /过号/, "the missed-call rule in plain words");
  assert.equal(await phone.evaluate(() => window.__vibrations), 1, "the phone vibrated once");
  await phone.screenshot({ path: join(screenshotDir(), "patient-called.png") });
});

test("a killed and restarted server is picked up without a reload", async () => {
  await phone.evaluate(() => { window.__sameDocument = true; });
  await server.kill();
  await phone.waitForFunction(() => document.body.dataset.online === "false", null, { timeout: 5000 });
  assert.match(await text(phone, "#called"), /内科4诊室/, "the last state stays readable");
  await server.boot();
  // A change made while the page was away: the doctor marks the patient missed.
  await server.api("POST", "/api/v1/rooms/NK-04/skip");
  await phone.waitForFunction(() => document.body.dataset.online === "true", null, { timeout: 20000 });
  await phone.waitForFunction(() => document.body.dataset.status === "missed", null, { timeout: 5000 });
  assert.equal(await phone.evaluate(() => window.__sameDocument), true, "the same document: no reload");
  assert.match(await text(phone, "#advice"), /分诊台/);
});

test("another visit's link shows nothing of this one; a made-up link shows nothing at all", async () => {
  const other = await server.arrive("PA3", "另一丁");
  const otherLink = other.check_in.patient_link;
  noteSecret(otherLink.slice(3));
  assert.notEqual(otherLink, new URL(link).pathname);
  const page = await openPhone(`${server.base}${otherLink}`);
  await page.waitForSelector("#visit:not([hidden])");
  const ticket = await text(page, "#ticket");
  const mine = await text(phone, "#ticket");
  assert.notEqual(ticket, mine);
  const body = await page.textContent("body");
  assert.ok(!body.includes(mine) && !body.includes("扫*丙"), "nothing of the other visit");
  const made = await openPhone(`${server.base}/p/AAAAAAAAAAAAAAAAAAAAAA`);
  await made.waitForSelector("#gone:not([hidden])", { timeout: 5000 });
  assert.match(await text(made, "#gone-text"), /失效/);
  assert.equal(await made.$eval("#visit", (v) => v.hidden), true);
  const api = await fetch(`${server.base}/api/v1/patient/AAAAAAAAAAAAAAAAAAAAAA`);
  assert.equal(api.status, 404);
  assert.equal((await api.json()).error.code, "patient_link_expired");
});
