// Triage's screens in a real browser (headless Debian Chromium): what a
// patient in the waiting room sees and hears.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Server, contrastRatio, launch, noteSecret, openScreen, repo, screenshotDir, serverNow } from "./harness.mjs";

const FULL_NAMES = ["张三丰", "欧阳娜娜", "李秀英", "司马相如", "王建军"];
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

// Chinese glyphs are real glyphs, not boxes: two different characters must
// draw different pixels in the page's own font.
async function drawsDistinctCjkGlyphs(page, pairs = [["内", "科"], ["诊", "室"]]) {
  return page.evaluate((pairs) => {
    const font = getComputedStyle(document.querySelector("h1")).fontFamily;
    const draw = (ch) => {
      const c = document.createElement("canvas");
      c.width = 64; c.height = 64;
      const ctx = c.getContext("2d");
      ctx.font = `48px ${font}`;
      ctx.fillText(ch, 4, 52);
      return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(",");
    };
    return pairs.every(([a, b]) => draw(a) !== draw(b));
  }, pairs);
}

test("the overview shows its department's rooms and doctors in Chinese", async () => {
  const page = await openScreen(browser, server, "NK-HALL");
  assert.equal(await page.textContent("#title"), "内科");
  const rooms = await page.$$eval("section.room h2", (els) => els.map((e) => e.textContent));
  assert.deepEqual(rooms, ["内科1诊室", "内科2诊室", "内科3诊室", "内科4诊室"]);
  const doctors = await page.$$eval("section.room .doctor", (els) => els.map((e) => e.textContent));
  assert.ok(doctors[0].includes("王建国") && doctors[0].includes("主任医师"), doctors[0]);
  assert.ok(await drawsDistinctCjkGlyphs(page), "Chinese text renders as boxes: install a CJK font");
  await page.close();
});

test("a screen opened without its device token shows no patient and says it is not authorised", async () => {
  await server.arrive("B-NOTOKEN", "欧阳娜娜", "NK");
  await server.callNext("NK-04");
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(`${server.base}/screens/NK-04-DOOR`);
  await page.waitForFunction(() => !document.querySelector("#offline").hidden
    && document.querySelector("#offline").textContent.includes("未授权"));
  const text = await page.textContent("body");
  assert.ok(!text.includes("欧*娜") && !text.includes("欧阳娜娜"), "an unauthorised screen shows a patient");
  assert.equal(await page.$$eval("section.room", (els) => els.length), 0);
  // The token in the address admits it; the address bar no longer shows it.
  await page.goto(`${server.base}/screens/NK-04-DOOR#token=${server.access.tokens["NK-04-DOOR"]}`);
  await page.waitForFunction(() => document.body.dataset.online === "true");
  assert.ok(!page.url().includes("token="), page.url());
  await page.close();
});

test("the door screen shows the doctor's name, title and introduction", async () => {
  const page = await openScreen(browser, server, "NK-01-DOOR");
  assert.equal(await page.textContent(".who h2"), "王建国");
  assert.equal(await page.textContent(".who .title"), "主任医师");
  assert.match(await page.textContent(".intro"), /高血压/);
  assert.ok(await drawsDistinctCjkGlyphs(page));
  await page.close();
});

test("a call made through the API shows on every screen of that room within 1 s", async () => {
  const hall = await openScreen(browser, server, "NK-HALL");
  const door = await openScreen(browser, server, "NK-02-DOOR");
  await server.arrive("B100", FULL_NAMES[0]);
  const t0 = performance.now();
  const r = await server.callNext("NK-02");
  const ticket = r.current.ticket_no;
  await Promise.all([
    hall.waitForFunction((t) => document.querySelector('[data-room="NK-02"] .now')?.textContent.includes(t), ticket, { timeout: 1000 }),
    door.waitForFunction((t) => document.querySelector(".calling .ticket")?.textContent === t, ticket, { timeout: 1000 }),
  ]);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 1000, `screens changed after ${elapsed} ms`);
  assert.match(await door.textContent(".calling .name"), /张\*丰/);
  await hall.close();
  await door.close();
});

