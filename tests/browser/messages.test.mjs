// Every refusal a person meets reads in Chinese (issue 26, item 4): the
// pages map each stable error code of the server (ground/src/error.rs) to a
// Chinese sentence with the action to take, and never show the server's
// English text. First the walk over every code of the enum, run in the
// page's own module; then the refusals a nurse, a doctor and a new account
// meet, in Debian's Chromium, as they read them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Server, launch, loginByKeyboard, noteSecret, repo } from "./harness.mjs";

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

// Two English words in a row: what a person must never read.
const ENGLISH = /[A-Za-z]{2,}[\s,.;:'"()]+[A-Za-z]{2,}/;

/** Every code of the server's error enum, as the contract spells it. */
function errorCodes() {
  const source = readFileSync(join(repo, "ground", "src", "error.rs"), "utf8");
  const block = source.split("codes! {")[1] || "";
  return [...block.matchAll(/^\s+[A-Z]\w* => "([a-z_]+)",$/gm)].map((m) => m[1]);
}

test("every error code of the server has a Chinese message in the pages, and no English server text gets through", async () => {
  const codes = errorCodes();
  assert.ok(codes.length > 100, `read ${codes.length} codes from ground/src/error.rs`);
  assert.ok(codes.includes("visit_not_found") && codes.includes("doctor_on_break"));
  const page = await browser.newPage();
  await page.goto(`${server.base}/console`);
  const shown = await page.evaluate(async (list) => {
    const { messageFor } = await import("/display/messages.js");
    return list.map((code) => [code, messageFor(code, `no registration "V9999" (the ${code} case)`)]);
  }, codes);
  const bad = shown.filter(([, text]) => !/[\u4e00-\u9fff]/.test(text) || ENGLISH.test(text) || text.includes("V9999"));
  assert.deepEqual(bad, [], "codes whose page message is not Chinese");
  const generic = shown.filter(([, text]) => text.startsWith("操作未完成"));
  assert.deepEqual(generic, [], "codes with no message of their own");
  await page.close();
});

test("a doctor calling an empty queue and a nurse checking in an unknown visit read Chinese, with what to do", async () => {
  const caller = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await caller.goto(`${server.base}/caller`);
  await loginByKeyboard(caller, "D1002", server.access.accounts["D1002"].password);
  await caller.waitForSelector(".online");
  await caller.focus("body");
  await caller.keyboard.press("n");
  await caller.waitForFunction(() => document.querySelector("p.error")?.textContent.length > 0);
  const empty = await caller.textContent("p.error");
  assert.match(empty, /当前没有可叫号的患者/);
  assert.doesNotMatch(empty, ENGLISH, empty);
  await caller.close();

  const nurse = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await nurse.goto(`${server.base}/console`);
  await loginByKeyboard(nurse, "nurse", server.access.accounts.nurse.password);
  await nurse.waitForSelector(".online");
  await nurse.keyboard.type("V9999");
  await nurse.keyboard.press("Enter");
  await nurse.waitForFunction(() => document.querySelector('p.error[role="status"]')?.textContent.includes("V9999"));
  const unknown = await nurse.textContent('p.error[role="status"]');
  assert.match(unknown, /未找到该就诊号/);
  assert.doesNotMatch(unknown, ENGLISH, unknown);
  // An appointment of tomorrow: the day it may check in, not a generic line.
  const tomorrow = new Date(Date.parse(await nurse.evaluate(() => new Date().toISOString())) + 86400e3);
  const end = new Date(tomorrow.getTime() + 1800e3);
  await server.arrive("MS-T1", "明日预约", "NK", { body: { checked_in: false, appointment: { start: tomorrow.toISOString(), end: end.toISOString() } } });
  await nurse.focus("body");
  await nurse.keyboard.type("MS-T1");
  await nurse.keyboard.press("Enter");
  await nurse.waitForFunction(() => document.querySelector('p.error[role="status"]')?.textContent.includes("MS-T1"));
  const early = await nurse.textContent('p.error[role="status"]');
  assert.match(early, /预约日期是 \d{4}-\d\d-\d\d，请当天报到/);
  assert.doesNotMatch(early, ENGLISH, early);
  await nurse.close();
});

test("a new account's first login shows the hospital's password rule, refuses a weak one in Chinese, and goes on without logging in again", async () => {
  const made = await server.api("POST", "/api/v1/accounts", { code: "N0077", name: "新护士", role: "nurse", scope: ["NK"] });
  noteSecret(made.password);
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/console`);
  // A wrong password first: the login says so in Chinese.
  await loginByKeyboard(page, "N0077", "wrong-password-1");
  await page.waitForFunction(() => document.querySelector('form[aria-label="登录"] .error')?.textContent.length > 0);
  const wrong = await page.textContent('form[aria-label="登录"] .error');
  assert.match(wrong, /工号或密码/);
  assert.doesNotMatch(wrong, ENGLISH, wrong);
  await page.fill('input[name="password"]', made.password);
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[aria-label="修改密码"]');
  const hint = await page.textContent('form[aria-label="修改密码"] .hint');
  assert.match(hint, /至少 8 位/, "the rule of the demo's [security] (8 characters, 3 classes)");
  assert.match(hint, /至少 3 类/);
  assert.match(hint, /无需重新登录/, "the change does not log her out");
  const fields = 'form[aria-label="修改密码"] input';
  const change = async (next) => {
    await page.fill(`${fields} >> nth=0`, made.password);
    await page.fill(`${fields} >> nth=1`, next);
    await page.fill(`${fields} >> nth=2`, next);
    await page.click('form[aria-label="修改密码"] button[type="submit"]');
  };
  await change("short1A");
  await page.waitForFunction(() => document.querySelector('form[aria-label="修改密码"] .error')?.textContent.length > 0);
  const weak = await page.textContent('form[aria-label="修改密码"] .error');
  assert.match(weak, /密码至少 8 位/);
  assert.doesNotMatch(weak, ENGLISH, weak);
  await change("onlylowercaseletters");
  await page.waitForFunction(() => document.querySelector('form[aria-label="修改密码"] .error')?.textContent.includes("类"));
  assert.doesNotMatch(await page.textContent('form[aria-label="修改密码"] .error'), ENGLISH);
  const good = "Neu-Pass-2026!";
  noteSecret(good);
  await change(good);
  // She is in the console at once, as the hint says.
  await page.waitForSelector(".online");
  await page.close();
});
