// Screens as managed devices (屏幕管理) in a real browser (headless Debian
// Chromium), by keyboard: an administrator moves an open screen to another
// room and the screen page shows the new room without a reload; a new
// device token is shown once with its QR code.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, loginByKeyboard, openScreen, screenshotDir, noteSecret } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await Server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.kill();
});

test("an administrator reassigns an open screen to another room; the screen shows it without a reload", async () => {
  const door = await openScreen(browser, server, "NK-01-DOOR");
  assert.match(await door.textContent("body"), /内科1诊室/);
  await door.evaluate(() => { window.__notReloaded = true; });

  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/devices`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.waitForSelector('tr[data-screen="NK-01-DOOR"]');
  assert.match(await page.textContent('tr[data-screen="NK-01-DOOR"]'), /在线/);

  // 重新分配: its button, Enter; the room list by keyboard (NK-01 → NK-03); Enter saves.
  await page.focus('tr[data-screen="NK-01-DOOR"] td.actions button:first-child');
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[aria-label="重新分配"]');
  await page.waitForFunction(() => document.activeElement?.tagName === "INPUT");
  await page.focus('form[aria-label="重新分配"] select[aria-label="诊室"]');
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[aria-label="重新分配"]', { state: "detached" });
  await door.waitForFunction(() => document.body.textContent.includes("内科3诊室"), null, { timeout: 2000 });
  assert.equal(await door.evaluate(() => window.__notReloaded), true, "the screen page was reloaded");
  await page.waitForFunction(() => document.querySelector('tr[data-screen="NK-01-DOOR"] td.rooms')?.textContent.includes("内科3诊室"));

  // A new device token: asked first, then shown once, with its QR code.
  page.once("dialog", (d) => d.accept());
  await page.focus('tr[data-screen="NK-02-DOOR"] td.actions button:nth-child(2)');
  await page.keyboard.press("Enter");
  await page.waitForSelector('[aria-label="设备令牌"] img.qr');
  const address = await page.inputValue('[aria-label="设备令牌"] input.address');
  assert.match(address, /\/screens\/NK-02-DOOR#token=[A-Za-z0-9_-]{43}$/);
  noteSecret(address.split("#token=")[1]);
  const qrWidth = await page.$eval('[aria-label="设备令牌"] img.qr', (img) => img.naturalWidth);
  assert.ok(qrWidth > 50, `QR code of ${qrWidth} px`);
  await page.keyboard.press("Escape");
  await page.screenshot({ path: join(screenshotDir(), "devices.png") });
});

// Issue 26, item 6: 新令牌 asks first; a screen whose token was replaced
// wipes every patient from its page and tells staff (not patients) what
// to do; /devices says 未授权, not 重连中.
test("新令牌 asks before it ends a live screen's token; the screen then shows no patient, and /devices says it is unauthorised", async () => {
  await server.arrive("DV1", "欧阳娜娜", "NK");
  await server.callNext("NK-04");
  const door = await openScreen(browser, server, "NK-04-DOOR");
  await door.waitForFunction(() => document.querySelector(".calling .ticket")?.textContent.length > 0);
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/devices`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.waitForSelector('tr[data-screen="NK-04-DOOR"] [data-state="online"]');
  const row = 'tr[data-screen="NK-04-DOOR"]';
  // Cancelled: nothing changes, the screen goes on showing.
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await page.click(`${row} button:has-text("新令牌")`);
  await page.waitForFunction(() => true);
  assert.match(asked, /旧令牌立即失效/);
  assert.match(asked, /正在显示/);
  assert.equal(await page.$('[aria-label="设备令牌"]'), null, "a token was issued although cancelled");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await door.evaluate(() => document.body.dataset.online), "true");
  // Confirmed: a new token; the open screen is refused and wipes its patients.
  page.once("dialog", (d) => d.accept());
  await page.click(`${row} button:has-text("新令牌")`);
  await page.waitForSelector('[aria-label="设备令牌"] input.address');
  noteSecret((await page.inputValue('[aria-label="设备令牌"] input.address')).split("#token=")[1]);
  await page.keyboard.press("Escape");
  await door.waitForSelector("main.unauthorized", { timeout: 5000 });
  const text = await door.textContent("body");
  assert.ok(!/欧\*娜|欧阳娜娜/.test(text), "the de-authorised screen shows a patient");
  assert.equal(await door.$(".calling, .waiting, .ticket"), null, "the de-authorised screen keeps its lists");
  assert.match(await door.textContent("main .for-patients"), /请留意其他叫号屏，或到分诊台咨询/);
  assert.match(await door.textContent("main .for-staff"), /工作人员：.*屏幕管理/);
  assert.doesNotMatch(await door.textContent("main .for-patients"), /令牌|token/i, "patients are told about tokens");
  await door.screenshot({ path: join(screenshotDir(), "screen-unauthorised.png") });
  // /devices: 未授权 (its old page tries again and is refused).
  await page.reload();
  await page.waitForSelector(`${row} [data-state="unauthorized"]`);
  assert.match(await page.textContent(`${row} [data-state]`), /未授权/);
  await door.close();
  await page.close();
});