// Issue 26, item 5: a call you cannot miss. Screenshots of the called
// number, taken one after another for 4 s while the queue keeps changing:
// its highlight (dark on yellow) shows through, it flashes (on and off),
// never more than 3 times in any second; the door flashes the number too.
// With prefers-reduced-motion the highlight stays steady.
async function highlightSamples(page, selector, ms, during = async () => {}) {
  const samples = [];
  const t0 = performance.now();
  const busy = during();
  while (performance.now() - t0 < ms) {
    const el = await page.$(selector);
    const box = el && await el.boundingBox();
    if (!box) { samples.push({ t: performance.now() - t0, on: false, missing: true }); continue; }
    const png = (await page.screenshot({ clip: box })).toString("base64");
    // Decode the screenshot in the page: the share of yellow (#ffd34d) pixels.
    const yellow = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const img = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const c = new OffscreenCanvas(img.width, img.height);
      const ctx = c.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, img.width, img.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 230 && d[i + 1] > 190 && d[i + 1] < 230 && d[i + 2] < 110) n += 1;
      return n / (d.length / 4);
    }, png);
    samples.push({ t: performance.now() - t0, on: yellow > 0.5, yellow });
  }
  await busy;
  return samples;
}

function flashesPerSecond(samples) {
  const rises = samples.filter((s, i) => i > 0 && s.on && !samples[i - 1].on).map((s) => s.t);
  let most = 0;
  for (const t of rises) most = Math.max(most, rises.filter((u) => u >= t && u < t + 1000).length);
  return most;
}

test("a called number flashes on the hall and the door, at most 3 times a second for 10 s, through updates; reduced motion holds it steady", async () => {
  const hall = await openScreen(browser, server, "NK-HALL");
  const door = await openScreen(browser, server, "NK-03-DOOR");
  await server.arrive("F100", FULL_NAMES[1]);
  const r = await server.callNext("NK-03");
  const ticket = r.current.ticket_no;
  await hall.waitForFunction((t) => document.querySelector('[data-room="NK-03"] .now .ticket')?.textContent === t, ticket);
  // Other patients arrive meanwhile: every arrival re-renders the screen.
  const arrivals = async () => {
    for (let i = 0; i < 8; i += 1) {
      await server.arrive(`F1${10 + i}`, `闪烁${i}号`);
      await new Promise((res) => setTimeout(res, 400));
    }
  };
  const hallSamples = await highlightSamples(hall, '[data-room="NK-03"] .now .ticket', 4000, arrivals);
  await hall.screenshot({ path: join(screenshotDir(), "hall-called.png") });
  const on = hallSamples.filter((s) => s.on);
  assert.ok(hallSamples.length >= 20, `${hallSamples.length} screenshots`);
  assert.ok(on.length > 0 && on.at(-1).t - on[0].t >= 3000,
    `the highlight showed from ${on[0]?.t} to ${on.at(-1)?.t} ms: ${JSON.stringify(hallSamples.map((s) => +s.on).join(""))}`);
  assert.ok(hallSamples.some((s, i) => i > 0 && !s.on && hallSamples[i - 1].on), "the number never flashes off");
  const rate = flashesPerSecond(hallSamples);
  assert.ok(rate >= 1 && rate <= 3, `${rate} flashes in one second`);
  // The door flashes the number, not the doctor's card.
  const doorSamples = await highlightSamples(door, ".calling .ticket .number", 2000);
  assert.ok(doorSamples.some((s) => s.on) && doorSamples.some((s) => !s.on), "the door's number does not flash");
  assert.equal(await door.$(".doctor-card .called"), null);
  // Contrast of both phases (WCAG AA asks 4.5:1): computed from the styles.
  const colours = await hall.evaluate(() => {
    const root = getComputedStyle(document.documentElement);
    const hex = (name) => root.getPropertyValue(name).trim();
    const toRgb = (h) => `rgb(${parseInt(h.slice(1, 3), 16)}, ${parseInt(h.slice(3, 5), 16)}, ${parseInt(h.slice(5, 7), 16)})`;
    return { accent: toRgb(hex("--accent")), panel: toRgb(hex("--panel")) };
  });
  const contrast = {
    on: contrastRatio(colours.accent, "rgb(11, 31, 58)"),
    off: contrastRatio(colours.accent, colours.panel),
  };
  assert.ok(contrast.on >= 4.5 && contrast.off >= 4.5, JSON.stringify(contrast));
  // Reduced motion: the same call, a steady highlight.
  const calm = await browser.newPage({ viewport: { width: 1920, height: 1080 }, reducedMotion: "reduce" });
  await calm.goto(`${server.base}/screens/NK-HALL#token=${server.access.tokens["NK-HALL"]}`);
  await calm.waitForFunction(() => document.body.dataset.online === "true");
  await server.api("POST", "/api/v1/rooms/NK-03/recall");
  await calm.waitForSelector('[data-room="NK-03"] .now .ticket.called');
  const steady = await highlightSamples(calm, '[data-room="NK-03"] .now .ticket', 2500);
  assert.ok(steady.every((s) => s.on), `reduced motion flashes: ${steady.map((s) => +s.on).join("")}`);
  for (const p of [hall, door, calm]) await p.close();
  for (const v of ["F100", ...Array.from({ length: 8 }, (_, i) => `F1${10 + i}`)]) {
    await server.api("DELETE", `/api/v1/registrations/${v}`).catch(() => {});
  }
  await server.api("POST", "/api/v1/rooms/NK-03/finish").catch(() => {});
});

