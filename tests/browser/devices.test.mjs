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

  // A new device token: shown once, with its QR code.
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
