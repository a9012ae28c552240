// The API document in Swagger UI at /api/docs: served by the binary with
// no request to any other site, every tag listed, an operation opens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Server, launch, screenshotDir } from "./harness.mjs";

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

test("Swagger UI shows the served document offline and opens an operation", async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const elsewhere = [];
  const errors = [];
  page.on("request", (r) => { if (!r.url().startsWith(server.base)) elsewhere.push(r.url()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.base}/api/docs`);
  await page.waitForSelector(".opblock-tag", { timeout: 15000 });
  const tags = await page.$$eval(".opblock-tag", (els) => els.map((e) => e.getAttribute("data-tag")));
  for (const t of ["HIS", "calling", "statistics", "accounts"]) assert.ok(tags.includes(t), `tag ${t} in ${tags}`);
  assert.match(await page.textContent(".info .title"), /Triage API/);
  await page.click('.opblock-tag[data-tag="HIS"]');
  const put = page.locator('.opblock-put:has(.opblock-summary-path[data-path="/api/v1/appointments/{appointment_id}"])');
  await put.first().waitFor({ timeout: 5000 });
  await put.first().locator(".opblock-summary").click();
  await page.waitForSelector(".opblock.is-open .responses-table", { timeout: 5000 });
  const codes = await page.$$eval(".opblock.is-open .responses-table .response-col_status", (els) => els.map((e) => e.textContent.trim()));
  for (const c of ["201", "200", "409", "422"]) assert.ok(codes.includes(c), `status ${c} in ${codes}`);
  await page.screenshot({ path: join(screenshotDir(), "api-docs.png") });
  assert.deepEqual(elsewhere, [], "requests to other sites");
  assert.deepEqual(errors, []);
  await page.close();
});