// Issue 26, item 7: a notice takes its own band. At the three screen sizes
// hospitals use, with a long notice up and every room's list full, the
// band overlaps no room, no list is cut off, and its mark is a word the
// fonts draw (not an emoji drawn as a box).
test("a notice band never covers a room or a list at 1280×720, 1366×768 and 1920×1080, and its mark is drawn", async () => {
  const visits = Array.from({ length: 10 }, (_, i) => `NB${100 + i}`);
  for (const v of visits) await server.arrive(v, FULL_NAMES[visits.indexOf(v) % FULL_NAMES.length]);
  const notice = await server.api("POST", "/api/v1/notices", {
    text: "今日上午内科门诊患者较多，请耐心等候叫号；如有不适请立即告知分诊台护士，我们会优先安排。",
    level: "info", screens: ["NK-HALL", "NK-02-DOOR"],
  });
  for (const [width, height] of [[1280, 720], [1366, 768], [1920, 1080]]) {
    for (const code of ["NK-HALL", "NK-02-DOOR"]) {
      const page = await browser.newPage({ viewport: { width, height } });
      await page.goto(`${server.base}/screens/${code}#token=${server.access.tokens[code]}`);
      await page.waitForFunction(() => document.body.dataset.online === "true" && document.querySelector("#notices .notice"));
      await page.waitForTimeout(200);
      const layout = await page.evaluate(() => {
        const box = (el) => { const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, left: r.left, right: r.right }; };
        const band = box(document.querySelector("#notices"));
        const main = box(document.querySelector("main"));
        const parts = [...document.querySelectorAll("main .room, main .calling, main .waiting, main ol.next li, main .doctor-card")]
          .map((el) => ({ what: el.className || el.tagName, text: el.textContent.slice(0, 20), ...box(el) }));
        const mark = getComputedStyle(document.querySelector("#notices .notice"), "::before").content;
        return { band, main, parts, mark, scale: document.querySelector("main").dataset.scale };
      });
      const where = `${code} at ${width}×${height} (type ×${layout.scale})`;
      assert.ok(layout.parts.length > 3, `${where}: ${layout.parts.length} parts`);
      const overlaps = layout.parts.filter((p) => p.top < layout.band.bottom && p.bottom > layout.band.top);
      assert.deepEqual(overlaps, [], `${where}: the notice band covers these`);
      const cut = layout.parts.filter((p) => p.bottom > layout.main.bottom + 1 || p.bottom > height || p.right > width + 1);
      assert.deepEqual(cut, [], `${where}: cut off below the screen`);
      assert.equal(layout.mark, '"通知"', `${where}: the notice's mark`);
      await page.screenshot({ path: join(screenshotDir(), `notice-${code}-${width}x${height}.png`) });
      await page.close();
    }
  }
  // The mark's word is drawn as two different glyphs by the screen's font.
  const page = await browser.newPage();
  await page.goto(`${server.base}/screens/NK-HALL#token=${server.access.tokens["NK-HALL"]}`);
  await page.waitForFunction(() => document.body.dataset.online === "true");
  assert.ok(await drawsDistinctCjkGlyphs(page, [["通", "知"], ["紧", "急"]]));
  await page.close();
  await server.api("DELETE", `/api/v1/notices/${notice.id}`);
  for (const v of visits) await server.api("DELETE", `/api/v1/registrations/${v}`).catch(() => {});
});

