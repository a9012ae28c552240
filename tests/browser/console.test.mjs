// The nurse console (分诊台) in a real browser (headless Debian Chromium), by
// keyboard alone: a nurse logs in, checks patients in by typing (or
// scanning) the visit number and Enter, holds and moves them with a reason;
// the console, the public screens and the API agree at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { PNG } from "pngjs";
import jsQR from "jsqr";
import { Server, launch, loginByKeyboard, noteSecret, openScreen, screenshotDir, serverToday } from "./harness.mjs";

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

const NAMES = { C1: "周芷若", C2: "赵敏", C3: "殷素素" };

async function order_of(queue) {
  return order(queue);
}

async function order(queue) {
  const q = await server.api("GET", `/api/v1/queues/${queue}`);
  return q.entries.map((e) => e.visit_no);
}

async function consoleOrder(p) {
  return p.$$eval('section.queue[aria-label="内科普通号"] tbody tr', (rows) => rows.map((r) => r.dataset.visit));
}

test("a nurse logs in by keyboard and checks a patient in with the visit number and Enter; console and screen show it within 1 s", async () => {
  for (const [v, name] of Object.entries(NAMES)) {
    await server.arrive(v, name, "NK", { body: { checked_in: false } });
  }
  door = await openScreen(browser, server, "NK-02-DOOR");
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${server.base}/console`);
  // The login form has the focus: type, Tab, type, Enter.
  await loginByKeyboard(page, "nurse", server.access.accounts.nurse.password);
  await page.waitForSelector(".online");
  // The check-in field has the focus, as a scanner needs.
  assert.equal(await page.evaluate(() => document.activeElement?.id), "visit");

  const t0 = performance.now();
  await page.keyboard.type("C1");
  await page.keyboard.press("Enter");
  await page.waitForSelector('tr[data-visit="C1"]', { timeout: 1000 });
  const consoleMs = performance.now() - t0;
  const row = await page.textContent('tr[data-visit="C1"]');
  assert.match(row, /周芷若/, "the nurse sees the full name");
  const ticket = await page.textContent('tr[data-visit="C1"] td.ticket');
  await door.waitForFunction((t) => [...document.querySelectorAll(".next li")].some((li) => li.textContent.includes(t)),
    ticket, { timeout: 1000 });
  const screenMs = performance.now() - t0;
  assert.ok(consoleMs <= 1000 && screenMs <= 1000, `console ${consoleMs} ms, screen ${screenMs} ms`);
  const doorText = await door.textContent("body");
  assert.ok(!doorText.includes("周芷若"), "the public screen shows the full name");
  assert.match(await page.textContent(".checkin p"), /签到成功/);
  // A QR code of the patient's own page, to scan from this screen.
  const shot = PNG.sync.read(await page.locator(".patient-qr img").screenshot());
  const qr = jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height);
  assert.ok(qr, "the console shows a QR code that decodes");
  const patientPath = new URL(qr.data).pathname;
  assert.match(patientPath, /^\/p\/[A-Za-z0-9_-]{22}$/);
  noteSecret(patientPath.slice(3));
  const seen = await (await fetch(`${server.base}${patientPath}/visit`)).json();
  assert.equal(seen.ticket_no, ticket, "it opens this patient's visit");
  assert.equal(seen.masked_name, "周*若");
  // The field is ready for the next scan.
  assert.equal(await page.evaluate(() => document.activeElement?.id), "visit");
  // At 1366×768 every room and row button keeps its word on one line.
  const wrapped = await page.$$eval("li.room button, td.actions button", (bs) => bs.filter((b) => {
    const range = document.createRange();
    range.selectNodeContents(b);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
  }).map((b) => b.textContent));
  assert.deepEqual(wrapped, [], "buttons whose words wrap");
  for (const v of ["C2", "C3"]) {
    await page.keyboard.type(v);
    await page.keyboard.press("Enter");
    await page.waitForSelector(`tr[data-visit="${v}"]`);
  }
  assert.deepEqual(await consoleOrder(page), ["C1", "C2", "C3"]);
});

test("she holds one patient and moves another with a reason, by keyboard; the order changes everywhere", async () => {
  // Hold C1: focus its button, Enter; the reason list has the focus; Enter confirms.
  await page.focus('tr[data-visit="C1"] td.actions button:first-child');
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]');
  // The reason list has the focus (as the nurse sees it) before she types.
  await page.waitForFunction(() => document.activeElement?.tagName === "SELECT");
  await page.keyboard.press("ArrowDown"); // the second common reason
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]', { state: "detached" });
  await page.waitForFunction(() => document.querySelector('tr[data-visit="C1"] .tag.held'));
  assert.deepEqual(await consoleOrder(page), ["C2", "C3", "C1"], "a held patient is listed last");
  assert.deepEqual(await order("NK"), ["C2", "C3", "C1"]);
  const held = await server.api("GET", "/api/v1/queues/NK");
  assert.equal(held.entries[2].placement_code, "held");

  // Move C3 to position 1: its 调整 button, type the position, Enter.
  await page.focus('tr[data-visit="C3"] td.actions button:nth-child(3)');
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"] input[type="number"]');
  await page.waitForFunction(() => document.activeElement?.type === "number");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("1");
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]', { state: "detached" });
  await page.waitForFunction(() => document.querySelector('tbody tr')?.dataset.visit === "C3");
  assert.deepEqual(await consoleOrder(page), ["C3", "C2", "C1"]);
  assert.deepEqual(await order("NK"), ["C3", "C2", "C1"]);
  const reason = await page.textContent('tr[data-visit="C3"] td.reason');
  assert.ok(reason.length > 0, "the console says why C3 stands first");
  // The door screen lists C3 first and not the held C1.
  const tickets = await server.api("GET", "/api/v1/queues/NK");
  const [c3] = tickets.entries;
  await door.waitForFunction((t) => document.querySelector(".next li")?.textContent.includes(t), c3.ticket_no);
  // The check-in field has the focus again after the dialog.
  assert.equal(await page.evaluate(() => document.activeElement?.id), "visit");
  await page.screenshot({ path: join(screenshotDir(), "console.png") });
});

/** The rows a printout shows, in order (print media; the thermal width
 * when asked): visit numbers, and whether the reason column prints. */
async function printed(p, kind) {
  await p.evaluate((k) => { document.body.dataset.print = k; }, kind);
  await p.emulateMedia({ media: "print" });
  const rows = await p.$$eval("tbody tr", (trs) => trs.filter((tr) => tr.offsetParent !== null).map((tr) => tr.dataset.visit));
  const reason = await p.$eval("td.reason", (td) => getComputedStyle(td).display !== "none");
  const buttons = await p.$eval("td.actions", (td) => getComputedStyle(td).display !== "none");
  await p.emulateMedia({ media: "screen" });
  await p.evaluate(() => { delete document.body.dataset.print; });
  return { rows, reason, buttons };
}

async function csv(p) {
  // By keyboard: the button has the focus, Enter.
  await p.focus('button:has-text("导出 CSV")');
  const [download] = await Promise.all([p.waitForEvent("download"), p.keyboard.press("Enter")]);
  return readFileSync(await download.path(), "utf8");
}

// The thermal printout as Chromium lays it out on paper: its pages (a PDF
// with the page sizes the CSS asks for) and the text of the first.
async function thermalPages(p) {
  await p.evaluate(() => { document.body.dataset.print = "thermal"; });
  await p.emulateMedia({ media: "print" });
  const pdf = (await p.pdf({ preferCSSPageSize: true, printBackground: false })).toString("latin1");
  await p.emulateMedia({ media: "screen" });
  await p.evaluate(() => { delete document.body.dataset.print; });
  return (pdf.match(/\/Type\s*\/Page[^s]/g) || []).length;
}

test("the printable list (A4 and thermal) and the CSV hold every waiting patient in calling order", async () => {
  const order = await order_of("NK");
  // The thermal printout keeps its title with the list: one strip of paper
  // for a short list, not a page with the title alone.
  assert.equal(await thermalPages(page), 1, "the thermal printout's pages");
  const a4 = await printed(page, "a4");
  assert.deepEqual(a4.rows, order, "A4 printout in calling order");
  assert.equal(a4.reason, true);
  assert.equal(a4.buttons, false, "no buttons on paper");
  const thermal = await printed(page, "thermal");
  assert.deepEqual(thermal.rows, order, "thermal printout in calling order");
  assert.equal(thermal.reason, false, "the thermal width leaves out the reason");
  const text = await csv(page);
  assert.equal(text.charCodeAt(0), 0xfeff, "a byte-order mark: Excel shows Chinese");
  const lines = text.trim().split("\r\n");
  assert.match(lines[0], /"队列","序号","票号","姓名"/);
  assert.match(lines[1], /殷素素/, "full names for the nurse");
  assert.equal(lines.length - 1, order.length);
});

test("when the server is killed the console keeps its last list with an offline mark, and resyncs after a restart", async () => {
  await server.kill();
  await page.waitForSelector(".offline", { timeout: 5000 });
  assert.match(await page.textContent(".offline"), /离线/);
  assert.deepEqual(await consoleOrder(page), ["C3", "C2", "C1"], "the last list stays readable and printable");
  // Still printable and exportable from the last state.
  assert.deepEqual((await printed(page, "a4")).rows, ["C3", "C2", "C1"]);
  assert.match(await csv(page), /殷素素/);
  await server.boot();
  // A change made while the page was away shows after the reconnect.
  await server.api("POST", "/api/v1/registrations/C1/release", { reason: "患者已返回" });
  await page.waitForSelector(".online", { timeout: 20000 });
  await page.waitForFunction(() => !document.querySelector('tr[data-visit="C1"] .tag.held'), null, { timeout: 5000 });
});

test("she marks a patient as a special group and takes the mark away, by keyboard; the order changes everywhere", async () => {
  const before = await order("NK");
  assert.ok(before.indexOf("C2") > before.indexOf("C1"), `C2 waits behind C1: ${before}`);
  // Its 特殊人群 button, Enter; the first group (孕妇) has the focus: Space ticks it, Enter confirms.
  await page.focus('tr[data-visit="C2"] td.actions button:last-child');
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"] fieldset.groups');
  await page.waitForFunction(() => document.activeElement?.dataset.group === "pregnant");
  await page.keyboard.press("Space");
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]', { state: "detached" });
  await page.waitForFunction(() => document.querySelector('tr[data-visit="C2"] .tag.special')?.textContent.includes("孕妇"));
  const marked = await order("NK");
  assert.ok(marked.indexOf("C2") < marked.indexOf("C1"), `a pregnant patient goes ahead: ${marked}`);
  assert.deepEqual(await consoleOrder(page), marked);
  const q = await server.api("GET", "/api/v1/queues/NK");
  assert.equal(q.entries.find((e) => e.visit_no === "C2").placement_code, "special_group");
  // The door screen follows: C2's ticket before C1's.
  const ticket = (v) => q.entries.find((e) => e.visit_no === v).ticket_no;
  await door.waitForFunction(([a, b]) => {
    const items = [...document.querySelectorAll(".next li")].map((li) => li.textContent);
    const ia = items.findIndex((t) => t.includes(a));
    const ib = items.findIndex((t) => t.includes(b));
    return ia >= 0 && (ib < 0 || ia < ib);
  }, [ticket("C2"), ticket("C1")]);

  // Unmark: the box is ticked, Space clears it, Enter confirms.
  await page.focus('tr[data-visit="C2"] td.actions button:last-child');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.dataset.group === "pregnant" && document.activeElement.checked);
  await page.keyboard.press("Space");
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]', { state: "detached" });
  await page.waitForFunction(() => !document.querySelector('tr[data-visit="C2"] .tag.special'));
  assert.deepEqual(await order("NK"), before);
  assert.deepEqual(await consoleOrder(page), before);
});

test("she publishes a notice to the door screen with a start and an end time; it shows only between them; another she withdraws", async () => {
  const text = "下午内科停诊，请到二楼";
  const local = (ms) => page.evaluate((d) => {
    const t = new Date(Date.now() + d);
    const p = (n) => String(n).padStart(2, "0");
    return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
  }, ms);
  const shown = () => door.$$eval("#notices .notice", (ps) => ps.map((p) => p.textContent));
  // The header button, Enter: the text field has the focus.
  await page.focus('header button:has-text("信息发布")');
  await page.keyboard.press("Enter");
  await page.waitForSelector('[role="dialog"][aria-label="信息发布"]');
  await page.waitForFunction(() => document.activeElement?.tagName === "TEXTAREA");
  await page.keyboard.type(text);
  await page.focus('input[data-screen="NK-02-DOOR"]');
  await page.keyboard.press("Space");
  const t0 = performance.now();
  await page.fill('input[name="starts_at"]', await local(3000));
  await page.fill('input[name="expires_at"]', await local(6000));
  await page.focus('[aria-label="发布新信息"] button[type="submit"]');
  await page.keyboard.press("Enter");
  await page.waitForSelector('table.notices td.state:has-text("待发布")');
  assert.deepEqual(await shown(), [], "not on the screen before its start");
  // Its start comes (whole seconds: the field has no milliseconds).
  await door.waitForFunction((t) => [...document.querySelectorAll("#notices .notice")].some((p) => p.textContent.includes(t)),
    text, { timeout: 8000 });
  assert.ok(performance.now() - t0 >= 1900, `shown ${performance.now() - t0} ms after publishing, before its start`);
  // Its end comes: off the screen by itself.
  await door.waitForFunction(() => document.querySelectorAll("#notices .notice").length === 0, null, { timeout: 8000 });
  assert.ok(performance.now() - t0 >= 4900, "taken off before its end");

  // A second one, at once and until withdrawn; withdrawn by keyboard.
  await page.focus('textarea');
  await page.keyboard.type("请保持安静");
  await page.focus('input[data-screen="NK-02-DOOR"]');
  await page.keyboard.press("Space");
  await page.focus('[aria-label="发布新信息"] button[type="submit"]');
  await page.keyboard.press("Enter");
  await door.waitForFunction(() => document.querySelector("#notices .notice")?.textContent.includes("请保持安静"));
  await page.waitForSelector('table.notices td.state:has-text("显示中")');
  await page.focus('table.notices tr:has-text("请保持安静") button');
  await page.keyboard.press("Enter");
  await door.waitForFunction(() => document.querySelectorAll("#notices .notice").length === 0);
  const list = await server.api("GET", "/api/v1/notices");
  assert.deepEqual(list.notices, []);
  await page.keyboard.press("Escape");
  await page.waitForSelector('[role="dialog"]', { state: "detached" });
});

test("a patient who missed the call shows under 过号 and comes back by a scan; one back from an exam by the 回诊 button, by keyboard", async () => {
  const first = (await order("NK"))[0];
  await server.api("POST", "/api/v1/rooms/NK-02/call-next");
  await server.api("POST", "/api/v1/rooms/NK-02/skip");
  await page.waitForSelector(`li[data-away="${first}"]`, { timeout: 2000 });
  assert.match(await page.textContent(`li[data-away="${first}"]`), /过号/);
  assert.ok(!(await consoleOrder(page)).includes(first), "not in the queue while away");
  // The patient comes back and the nurse scans the slip: recalled.
  await page.focus("#visit");
  await page.keyboard.type(first);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`tr[data-visit="${first}"] .tag.kind-recall, tr[data-visit="${first}"] .tag.misses`);
  assert.match(await page.textContent(".checkin p"), /已召回/);
  await page.waitForSelector(`li[data-away="${first}"]`, { state: "detached" });

  const next = (await order("NK"))[0];
  await server.api("POST", "/api/v1/rooms/NK-02/call-next");
  await server.api("POST", "/api/v1/rooms/NK-02/send-to-exam");
  await page.waitForSelector(`li[data-away="${next}"]`, { timeout: 2000 });
  assert.match(await page.textContent(`li[data-away="${next}"]`), /检查中/);
  await page.focus(`li[data-away="${next}"] button`);
  assert.equal(await page.textContent(`li[data-away="${next}"] button`), "回诊");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.tagName === "SELECT");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`tr[data-visit="${next}"]`);
  await page.waitForSelector(`li[data-away="${next}"]`, { state: "detached" });
  const q = await server.api("GET", "/api/v1/queues/NK");
  assert.equal(q.entries.find((e) => e.visit_no === next).kind, "return");
});

test("she seats an expert in another room and then stops his clinic from the console; the door screen and the list of his patients follow", async () => {
  // 王建国 (D1001) has a patient in his own queue; today's schedule (出诊排班)
  // puts him in NK-03 (every session: whatever the time of the test).
  await server.arrive("KX1", "专家患者甲", "NK", { body: { doctor_code: "D1001" } });
  const today = serverToday();
  await server.api("PUT", `/api/v1/schedules/${today}`, {
    entries: ["am", "pm", "eve"].map((session) => ({ session, room_code: "NK-03", doctor_code: "D1001" })),
  });
  const door3 = await openScreen(browser, server, "NK-03-DOOR");
  // 医生签到 on NK-03, choose him, Enter.
  await page.focus('li[data-room="NK-03"] button:has-text("医生签到")');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.tagName === "SELECT" && document.activeElement.options.length > 0);
  await page.selectOption('form[role="dialog"] select', "D1001");
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]', { state: "detached" });
  await door3.waitForFunction(() => document.querySelector(".doctor-card h2")?.textContent === "王建国", null, { timeout: 1000 });
  await page.waitForFunction(() => document.querySelector('li[data-room="NK-03"] .seat')?.textContent.includes("王建国"));
  // 医生停诊: reason, Enter: the patients waiting for him are listed.
  await page.focus('li[data-room="NK-03"] button:has-text("医生停诊")');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.tagName === "SELECT");
  await page.keyboard.press("Enter");
  await page.waitForSelector('[aria-label="受影响患者"] li[data-affected="KX1"]');
  // The nurse chose nothing: his patients went to the shared queue, and
  // she reads them by full name, in her own console.
  await page.waitForFunction(() => document.querySelector('[aria-label="受影响患者"] li[data-affected="KX1"]')?.textContent.includes("专家患者甲"));
  assert.match(await page.textContent('[aria-label="受影响患者"]'), /已分到科室普通号 1 人/);
  await page.waitForSelector('section.queue[aria-label="内科普通号"] tr[data-visit="KX1"]');
  await door3.waitForFunction(() => document.querySelector("#notices .notice")?.textContent.includes("王建国医生今日停诊"));
  await page.keyboard.press("Enter");
  await page.waitForSelector('form[role="dialog"]', { state: "detached" });
  await page.waitForFunction(() => document.querySelector('li[data-room="NK-03"] .status')?.textContent.includes("停诊"));
  await door3.close();
});

test("she sets a room's doctor for a session in 出诊排班 by keyboard, then cancels it; the table, the API and (in the session in force) the door screen follow", async () => {
  const door4 = await openScreen(browser, server, "NK-04-DOOR");
  await page.focus('button:has-text("出诊排班")');
  await page.keyboard.press("Enter");
  await page.waitForSelector('[role="dialog"][aria-label="出诊排班"] table.schedule');
  const today = serverToday();
  const day = await server.api("GET", `/api/v1/schedules?date=${today}`);
  // The session in force (or, before the first, the morning).
  const session = day.session_now || "am";
  const cell = `tr[data-room="NK-04"] td[data-session="${session}"] button`;
  // An unscheduled cell names the room's configured doctor.
  assert.match(await page.textContent(cell), /默认（陈静）/);
  // The header names the session in progress (the harness runs at 09:30).
  assert.equal(await page.getAttribute('[aria-label="出诊排班"] p.hint', "data-now"), day.session_now || "");
  await page.focus(cell);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.name === "doctor");
  await page.selectOption('form.editor select[name="doctor"]', "D1003");
  await page.keyboard.press("Tab");
  await page.keyboard.type("25");
  const saved = performance.now();
  await page.keyboard.press("Enter");
  await page.waitForFunction((c) => document.querySelector(c)?.textContent.includes("张伟 · 限25"), cell);
  const after = await server.api("GET", `/api/v1/schedules?date=${today}`);
  const entry = after.entries.find((e) => e.room_code === "NK-04" && e.session === session);
  assert.equal(entry.doctor_code, "D1003");
  assert.equal(entry.patient_limit, 25);
  assert.equal(entry.source, "nurse");
  if (day.session_now) {
    // The session in force: the door screen shows him within 1 s of the save.
    await door4.waitForFunction(() => document.querySelector(".doctor-card h2")?.textContent === "张伟", null, { timeout: 3000 });
    const ms = performance.now() - saved;
    assert.ok(ms <= 1000, `the door showed the schedule after ${Math.round(ms)} ms`);
  }
  await page.screenshot({ path: join(screenshotDir(), "schedules.png") });
  // Cancel it: the cell says so; the room keeps its configured doctor.
  await page.focus(cell);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.name === "doctor");
  const cancelled = performance.now();
  await page.click('form.editor button:has-text("取消该排班")');
  await page.waitForFunction((c) => document.querySelector(c)?.textContent.includes("已取消"), cell);
  if (day.session_now) {
    await door4.waitForFunction(() => document.querySelector(".doctor-card h2")?.textContent === "陈静", null, { timeout: 3000 });
    assert.ok(performance.now() - cancelled <= 1000, "the door followed the cancellation within 1 s");
  }
  // Esc closes the dialog; the check-in field has the focus again.
  await page.keyboard.press("Escape");
  await page.waitForSelector('[role="dialog"][aria-label="出诊排班"]', { state: "detached" });
  await door4.close();
});

test("a stop-clinic sent by another system (HIS) for the session in force shows on the door screen and in the console's 今日停诊 with the patients affected", async () => {
  await server.arrive("KX2", "专家患者乙", "EK", { body: { doctor_code: "D3001" } });
  const door = await openScreen(browser, server, "EK-01-DOOR");
  const today = serverToday();
  const day = await server.api("GET", `/api/v1/schedules?date=${today}`);
  const session = day.session_now || "am";
  const name = day.sessions.find((s) => s.code === session).name;
  const answer = await server.api("POST", "/api/v1/doctors/D3001/stop-clinic",
    { reason: "医生病假", session, waiting: "redistribute", queue_code: "EK" });
  assert.deepEqual(answer.affected.map((a) => a.visit_no), ["KX2"]);
  // The door screen: the notice names the session.
  await door.waitForFunction((n) => document.querySelector("#notices .notice")?.textContent.includes(`今日${n}停诊`),
    name, { timeout: 2000 });
  // The console (which did not send it) lists it with the patient, now in
  // the shared queue.
  await page.waitForSelector('[aria-label="今日停诊"] li[data-stop="D3001"] li[data-affected="KX2"]', { timeout: 3000 });
  assert.match(await page.textContent('li[data-stop="D3001"]'), /医生病假/);
  await page.waitForFunction(() => document.querySelector('li[data-affected="KX2"]')?.textContent.includes("儿科普通号"));
  assert.match(await page.textContent('li[data-affected="KX2"]'), /专家患者乙/, "full name for the nurse");
  await door.close();
});

test("she reports a fault (报障) by keyboard, then acknowledges, resolves and archives it; the API and the timeline agree", async () => {
  await page.focus('button:has-text("故障")');
  await page.keyboard.press("Enter");
  await page.waitForSelector('[role="dialog"][aria-label="故障"]');
  // The title field has the focus: type, Tab, type, Enter.
  await page.waitForFunction(() => document.activeElement?.name === "title");
  await page.keyboard.type("3诊室门口屏黑屏");
  await page.keyboard.press("Tab");
  await page.keyboard.type("内科3诊室门口");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector('.checkin p')?.textContent.includes("已报障"));
  const listed = await server.api("GET", "/api/v1/faults?kind=reported");
  const f = listed.faults.find((x) => x.title === "3诊室门口屏黑屏");
  assert.ok(f, JSON.stringify(listed));
  assert.equal(f.reported_by, "nurse");
  await page.waitForSelector(`tr[data-fault="${f.id}"]`);
  // The header counts it.
  await page.waitForFunction(() => /故障（\d+）/.test(document.querySelector("button.faults-open")?.textContent || ""), null, { timeout: 20000 });
  await page.focus(`tr[data-fault="${f.id}"] button`);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`[data-open="${f.id}"]`);
  await page.click('[data-open] button:has-text("确认")');
  await page.waitForFunction(() => document.querySelector("[data-open] h3")?.textContent.includes("处理中"));
  await page.fill('[data-open] input[name="note"]', "重新插好电源线后恢复");
  await page.click('[data-open] button:has-text("处理完成")');
  await page.waitForFunction(() => document.querySelector("[data-open] h3")?.textContent.includes("已恢复"));
  await page.screenshot({ path: join(screenshotDir(), "faults.png") });
  await page.click('[data-open] button:has-text("归档")');
  await page.waitForFunction(() => document.querySelector("[data-open] h3")?.textContent.includes("已归档"));
  const one = await server.api("GET", `/api/v1/faults/${f.id}`);
  assert.equal(one.state, "archived");
  assert.equal(one.acknowledged_by, "nurse");
  assert.equal(one.resolution, "重新插好电源线后恢复");
  assert.deepEqual(one.timeline.map((s) => s.kind).filter((k) => k !== "notified"), ["opened", "acknowledged", "resolved", "archived"]);
  // The filters: archived reports only.
  await page.selectOption('[aria-label="筛选"] select[name="state"]', "archived");
  await page.selectOption('[aria-label="筛选"] select[name="kind"]', "reported");
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll("tr[data-fault]")];
    return rows.length === 1 && rows[0].dataset.fault === String(id);
  }, f.id);
  await page.keyboard.press("Escape");
  await page.waitForSelector('[role="dialog"][aria-label="故障"]', { state: "detached" });
});
