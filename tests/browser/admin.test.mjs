// The admin pages (系统管理) in a real browser (headless Debian Chromium): an
// administrator creates a nurse's account and hands over the password shown
// once; a queue rule out of range is refused with the error beside its
// field, a good one takes effect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, loginByKeyboard, screenshotDir, noteSecret } from "./harness.mjs";

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

test("an administrator creates an account, and edits a queue rule with the error shown beside the field", async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/admin`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.waitForSelector('form[aria-label="新建账号"]');

  const form = 'form[aria-label="新建账号"]';
  await page.fill(`${form} input >> nth=0`, "N0099");
  await page.fill(`${form} input >> nth=1`, "测试护士");
  await page.selectOption(`${form} select[multiple]`, ["NK"]);
  await page.click(`${form} button[type="submit"]`);
  await page.waitForSelector('[role="dialog"] input.secret');
  const initial = await page.inputValue('[role="dialog"] input.secret');
  noteSecret(initial);
  await page.keyboard.press("Enter");
  await page.waitForSelector('[role="dialog"]', { state: "detached" });
  await page.waitForSelector('tr[data-account="N0099"]');
  assert.match(await page.textContent('tr[data-account="N0099"]'), /待改密码/);
  const login = await fetch(`${server.base}/api/v1/session`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: "N0099", password: initial }),
  });
  assert.equal(login.status, 200, "the password shown logs the nurse in");
  assert.equal((await login.json()).must_change_password, true);

  // Rules: out of range → the error beside the field; in range → in force.
  await page.click('button[role="tab"]:has-text("队列规则")');
  await page.waitForSelector('form[aria-label="规则"] [data-field="return_interval"] input');
  // Every rule reads in Chinese: no English key beside a label.
  const labels = await page.$$eval('form[aria-label="规则"] .field > label', (ls) => ls.map((l) => l.textContent));
  assert.ok(labels.length > 10, `${labels.length} labels`);
  assert.deepEqual(labels.filter((l) => /[A-Za-z_]{3,}/.test(l)), [], "labels with English keys");
  await page.fill('[data-field="return_interval"] input', "99");
  await page.fill("#rule-reason", "测试规则");
  await page.click('form[aria-label="规则"] button[type="submit"]');
  await page.waitForSelector('[data-field="return_interval"] .error');
  assert.match(await page.textContent('[data-field="return_interval"] .error'), /复诊患者之间的普通患者人数：0 至 50/);
  await page.screenshot({ path: join(screenshotDir(), "admin.png") });
  await page.fill('[data-field="return_interval"] input', "4");
  await page.click('form[aria-label="规则"] button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('[role="status"]')?.textContent.includes("已保存"));
  let rules = await server.api("GET", "/api/v1/queues/NK/rules");
  assert.equal(rules.rules.return_interval, 4);

  // A choice, a special-group level and a session: an error inside a
  // session shows beside it; fixed, all three are in force.
  await page.waitForFunction(() => document.querySelector("#rule-reason")?.value === "");
  await page.selectOption("#rule-recall_mode", "end_of_session");
  await page.fill('input[data-level="pregnant"]', "1");
  await page.fill('[data-session="0"] input[aria-label="结束"]', "07:00");
  await page.fill("#rule-reason", "调整规则");
  await page.click('form[aria-label="规则"] button[type="submit"]');
  await page.waitForSelector('[data-session="0"] .error');
  assert.match(await page.textContent('[data-session="0"] .error'), /结束时间须晚于开始时间/);
  rules = await server.api("GET", "/api/v1/queues/NK/rules");
  assert.equal(rules.form.recall_mode, "interval", "nothing changed");
  await page.fill('[data-session="0"] input[aria-label="结束"]', "12:30");
  await page.click('form[aria-label="规则"] button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('[role="status"]')?.textContent.includes("已保存"));
  rules = await server.api("GET", "/api/v1/queues/NK/rules");
  assert.equal(rules.form.recall_mode, "end_of_session");
  assert.equal(rules.form.special_levels.pregnant, 1);
  assert.equal(rules.form.sessions[0].end, "12:30");
});

test("the doctors' master data check lists what to fix, and a fix sent by HIS clears it", async () => {
  // A doctor without a title: one finding of that kind.
  await server.api("PUT", "/api/v1/doctors/D1003", { name: "张伟", department_code: "NK", title: "", introduction: "擅长慢性胃炎。" });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/admin`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.click('button[role="tab"]:has-text("医生信息检查")');
  await page.waitForSelector('section[aria-label="医生信息检查"] table.counts');
  const count = async (kind) => Number(await page.textContent(`table.counts tr[data-kind="${kind}"] td:nth-child(2)`));
  assert.ok(await count("missing_title") >= 1);
  assert.match(await page.textContent('table.findings'), /D1003/);
  await page.screenshot({ path: join(screenshotDir(), "doctors-check.png") });
  const before = await count("missing_title");
  await server.api("PUT", "/api/v1/doctors/D1003", { name: "张伟", department_code: "NK", title: "233", introduction: "擅长慢性胃炎。" });
  await page.click('section[aria-label="医生信息检查"] button:has-text("重新检查")');
  await page.waitForFunction((n) => Number(document.querySelector('table.counts tr[data-kind="missing_title"] td:nth-child(2)').textContent) === n - 1, before);
  await page.close();
});