// Issue 26, item 1: a paused or closed room's door and the hall tell
// nobody to get ready for it; they say, in one sentence, what to do.
test("a paused or closed room lists nobody to get ready on its door or the hall, and says what to do", async () => {
  const hall = await openScreen(browser, server, "NK-HALL");
  const door = await openScreen(browser, server, "NK-04-DOOR");
  // Its own visit numbers, cancelled at the end: the shared queue is as
  // the other tests expect it.
  await server.arrive("G260", FULL_NAMES[3]);
  await server.arrive("G261", FULL_NAMES[4]);
  const doorList = () => door.$$eval(".waiting ol.next li", (els) => els.length);
  const hallRoom = '[data-room="NK-04"]';
  await door.waitForFunction(() => document.querySelectorAll(".waiting ol.next li").length > 0, null, { timeout: 2000 });
  assert.ok((await door.textContent(".waiting .label")).includes("请以下患者准备"), "open: who is next");
  for (const [action, says] of [["pause", "本诊室暂停叫号"], ["close", "本诊室暂停接诊"]]) {
    await server.api("POST", `/api/v1/rooms/NK-04/${action}`, {});
    await door.waitForFunction((t) => document.querySelector(".waiting p.guidance")?.textContent.includes(t), says, { timeout: 2000 });
    await hall.waitForFunction(([room, t]) => document.querySelector(`${room} p.guidance`)?.textContent.includes(t), [hallRoom, says], { timeout: 2000 });
    assert.equal(await doorList(), 0, `${action}: no list on the door`);
    assert.ok(!(await door.textContent(".waiting")).includes("请以下患者准备"), `${action}: nobody told to get ready`);
    assert.equal(await hall.$$eval(`${hallRoom} ol.next li`, (els) => els.length), 0, `${action}: no list on the hall`);
  }
  // Open again: the list is back.
  await server.api("POST", "/api/v1/rooms/NK-04/resume", {});
  await door.waitForFunction(() => document.querySelectorAll(".waiting ol.next li").length > 0, null, { timeout: 2000 });
  await server.api("DELETE", "/api/v1/registrations/G260");
  await server.api("DELETE", "/api/v1/registrations/G261");
  await hall.close();
  await door.close();
});

test("the voice queue announces calls in order and never overlaps", async () => {
  const hall = await openScreen(browser, server, "NK-HALL", { speechMs: 200 });
  const names = [FULL_NAMES[1], FULL_NAMES[2], FULL_NAMES[3]];
  const rooms = ["NK-02", "NK-03", "NK-04"];
  const expected = [];
  for (let i = 0; i < 3; i++) {
    await server.arrive(`V20${i}`, names[i], "NK", { sex: i === 0 ? "2" : "1" });
  }
  for (const room of rooms) {
    const r = await server.callNext(room);
    expected.push(r.current.ticket_no);
  }
  await hall.waitForFunction(() => window.__speech.length >= 6 && window.__speech.every((s) => s.end !== null), null, { timeout: 10000 });
  const spoken = await hall.evaluate(() => window.__speech);
  // Each call twice (repeat = 2), calls in the order they were made.
  const tickets = spoken.map((s) => s.text.match(/请 (\S+)号/)[1]);
  assert.deepEqual(tickets, expected.flatMap((t) => [t, t]));
  assert.equal(spoken[0].text, `请 ${expected[0]}号 欧阳女士 到 内科2诊室 就诊`);
  for (let i = 1; i < spoken.length; i++) {
    assert.ok(spoken[i].start >= spoken[i - 1].end, `announcement ${i} overlaps the one before`);
  }
  await hall.close();
});

