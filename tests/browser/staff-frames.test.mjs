// The staff channel's frames of the contract (tests/fixtures/staff-frames/,
// the same files the Rust tests check the server's frames against, byte for
// byte), fed in order to the nurse console (分诊台) through a stand-in
// socket: what a 内科 nurse sees of each frame, in a real browser (headless
// Debian Chromium). The login and the page's other calls go to the real
// server; only /ws/staff is the stand-in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Server, launch, loginByKeyboard, repo } from "./harness.mjs";

const FULL_NAMES = ["李秀英", "欧阳娜娜", "司马相如", "王建军", "张三丰", "上官婉儿", "陈小春"];
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

/** The fixtures in order, each exactly as the server sends it. */
function fixtures() {
  const dir = join(repo, "tests", "fixtures", "staff-frames");
  return readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => ({ file: f, text: readFileSync(join(dir, f), "utf8").replace(/\n$/, "") }));
}

test("the nurse console shows every staff frame of the contract's fixtures as a nurse reads them", async () => {
  const frames = fixtures();
  assert.deepEqual(frames.map((f) => f.file),
    ["01-snapshot.json", "02-queue.json", "03-room.json", "04-pong.json", "05-restarting.json", "06-signed_out.json"],
    "a fixture per frame, in the order a page gets them");
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.addInitScript((list) => {
    // Every socket the page opens is a stand-in the test feeds by hand.
    window.__sockets = [];
    window.__sent = [];
    class FixtureSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        window.__sockets.push(this);
        setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0);
      }
      send(text) { window.__sent.push(JSON.parse(text)); }
      close() { this.readyState = 3; this.onclose?.(); }
    }
    FixtureSocket.OPEN = 1;
    window.WebSocket = FixtureSocket;
    window.__deliver = (i) => window.__sockets.at(-1).onmessage({ data: list[i] });
  }, frames.map((f) => f.text));
  await page.goto(`${server.base}/console`);
  await loginByKeyboard(page, "nurse", server.access.accounts.nurse.password);
  await page.waitForFunction(() => window.__sockets.length === 1);
  assert.match(await page.evaluate(() => window.__sockets[0].url), /\/ws\/staff$/);
  const deliver = (i) => page.evaluate((n) => window.__deliver(n), i);
  const rows = (queue) => page.$$eval(`section.queue[aria-label="${queue}"] tbody tr`,
    (trs) => trs.map((tr) => [tr.querySelector("td.ticket").textContent, tr.querySelector("td.name").textContent]));
  const text = (selector) => page.textContent(selector);

  // 01 snapshot: both queues of 内科 in calling order with full names, the
  // marks a nurse works by, and the four rooms.
  await deliver(0);
  await page.waitForSelector("section.queue");
  assert.match(await text("header .online"), /在线/);
  assert.deepEqual(await page.$$eval("section.queue", (els) => els.map((e) => e.getAttribute("aria-label"))),
    ["内科普通号", "王建国主任专家号"]);
  assert.match(await text('section.queue[aria-label="内科普通号"] h2'), /候诊 4 人 · 可叫 3 人/);
  assert.deepEqual(await rows("内科普通号"),
    [["A003", "李秀英"], ["A004", "欧阳娜娜"], ["A006", "司马相如"], ["A002", "王建军"]]);
  assert.equal(await text('tr[data-visit="MZ20261209003"] .tag.pinned'), "置顶");
  assert.equal(await text('tr[data-visit="MZ20261209004"] .tag.special'), "军人优先");
  assert.equal(await text('tr[data-visit="MZ20261209006"] .tag.kind-return'), "复诊");
  assert.equal(await text('tr[data-visit="MZ20261209002"] .tag.held'), "挂起");
  assert.equal(await page.getAttribute('tr[data-visit="MZ20261209002"]', "class"), "held");
  assert.equal(await text('tr[data-visit="MZ20261209002"] td.reason'), "护士挂起（暂不叫号）");
  assert.match(await text('tr[data-visit="MZ20261209002"] td.actions'), /恢复/, "a held patient offers 恢复");
  assert.deepEqual(await rows("王建国主任专家号"), [["B002", "张三丰"], ["B003", "上官婉儿"]]);
  assert.equal(await text('tr[data-visit="MZ20261209102"] .tag.special'), "高龄老人优先");
  assert.equal(await text('tr[data-visit="MZ20261209103"] .tag.misses'), "过号1次");
  assert.equal(await text('li[data-room="NK-01"] .current'), "就诊：B001 陈小春");
  assert.equal(await text('li[data-room="NK-01"] .seat'), "坐诊：王建国（已签到）");
  assert.equal(await text('li[data-room="NK-02"] .seat'), "坐诊：李秀梅（暂离）");
  assert.equal(await text('li[data-room="NK-02"] .current'), "空闲");
  assert.equal(await text('li[data-room="NK-03"] .status'), "暂停叫号");
  assert.equal(await text('li[data-room="NK-04"] .status'), "停诊");
  assert.equal(await text('li[data-room="NK-04"] .seat'), "坐诊：无（无人）");

  // 02 queue (seq 2): B002 left the expert queue (called in).
  await deliver(1);
  await page.waitForFunction(() => document.querySelectorAll('section.queue[aria-label="王建国主任专家号"] tbody tr').length === 1);
  assert.deepEqual(await rows("王建国主任专家号"), [["B003", "上官婉儿"]]);
  assert.match(await text('section.queue[aria-label="王建国主任专家号"] h2'), /候诊 1 人 · 可叫 1 人/);
  assert.equal(await text('tr[data-visit="MZ20261209103"] .tag.kind-recall'), "过号");

  // 03 room (seq 3): 内科1诊室 now sees B002 张三丰.
  await deliver(2);
  await page.waitForFunction(() => document.querySelector('li[data-room="NK-01"] .current')?.textContent === "就诊：B002 张三丰");

  // 04 pong: outside the sequence, nothing changes, no resync asked.
  await deliver(3);
  assert.match(await text("header .online"), /在线/);
  assert.deepEqual(await rows("内科普通号"),
    [["A003", "李秀英"], ["A004", "欧阳娜娜"], ["A006", "司马相如"], ["A002", "王建军"]]);
  assert.ok(!(await page.evaluate(() => window.__sent.some((m) => m.type === "resync"))), "a fixture out of sequence");

  // 05 restarting: offline, the last list kept (readable and printable).
  await deliver(4);
  await page.waitForSelector("header .offline");
  assert.match(await text("header .offline"), /^离线 — 显示的是 \d\d:\d\d:\d\d 的状态，正在重连…$/);
  assert.deepEqual(await rows("王建国主任专家号"), [["B003", "上官婉儿"]]);
  assert.equal(await text('li[data-room="NK-01"] .current'), "就诊：B002 张三丰");

  // 06 signed_out: the session ended. The console gives way to the login
  // form, no patient's name stays on the page, and it does not reconnect.
  await deliver(5);
  await page.waitForSelector('form[aria-label="登录"]');
  assert.equal(await text("main.login h1"), "分诊台登录");
  const body = await text("body");
  for (const name of FULL_NAMES) assert.ok(!body.includes(name), `the page still shows ${name}`);
  await page.waitForTimeout(1500);
  assert.equal(await page.evaluate(() => window.__sockets.length), 1, "the page reconnected after signed_out");
  await page.close();
});
