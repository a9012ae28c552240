// Transfers that work (issue 26, items 3 and 9), in Debian's Chromium: the
// nurse's and the doctor's transfer dialogs list the rooms a patient may
// go to with what each is doing now; a stopped room is not offered, a
// paused one is marked; a room of the queue the patient waits in takes
// him (no more "already waits in that queue"); other departments are
// offered; the console shows the patient's new place at once, and a
// queue no room serves is not counted as callable.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, loginByKeyboard, screenshotDir } from "./harness.mjs";

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

const ENGLISH = /[A-Za-z]{2,}[\s,.;:'"()]+[A-Za-z]{2,}/;

async function options(page) {
  return page.$$eval('[role="dialog"] select[aria-label="转到"] option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
}

test("the nurse's transfer dialog offers serving rooms with their state, marks a paused one, and sends a patient to a room of his own queue", async () => {
  await server.arrive("TR1", "转诊一", "NK");
  await server.arrive("TR2", "转诊二", "NK");
  await server.api("POST", "/api/v1/rooms/NK-04/close", { waiting: "keep", reason: "医生停诊" });
  await server.api("POST", "/api/v1/rooms/NK-03/pause");
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/console`);
  await loginByKeyboard(page, "nurse", server.access.accounts.nurse.password);
  await page.waitForSelector('tr[data-visit="TR2"]');
  await page.click('tr[data-visit="TR2"] button:has-text("转诊")');
  await page.waitForFunction(() => document.querySelectorAll('[role="dialog"] select[aria-label="转到"] option').length > 3);
  const list = await options(page);
  const text = list.map((o) => o.text).join("\n");
  assert.ok(!list.some((o) => o.value === "room:NK-04"), `a stopped room is offered:\n${text}`);
  const nk03 = list.find((o) => o.value === "room:NK-03");
  assert.match(nk03?.text || "", /暂停叫号/, "the paused room is marked");
  const nk02 = list.find((o) => o.value === "room:NK-02");
  assert.match(nk02?.text || "", /内科2诊室 · 李秀梅 · 等待叫号 · 候诊 \d+ 人/);
  assert.ok(list.some((o) => o.value.startsWith("room:WK-")), "another department's rooms are offered");
  assert.ok(list.findIndex((o) => o.value.startsWith("room:NK-")) < list.findIndex((o) => o.value.startsWith("room:WK-")),
    "her own department comes first");
  assert.doesNotMatch(text, ENGLISH);
  // The proposal is a room that calls now, not the paused or a stopped one.
  const proposed = await page.inputValue('[role="dialog"] select[aria-label="转到"]');
  assert.ok(!["room:NK-03", "room:NK-04"].includes(proposed), proposed);
  await page.screenshot({ path: join(screenshotDir(), "console-transfer.png") });
  await page.selectOption('[role="dialog"] select[aria-label="转到"]', "room:NK-02");
  await page.click('[role="dialog"] button[type="submit"]');
  await page.waitForSelector('[role="dialog"]', { state: "detached" });
  const said = await page.textContent('p[role="status"]');
  assert.match(said, /转诊：.*内科2诊室/, said);
  // Shown at once in her console: still in 内科普通号, sent to 内科2诊室.
  await page.waitForFunction(() => document.querySelector('tr[data-visit="TR2"] .tag.room')?.textContent.includes("内科2诊室"));
  // And it is true: NK-02 calls him first.
  const called = await server.callNext("NK-02");
  assert.equal(called.current.visit_no, "TR2");
  await server.api("POST", "/api/v1/rooms/NK-02/finish");
  await server.api("POST", "/api/v1/rooms/NK-03/resume");
  await server.api("POST", "/api/v1/rooms/NK-04/open").catch(() => server.api("POST", "/api/v1/rooms/NK-04/resume"));
  await page.close();
});

test("the doctor's transfer dialog shows no stopped room, never proposes one, and sends the patient to another department", async () => {
  await server.arrive("TR3", "转诊三", "NK");
  await server.api("POST", "/api/v1/rooms/WK-02/close", { waiting: "keep", reason: "医生停诊" });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/caller`);
  await loginByKeyboard(page, "D1002", server.access.accounts["D1002"].password);
  await page.waitForSelector(".online");
  await page.focus("body");
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelector(".current .ticket"));
  const current = await page.evaluate(() => document.querySelector(".current .name")?.textContent);
  await page.keyboard.press("t");
  await page.waitForFunction(() => document.querySelectorAll('[role="dialog"] select[aria-label="转到"] option').length > 3);
  const list = await options(page);
  assert.ok(!list.some((o) => o.value === "room:WK-02"), "the stopped room is offered");
  assert.ok(!list.some((o) => o.value === "room:NK-02"), "his own room is offered");
  assert.ok(list.every((o) => /等待叫号|就诊中|暂停叫号|医生暂离|候诊/.test(o.text)), "every place says what it is doing");
  await page.selectOption('[role="dialog"] select[aria-label="转到"]', "room:WK-01");
  await page.keyboard.press("Enter");
  await page.waitForSelector('[role="dialog"]', { state: "detached" });
  assert.match(await page.textContent('p[role="status"]'), /已转诊：.*外科/);
  const wk = await server.api("GET", "/api/v1/queues/WK");
  const visit = { 转诊一: "TR1", 转诊三: "TR3" }[current];
  assert.ok(visit && wk.entries.some((e) => e.visit_no === visit), `${current} waits in 外科: ${JSON.stringify(wk.entries.map((e) => e.visit_no))}`);
  await page.close();
});

test("a queue no room serves is not counted as callable in the console", async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/console`);
  await loginByKeyboard(page, "nurse", server.access.accounts.nurse.password);
  await page.waitForSelector(".online");
  const expert = await server.api("GET", "/api/v1/queues");
  const own = expert.queues.find((q) => q.department_code === "NK" && q.doctor_code);
  await server.arrive("TR4", "专家号患者", "NK", { body: { doctor_code: own.doctor_code } });
  await page.waitForSelector(`section.queue[data-served="yes"] tr[data-visit="TR4"]`);
  await server.api("POST", `/api/v1/doctors/${own.doctor_code}/stop-clinic`, { reason: "医生临时外出", waiting: "keep" });
  await page.waitForSelector(`section.queue[data-served="no"] tr[data-visit="TR4"]`);
  const head = await page.textContent(`section.queue[aria-label="${own.name}"] h2`);
  assert.match(head, /可叫 0 人：暂无诊室叫此队列/, head);
  await page.close();
});