test("a door screen lists its room's appointments masked, and a move changes both doors at once", async () => {
  const door3 = await openScreen(browser, server, "NK-03-DOOR");
  const door2 = await openScreen(browser, server, "NK-02-DOOR");
  const now = serverNow().getTime();
  // Began a minute ago, today (a slot of a later day is not listed today).
  const slot = { start: new Date(now - 60000).toISOString(), end: new Date(now + 30 * 60000).toISOString() };
  const body = (version, room) => ({
    version, room_code: room, slot, booked_at: new Date(now - 86400000).toISOString(),
    patient: { id: "P-APPT", name: "上官婉儿", sex: "2", birth_date: "1990-01-01" },
    exam_items: [{ code: "GAS-01", name: "胃镜" }],
  });
  noteSecret("上官婉儿");
  await server.api("PUT", "/api/v1/appointments/APPT-B1", body(1, "NK-03"));
  await door3.waitForFunction(() => document.querySelector(".appointments li")?.textContent.includes("上**儿"), null, { timeout: 1000 });
  const hhmm = (t) => new Date(t).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
  const item = await door3.textContent(".appointments li");
  assert.ok(item.includes(`${hhmm(slot.start)}-${hhmm(slot.end)}`), item);
  assert.match(await door3.textContent(".appointments .label"), /今日预约/);
  const text = await door3.textContent("body");
  assert.ok(!text.includes("上官婉儿") && !text.includes("胃镜") && !text.includes("APPT-B1"), "the door shows more than slot and masked name");
  await server.api("PUT", "/api/v1/appointments/APPT-B1", body(2, "NK-02"));
  await Promise.all([
    door2.waitForFunction(() => document.querySelector(".appointments li")?.textContent.includes("上**儿"), null, { timeout: 1000 }),
    door3.waitForFunction(() => !document.querySelector(".appointments"), null, { timeout: 1000 }),
  ]);
  await door2.screenshot({ path: join(screenshotDir(), "door-appointments.png") });
  await server.api("DELETE", "/api/v1/appointments/APPT-B1");
  await door2.waitForFunction(() => !document.querySelector(".appointments"), null, { timeout: 1000 });
  await door2.close();
  await door3.close();
});

test("no full patient name appears anywhere in a screen's page", async () => {
  await server.arrive("B300", FULL_NAMES[4]);
  const pages = [await openScreen(browser, server, "NK-HALL"), await openScreen(browser, server, "NK-01-DOOR"), await openScreen(browser, server, "NK-02-DOOR")];
  await server.callNext("NK-01");
  await pages[0].waitForTimeout(300);
  for (const p of pages) {
    const html = await p.evaluate(() => document.documentElement.outerHTML + JSON.stringify(window.__triage.state, (k, v) => v instanceof Map ? [...v] : v));
    for (const name of FULL_NAMES) assert.ok(!html.includes(name), `the page holds the full name ${name}`);
    await p.close();
  }
});