// Issue 26, item 6: kiosks are managed on /devices too: listed with their
// areas and last contact; a new token (asked first) ends the old one.
test("kiosks are listed on /devices with their areas and last contact; a new token, asked first, ends the old one", async () => {
  const kiosk = await browser.newPage({ viewport: { width: 1080, height: 1920 } });
  await kiosk.goto(`${server.base}/kiosk/KIOSK-NK#token=${server.access.tokens["KIOSK-NK"]}`);
  await kiosk.waitForSelector("#scan:not([hidden])");
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/devices`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  const row = 'table[aria-label="自助报到机"] tr[data-kiosk="KIOSK-NK"]';
  await page.waitForSelector(row);
  const text = await page.textContent(row);
  assert.match(text, /内科/);
  assert.match(text, /已发放/);
  assert.doesNotMatch(text, /本次运行未联系/, "the kiosk that just opened has a last contact");
  assert.match(await page.textContent('table[aria-label="自助报到机"] tr[data-kiosk="KIOSK-HALL"]'), /全院（通签）/);
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.accept(); });
  await page.click(`${row} button:has-text("新令牌")`);
  await page.waitForSelector('[aria-label="设备令牌"] input.address');
  assert.match(asked, /旧令牌立即失效/);
  const address = await page.inputValue('[aria-label="设备令牌"] input.address');
  assert.match(address, /\/kiosk\/KIOSK-NK#token=[A-Za-z0-9_-]{43}$/);
  noteSecret(address.split("#token=")[1]);
  await page.keyboard.press("Escape");
  // The kiosk with the old token can no longer check anyone in.
  await kiosk.reload();
  await kiosk.waitForSelector("#denied:not([hidden])");
  // The new address works.
  await kiosk.goto(address);
  await kiosk.waitForSelector("#scan:not([hidden])");
  for (const p of [kiosk, page]) await p.close();
});

// Issue 26, item 6: a screen can be retired (停用), asked first: the open
// screen shows no patient at once and says nothing more (the calls it had
// yet to speak are dropped), /devices lists it no more, and its token is
// gone.
test("停用 asks first, then the open screen is wiped and silenced at once and leaves /devices", async () => {
  // The surgery hall speaks its calls; each takes 4 s here, so calls queue up.
  const hall = await openScreen(browser, server, "WK-HALL", { speechMs: 4000 });
  for (const [v, name, room] of [["DV2", "司马相如", "WK-01"], ["DV3", "诸葛孔明", "WK-02"], ["DV4", "欧阳修文", "WK-03"]]) {
    await server.arrive(v, name, "WK");
    await server.callNext(room);
  }
  await hall.waitForFunction(() => window.__triage.announcer.queue.length >= 1, null, { timeout: 5000 });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/devices`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  const row = 'tr[data-screen="WK-HALL"]';
  await page.waitForSelector(`${row} [data-state="online"]`);
  // Cancelled: nothing changes.
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await page.click(`${row} button:has-text("停用")`);
  await page.waitForFunction(() => true);
  assert.match(asked, /停用屏幕 WK-HALL/);
  assert.match(asked, /立即停止显示/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await hall.evaluate(() => document.body.dataset.online), "true");
  assert.ok(await page.$(row), "the screen left the list although cancelled");
  // Confirmed: wiped within 2 s (not the 5 s of a revoked token's check).
  const started = Date.now();
  page.once("dialog", (d) => d.accept());
  await page.click(`${row} button:has-text("停用")`);
  await hall.waitForSelector("main.unauthorized", { timeout: 2000 });
  const took = Date.now() - started;
  assert.ok(!/司\*+如|诸\*+明|欧\*+文|司马相如/.test(await hall.textContent("body")), "the retired screen shows a patient");
  assert.equal(await hall.evaluate(() => window.__triage.announcer.queue.length), 0, "the retired screen still has calls to speak");
  const spoken = await hall.evaluate(() => window.__speech.length);
  await new Promise((r) => setTimeout(r, 4500));
  assert.equal(await hall.evaluate(() => window.__speech.length), spoken, "the retired screen went on speaking");
  await page.waitForSelector(row, { state: "detached" });
  assert.match(await page.textContent('[role="status"]'), /WK-HALL 已停用/);
  // Its socket stays refused, also after a reload of the page.
  await hall.reload();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(!/司\*+如|诸\*+明|欧\*+文/.test(await hall.textContent("body")), "a reloaded retired screen shows a patient");
  const listed = await server.api("GET", "/api/v1/screens");
  assert.ok(!listed.screens.some((s) => s.code === "WK-HALL"), "still listed by the API");
  console.log(`retired screen wiped ${took} ms after the confirmation`);
  await hall.close();
  await page.close();
});
