// The day end (日终, issue 26 item 8) from the administrator's page, in
// Debian's Chromium: the page previews what it will close, reopen and take
// down; after it the hall screen and the nurse console show a clean next
// day: no stop-clinic banner, no paused or stopped room.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, loginByKeyboard, openScreen, screenshotDir } from "./harness.mjs";

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

test("the administrator previews and runs the day end; screens and the console start the next day clean", async () => {
  await server.arrive("DE1", "日终甲", "NK");
  await server.api("POST", "/api/v1/rooms/NK-03/pause");
  await server.api("POST", "/api/v1/doctors/D1004/stop-clinic", { reason: "医生病假", waiting: "keep" });
  const hall = await openScreen(browser, server, "NK-HALL");
  await hall.waitForFunction(() => document.querySelector("#notices .notice")?.textContent.includes("停诊"));
  const nurse = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await nurse.goto(`${server.base}/console`);
  await loginByKeyboard(nurse, "nurse", server.access.accounts.nurse.password);
  await nurse.waitForSelector('li[data-room="NK-03"]');
  assert.match(await nurse.textContent('li[data-room="NK-03"] .status'), /暂停/);

  const admin = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await admin.goto(`${server.base}/admin`);
  await loginByKeyboard(admin, "admin", server.access.accounts.admin.password);
  await admin.click('button[role="tab"]:has-text("日终")');
  await admin.waitForSelector('section[aria-label="日终"] tr[data-row="not_seen"]');
  assert.match(await admin.textContent('tr[data-row="not_seen"]'), /1 人/);
  const rooms = await admin.textContent('tr[data-row="rooms"]');
  assert.match(rooms, /内科3诊室/);
  assert.match(rooms, /内科4诊室/);
  assert.match(await admin.textContent('tr[data-row="notices"]'), /停诊/);
  await admin.screenshot({ path: join(screenshotDir(), "admin-day-close.png") });
  let asked = "";
  admin.once("dialog", (d) => { asked = d.message(); d.accept(); });
  await admin.click('section[aria-label="日终"] button[type="submit"]');
  await admin.waitForSelector('[data-done="true"]');
  assert.match(asked, /不能撤销/);
  assert.match(await admin.textContent('[data-done="true"]'), /未就诊 1 人/);
  await admin.waitForFunction(() => document.querySelector('tr[data-row="rooms"]')?.textContent.includes("无"));

  // The hall: no banner, no room paused or stopped, nobody left waiting.
  await hall.waitForFunction(() => !document.querySelector("#notices .notice"), null, { timeout: 2000 });
  await hall.waitForFunction(() => [...document.querySelectorAll("main .room .status")].every((s) => s.textContent === "等待叫号"),
    null, { timeout: 2000 });
  assert.equal(await hall.$$eval("main .room .guidance", (els) => els.length), 0);
  // The console: every room open.
  await nurse.waitForFunction(() => [...document.querySelectorAll("li.room[data-room] .status")]
    .every((s) => !/暂停|停诊/.test(s.textContent)), null, { timeout: 2000 });
  for (const p of [hall, nurse, admin]) await p.close();
});