test("killed server: the screen keeps its last state with an offline mark, then resyncs without a reload", async () => {
  const dir = screenshotDir();
  await server.arrive("B400", "郑小红", "NK", { sex: "2" });
  await server.arrive("B401", "冯大明", "NK");
  const hall = await openScreen(browser, server, "NK-HALL");
  const door = await openScreen(browser, server, "NK-03-DOOR");
  const called = await server.callNext("NK-03");
  const ticket = called.current.ticket_no;
  await door.waitForFunction((t) => document.querySelector(".calling .ticket")?.textContent === t, ticket);
  await hall.waitForFunction((t) => document.querySelector('[data-room="NK-03"] .now')?.textContent.includes(t), ticket);
  await hall.evaluate(() => { window.__noReload = "still here"; });
  await door.evaluate(() => { window.__noReload = "still here"; });
  await hall.screenshot({ path: join(dir, "overview-online.png") });
  await door.screenshot({ path: join(dir, "door-online.png") });

  await server.kill();
  for (const p of [hall, door]) {
    await p.waitForFunction(() => document.body.dataset.online === "false", null, { timeout: 5000 });
    assert.equal(await p.isVisible("#offline"), true, "offline mark not shown");
  }
  assert.equal(await door.textContent(".calling .ticket"), ticket, "last state lost");
  assert.ok((await hall.textContent('[data-room="NK-03"] .now')).includes(ticket));
  await hall.screenshot({ path: join(dir, "overview-offline.png") });
  await door.screenshot({ path: join(dir, "door-offline.png") });

  await server.boot(); // same port, same database
  for (const p of [hall, door]) {
    await p.waitForFunction(() => document.body.dataset.online === "true", null, { timeout: 20000 });
    assert.equal(await p.evaluate(() => window.__noReload), "still here", "the page was reloaded");
  }
  // Resynced to the true state: the current patient survived the crash, and
  // a call after the restart shows at once.
  assert.equal(await door.textContent(".calling .ticket"), ticket);
  const next = await server.callNext("NK-03");
  await door.waitForFunction((t) => document.querySelector(".calling .ticket")?.textContent === t, next.current.ticket_no, { timeout: 1000 });
  const truth = await server.api("GET", "/api/v1/rooms/NK-03");
  assert.equal(truth.current.ticket_no, next.current.ticket_no);
  await hall.close();
  await door.close();
});

test("a server stopped on purpose: the screen says it restarts, keeps its state and reconnects by itself", async () => {
  await server.arrive("B500", "韩梅梅", "WK", { sex: "2" });
  const door = await openScreen(browser, server, "WK-02-DOOR");
  const called = await server.callNext("WK-02");
  const ticket = called.current.ticket_no;
  await door.waitForFunction((t) => document.querySelector(".calling .ticket")?.textContent === t, ticket);
  await door.evaluate(() => { window.__noReload = "still here"; });

  const code = await server.terminate();
  assert.equal(code, 0, "exit code after SIGTERM");
  await door.waitForFunction(() => document.body.dataset.online === "false", null, { timeout: 5000 });
  assert.match(await door.textContent("#offline"), /系统重启中/);
  assert.equal(await door.textContent(".calling .ticket"), ticket, "last state lost");
  const dir = screenshotDir();
  if (dir) await door.screenshot({ path: join(dir, "door-restarting.png") });

  await server.boot();
  await door.waitForFunction(() => document.body.dataset.online === "true", null, { timeout: 20000 });
  assert.equal(await door.evaluate(() => window.__noReload), "still here", "the page was reloaded");
  assert.equal(await door.textContent(".calling .ticket"), ticket);
  await door.close();
});

test("a two-stage room's door screen shows its own short list and cap, and follows a call", async () => {
  const door = await openScreen(browser, server, "EK-02-DOOR");
  // Seven children check in: EK-02 and EK-03 each keep three at their door.
  for (let i = 1; i <= 7; i++) await server.arrive(`EK${i}`, FULL_NAMES[i % FULL_NAMES.length], "EK");
  await door.waitForFunction(() => document.querySelector(".waiting .short-list")?.textContent === "门口候诊 3/3", null, { timeout: 5000 });
  assert.match(await door.textContent(".waiting .label"), /请以下患者到门口候诊/);
  const room = await server.api("GET", "/api/v1/rooms/EK-02");
  const shown = await door.$$eval(".waiting .next li b", (els) => els.map((e) => e.textContent));
  assert.deepEqual(shown, room.next.map((e) => e.ticket_no), "the door shows the room's own short list");
  const dir = screenshotDir();
  if (dir) await door.screenshot({ path: join(dir, "door-two-stage.png") });
  // The room calls the first at its door; the list fills up again.
  const r = await server.callNext("EK-02");
  assert.equal(r.current.ticket_no, shown[0]);
  await door.waitForFunction((t) => document.querySelector(".calling .ticket")?.textContent === t, shown[0], { timeout: 1000 });
  await door.waitForFunction((first) => {
    const list = [...document.querySelectorAll(".waiting .next li b")].map((e) => e.textContent);
    return list.length === 3 && !list.includes(first) && document.querySelector(".waiting .short-list")?.textContent === "门口候诊 3/3";
  }, shown[0], { timeout: 5000 });
  const text = await door.textContent("body");
  for (const name of FULL_NAMES) assert.ok(!text.includes(name), `full name ${name} on the door screen`);
  await door.close();
});

