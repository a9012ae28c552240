// The doctor caller (医生叫号) in a real browser (headless Debian Chromium),
// by keyboard alone: the doctor logs in, calls next with N; a special
// patient brings the 特殊人群提醒 reminder; the door screen shows the call;
// his page offers no other room, and the API refuses another room's calls
// from his session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, loginByKeyboard, openScreen, screenshotDir } from "./harness.mjs";

let server;
let browser;
let page;
let door;

before(async () => {
  server = await Server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.kill();
});

test("a doctor calls a special patient by keyboard: his page reminds him of the group, the door screen shows the call", async () => {
  await server.arrive("K1", "王建军", "NK", { body: { special: ["military"] } });
  await server.arrive("K2", "李秀英", "NK");
  door = await openScreen(browser, server, "NK-02-DOOR");
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/caller`);
  await loginByKeyboard(page, "D1002", server.access.accounts["D1002"].password);
  await page.waitForSelector(".online");
  assert.match(await page.textContent(".room-line"), /内科2诊室/);
  // The next patients, the special one first, with the group named.
  await page.waitForSelector('.next li[data-visit="K1"]');
  assert.match(await page.textContent('.next li[data-visit="K1"]'), /军人/);

  // N calls next.
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelector(".current .name")?.textContent === "王建军");
  const reminder = await page.textContent(".reminder");
  assert.match(reminder, /特殊人群提醒/);
  assert.match(reminder, /军人/);
  const ticket = (await page.textContent(".current .ticket")).trim();
  await door.waitForFunction((t) => document.querySelector(".calling .ticket")?.textContent.includes(t), ticket, { timeout: 1000 });
  assert.ok(!(await door.textContent("body")).includes("王建军"), "the door screen shows the full name");
  assert.ok(!(await door.textContent("body")).includes("军人"), "the door screen names the group");
  await page.screenshot({ path: join(screenshotDir(), "caller.png") });

  // F finishes; N calls the next one (no group: no reminder).
  await page.keyboard.press("f");
  await page.waitForFunction(() => document.querySelector(".current .idle"));
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelector(".current .name")?.textContent === "李秀英");
  assert.equal(await page.$(".reminder"), null);
});

test("his page offers no other room, and another room's calls from his session get 403", async () => {
  assert.equal(await page.$('select[aria-label="诊室"]'), null, "one room: no room choice");
  const shown = await page.$$eval("[data-room], .room-line", (els) => els.map((e) => e.textContent).join(" "));
  assert.ok(!shown.includes("内科1诊室"));
  const status = await page.evaluate(async () => {
    const s = await (await fetch("/api/v1/session")).json();
    const r = await fetch("/api/v1/rooms/NK-01/call-next", { method: "POST", headers: { "x-csrf-token": s.csrf_token } });
    return r.status;
  });
  assert.equal(status, 403);
});

test("the doctor pauses and resumes his room by keyboard; the door screen follows", async () => {
  // Keys go to the page in front with the focus (the door screen is
  // another page of the same browser).
  await page.bringToFront();
  await page.focus("body");
  await page.keyboard.press("p");
  await page.waitForFunction(() => document.querySelector(".room-line .status")?.textContent === "暂停叫号");
  await door.waitForFunction(() => document.body.textContent.includes("暂停叫号"), null, { timeout: 1000 });
  await page.keyboard.press("p");
  await page.waitForFunction(() => document.querySelector(".room-line .status")?.textContent === "就诊中");
});

test("the doctor signs in to his room, steps away and comes back by keyboard; the door screen shows each within 1 s", async () => {
  await page.bringToFront();
  await page.focus("body");
  // I: signed in (签到坐诊): the door screen shows him, without a notice.
  await page.keyboard.press("i");
  await page.waitForSelector('.seat-line[data-seat="in"]');
  assert.match(await page.textContent(".seat-line"), /李秀梅/);
  // His schedule today (出诊排班) is beside the sign-in button.
  assert.match(await page.textContent(".schedule-line"), /今日排班/);
  await door.waitForFunction(() => document.querySelector(".doctor-card h2")?.textContent === "李秀梅"
    && !document.querySelector(".seat-notice"), null, { timeout: 1000 });
  // B: away (暂离).
  let t0 = performance.now();
  await page.keyboard.press("b");
  await door.waitForFunction(() => document.querySelector(".seat-notice")?.textContent.includes("暂时离开"), null, { timeout: 1000 });
  assert.ok(performance.now() - t0 <= 1000);
  await page.waitForSelector('.seat-line[data-seat="break"]');
  // I again: back.
  t0 = performance.now();
  await page.keyboard.press("i");
  await door.waitForFunction(() => !document.querySelector(".seat-notice"), null, { timeout: 1000 });
  assert.ok(performance.now() - t0 <= 1000);
  // Another room is refused: he is signed in here.
  const nurse = await server.api("POST", "/api/v1/rooms/NK-03/sign-in", { doctor_code: "D1002" }).catch((e) => e.message);
  assert.match(String(nurse), /409/);
});

test("a break refuses calls: his page says so in Chinese with 继续坐诊, the door shows 医生暂离 and nobody called; back, he calls again", async () => {
  await server.arrive("K3", "赵敏", "NK");
  await page.bringToFront();
  await page.focus("body");
  // Finish whoever is with him, then step away.
  await page.keyboard.press("f");
  await page.waitForFunction(() => document.querySelector(".current .idle"));
  await page.keyboard.press("b");
  await page.waitForSelector('.seat-line[data-seat="break"]');
  assert.match(await page.textContent(".break-notice"), /您已暂离/);
  assert.match(await page.textContent(".seat-line button.primary"), /继续坐诊/);
  // His own page does not show the break in the open room's green.
  await page.waitForFunction(() => document.querySelector(".caller .status")?.textContent === "医生暂离");
  const pill = await page.$eval(".caller .status", (e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(pill, "rgb(224, 242, 233)", "医生暂离 reads green on the caller");
  // N while away: refused, in Chinese, and nobody is called anywhere.
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelector("p.error")?.textContent.includes("医生暂离中"));
  const said = await page.textContent("p.error");
  assert.match(said, /继续坐诊/);
  assert.doesNotMatch(said, /[A-Za-z]{3,}/, `English on the doctor's page: ${said}`);
  assert.ok(await page.$(".current .idle"), "a patient was called during the break");
  // The door agrees with itself: away, not green 就诊中, no patient, no list.
  await door.waitForFunction(() => document.querySelector(".calling .status")?.textContent === "医生暂离", null, { timeout: 1000 });
  const door_ = await door.evaluate(() => ({
    ticket: document.querySelector(".calling .ticket")?.textContent || "",
    colour: getComputedStyle(document.querySelector(".calling .status")).color,
    list: document.querySelectorAll(".waiting .next li").length,
    notice: document.querySelector(".seat-notice")?.textContent || "",
  }));
  assert.equal(door_.ticket, "", "the door shows a called number during the break");
  assert.notEqual(door_.colour, "rgb(61, 220, 132)", "the status is green during the break");
  assert.equal(door_.list, 0, "the door lists patients to get ready during the break");
  assert.match(door_.notice, /暂时离开/);
  await door.screenshot({ path: join(screenshotDir(), "door-on-break.png") });
  // The button brings him back, and N calls.
  await page.click(".seat-line button.primary");
  await page.waitForSelector('.seat-line[data-seat="in"]');
  assert.equal(await page.$(".break-notice"), null);
  await page.focus("body");
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelector(".current .name")?.textContent === "赵敏");
  await door.waitForFunction(() => document.querySelector(".calling .status")?.textContent === "就诊中", null, { timeout: 1000 });
});
