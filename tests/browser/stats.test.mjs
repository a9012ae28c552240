// Workload statistics (工作量统计) in a real browser (headless Debian
// Chromium): an administrator opens /stats, the summary, the table per
// performer and the indicators show what the API answers for the same
// period, the three charts are drawn, and the export downloads the CSV.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, contrastRatio, launch, loginByKeyboard, screenshotDir, serverToday } from "./harness.mjs";

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

test("the statistics page shows the period's workload as charts and tables, and exports it", async () => {
  for (const [v, name] of [["ST1", "统甲"], ["ST2", "统乙"], ["ST3", "统丙"]]) await server.arrive(v, name, "NK");
  await server.arrive("ST4", "统丁", "WK");
  await server.callNext("NK-02");
  await server.callNext("NK-02");
  await server.api("POST", "/api/v1/rooms/NK-02/finish");
  await server.callNext("WK-01");
  const today = serverToday();
  const expected = await server.api("GET", `/api/v1/stats/workload?from=${today}&to=${today}&group_by=performer`);
  assert.ok(expected.total.called >= 3, JSON.stringify(expected.total));

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${server.base}/stats`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.waitForSelector('[aria-label="合计"]');
  // The default period (the last seven days) ends today: the same figures.
  assert.equal(await page.textContent('[data-total="visits"]'), String(expected.total.visits));
  assert.equal(await page.textContent('[data-total="called"]'), String(expected.total.called));
  assert.equal(await page.textContent('[data-total="finished"]'), String(expected.total.finished));
  await page.waitForFunction(() => document.querySelector('tr[data-performer="admin"] td')?.textContent.includes("（admin）"));
  for (const g of expected.groups) {
    const cells = await page.$$eval(`tr[data-performer="${g.key.performer}"] td`, (tds) => tds.map((td) => td.textContent));
    // A name beside the code; visits nobody called yet: 未记录.
    assert.match(cells[0], g.key.performer === "（无）" ? /^（未记录）$/ : new RegExp(`（${g.key.performer}）$`), "a name beside the code");
    assert.deepEqual(cells.slice(1, 6), [String(g.visits), String(g.called), String(g.finished), String(g.no_shows), String(g.recalls)]);
  }
  // Three charts, each drawn on a canvas.
  await page.waitForFunction(() => document.querySelectorAll("figure.chart canvas").length === 3);
  const drawn = await page.$$eval("figure.chart canvas", (cs) => cs.map((c) => c.width > 100 && c.height > 100));
  assert.deepEqual(drawn, [true, true, true]);
  const indicators = await page.$$eval('table[aria-label="绩效指标"] tbody tr', (rows) => rows.map((r) => r.dataset.department));
  assert.deepEqual(indicators.sort(), ["NK", "WK"]);

  // Narrowed to surgery by keyboard-free form use: the table follows.
  await page.selectOption('select[name="department"]', "WK");
  await page.click('form[aria-label="统计条件"] button[type="submit"]');
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label="绩效指标"] tbody tr').length === 1);
  const wk = await server.api("GET", `/api/v1/stats/workload?from=${today}&to=${today}&department=WK`);
  assert.equal(await page.textContent('[data-total="visits"]'), String(wk.total.visits));

  // The export: CSV with a BOM for Excel, the same totals.
  const href = await page.getAttribute("a.export", "href");
  assert.match(href, /format=csv/);
  const [head, csv] = await page.evaluate(async (h) => {
    const bytes = new Uint8Array(await (await fetch(h)).arrayBuffer());
    return [Array.from(bytes.slice(0, 3)), new TextDecoder().decode(bytes)];
  }, href);
  assert.deepEqual(head, [0xef, 0xbb, 0xbf], "a BOM for Excel");
  assert.match(csv, /合计 total/);
  await page.screenshot({ path: join(screenshotDir(), "stats.png"), fullPage: true });
});

// Issue 26, item 11: every call counts for whoever made it (a skipped
// patient too), the table names the doctor, and the 工作量统计 button is
// readable in the title bar of the console and the caller.
test("a doctor's calls count for him by name, a skip too; the statistics button is readable", async () => {
  for (const v of ["SD1", "SD2", "SD3"]) await server.arrive(v, `统计${v}`, "NK");
  const caller = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await caller.goto(`${server.base}/caller`);
  await loginByKeyboard(caller, "D1002", server.access.accounts["D1002"].password);
  await caller.waitForSelector(".online");
  await caller.focus("body");
  // N, S (skip), N, F, N, F: three calls; each answer shows before the next key.
  for (const key of ["n", "s", "n", "f", "n", "f"]) {
    const before = await caller.textContent('p[role="status"]');
    await caller.keyboard.press(key);
    await caller.waitForFunction((b) => document.querySelector('p[role="status"]')?.textContent !== b, before);
  }
  const link = await caller.$eval(".bar a.button", (a) => [getComputedStyle(a).color, getComputedStyle(a).backgroundColor]);
  const ratio = contrastRatio(...link);
  assert.ok(ratio >= 4.5, `the statistics button: ${link.join(" on ")}, ${ratio.toFixed(1)}:1`);
  await caller.close();
  const today = serverToday();
  const by = await server.api("GET", `/api/v1/stats/workload?from=${today}&to=${today}&group_by=performer`);
  const his = by.groups.find((g) => g.key.performer === "D1002");
  assert.equal(his?.called, 3, JSON.stringify(by.groups));
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${server.base}/stats`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.waitForFunction(() => document.querySelector('tr[data-performer="D1002"] td')?.textContent.includes("李秀梅"));
  const cells = await page.$$eval('tr[data-performer="D1002"] td', (tds) => tds.map((td) => td.textContent));
  assert.equal(cells[0], "李秀梅（D1002）");
  assert.equal(cells[2], "3", "calls counted for the doctor who made them");
  await page.close();
});

// Issue 28: how well the wait ranges held. Before any backtest the page
// says so; after `triage wait backtest` it shows the figures the API gives.
test("the statistics page shows the latest backtest of the wait ranges", async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${server.base}/stats`);
  await loginByKeyboard(page, "admin", server.access.accounts.admin.password);
  await page.waitForSelector('section[aria-label="候诊时间预测准确度"]');
  assert.match(await page.textContent('section[aria-label="候诊时间预测准确度"]'), /尚未回测/);

  const today = serverToday();
  const run = server.cli(["wait", "backtest", "--from", today, "--to", today, "--runs", "20"]);
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, /P90 覆盖 \d+%/);
  const kept = await server.api("GET", "/api/v1/stats/wait-calibration");
  assert.ok(kept.calibration, JSON.stringify(kept));
  assert.equal(kept.calibration.from, today);

  await page.reload();
  await page.waitForSelector('tr[data-calibration="overall"]');
  const cells = await page.$$eval('tr[data-calibration="overall"] td', (tds) => tds.map((td) => td.textContent));
  const o = kept.calibration.overall;
  assert.deepEqual(cells, ["全院", String(o.scored), `${Math.round(o.p90_coverage * 100)}%`,
    `${Math.round(o.p50_coverage * 100)}%`, o.p50_error_minutes.toFixed(1), o.old_error_minutes.toFixed(1)]);
  assert.match(await page.textContent('section[aria-label="候诊时间预测准确度"] h2'), new RegExp(`${today} 至 ${today}`));
  await page.close();
});