// The frames of the contract (tests/fixtures/screen-frames/, the same files
// the Rust tests check the server's frames against), fed to the page one by
// one through a stand-in socket: the client understands every frame the
// server sends, in order.
test("the screen client shows every frame of the contract's fixtures", async () => {
  const dir = join(repo, "tests", "fixtures", "screen-frames");
  const frames = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.stringify(JSON.parse(readFileSync(join(dir, f), "utf8"))));
  assert.equal(frames.length, 10, "a fixture per frame");
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.addInitScript((list) => {
    class FixtureSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        window.__fixtureSocket = this;
        window.__sent = [];
        setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0);
      }
      send(text) { window.__sent.push(JSON.parse(text)); }
      close() { this.readyState = 3; this.onclose?.(); }
    }
    FixtureSocket.OPEN = 1;
    window.WebSocket = FixtureSocket;
    window.__deliver = (i) => window.__fixtureSocket.onmessage({ data: list[i] });
  }, frames);
  await page.goto(`${server.base}/screens/NK-HALL`);
  await page.waitForFunction(() => window.__sent?.some((m) => m.type === "hello"));
  const deliver = (i) => page.evaluate((n) => window.__deliver(n), i);
  const roomText = (code) => page.textContent(`section.room[data-room="${code}"]`);

  await deliver(0); // snapshot
  assert.equal(await page.textContent("#title"), "内科");
  assert.deepEqual(await page.$$eval("section.room h2", (els) => els.map((e) => e.textContent)), ["内科1诊室", "内科2诊室"]);
  assert.ok((await roomText("NK-01")).includes("A001"), "the current call of the snapshot");
  assert.ok((await roomText("NK-01")).includes("A004") && (await roomText("NK-01")).includes("优先"));
  assert.ok((await roomText("NK-02")).includes("暂停叫号"));
  // A paused room lists nobody to get ready: it says what to do instead.
  assert.equal(await page.textContent(`section.room[data-room="NK-02"] p.guidance`), "本诊室暂停叫号，请在候诊区稍候，恢复后按顺序叫号");
  assert.equal(await page.$$eval(`section.room[data-room="NK-02"] ol.next`, (els) => els.length), 0);
  assert.equal(await page.evaluate(() => document.body.dataset.online), "true");

  await deliver(1); // room: A003 called in NK-01
  assert.ok((await roomText("NK-01")).includes("A003"));
  await deliver(2); // call: on the ticker
  assert.ok((await page.textContent("#ticker")).includes("A003 李*英 → 内科1诊室"));
  await deliver(3); // rooms: NK-02 opens with a doctor
  assert.ok((await roomText("NK-02")).includes("李明") && (await roomText("NK-02")).includes("A004"));
  await deliver(4); // notice
  assert.equal(await page.textContent("#notices p.notice.urgent"), "内科3诊室今日下午停诊");
  await deliver(5); // notice withdrawn
  assert.equal(await page.$$eval("#notices p.notice", (els) => els.length), 0);
  await deliver(6); // day closed: the day's calls leave the ticker
  assert.equal(await page.textContent("#ticker"), "");
  await deliver(7); // pong: outside the sequence, nothing changes
  assert.equal(await page.evaluate(() => document.body.dataset.online), "true");
  assert.ok((await roomText("NK-01")).includes("A003"));
  assert.ok(!(await page.evaluate(() => window.__sent.some((m) => m.type === "resync"))), "a fixture out of sequence");
  await deliver(8); // restarting
  assert.equal(await page.evaluate(() => window.__triage.restarting), true);
  assert.equal(await page.textContent("#offline span"), "系统重启中，稍候自动恢复");
  // unauthorized (a screen back with a revoked token), then the server
  // closes the socket: the screen says it is not authorised.
  await deliver(9);
  await page.evaluate(() => window.__fixtureSocket.close());
  await page.waitForFunction(() => document.body.dataset.online === "false");
  assert.match(await page.textContent("#offline span"), /未授权/);
  await page.close();
});
