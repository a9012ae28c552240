// The self-service check-in kiosk (自助报到机): a patient scans the slip's
// barcode or QR code (a keyboard-wedge scanner types the visit number and
// Enter, so the field keeps the focus) or types it on the large keypad; the
// page shows the ticket in large type (适老化) and prints it on the 80 mm
// thermal printer (Chromium kiosk printing). A refusal says why in Chinese,
// points to the nurse, and changes nothing. The kiosk proves itself with
// its device token (given once in the address, kept by this browser).
// The ticket carries a QR code of the patient's own page (/p/{token}).

import qrcode from "/display/vendor/qrcode-generator-2.0.4/qrcode.mjs";

const code = decodeURIComponent(location.pathname.split("/").pop() || "");
const TOKEN_KEY = `triage-kiosk-token:${code}`;
const RESET_MS = 20000;
const $ = (id) => document.getElementById(id);

function deviceToken() {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromUrl) {
    try { localStorage.setItem(TOKEN_KEY, fromUrl); } catch (_) { /* private mode: memory only */ }
    history.replaceState(null, "", location.pathname);
    return fromUrl;
  }
  try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (_) { return ""; }
}
const token = deviceToken();

async function call(method, path, body) {
  try {
    const r = await fetch(`/api/v1/kiosks/${encodeURIComponent(code)}${path}`, {
      method,
      headers: { "x-device-token": token, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await r.json().catch(() => null);
    return { ok: r.ok, status: r.status, body: json };
  } catch (_) {
    return { ok: false, status: 0, body: { error: { code: "offline", message: "暂时无法连接系统，请到分诊台报到。" } } };
  }
}

let resetTimer = null;
function show(state) {
  document.body.dataset.state = state;
  for (const id of ["scan", "result", "refusal", "denied"]) $(id).hidden = id !== state;
  clearTimeout(resetTimer);
  if (state === "result" || state === "refusal") resetTimer = setTimeout(() => show("scan"), RESET_MS);
  if (state === "scan") { $("visit").value = ""; $("visit").focus(); }
}

function clock(iso) {
  return new Date(iso).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
}

// The wait as the queue's forecast gives it (P50–P90), in words when the
// session may end first; the old estimate only if no forecast was ready.
function waitText(t) {
  const w = t.wait;
  if (!w) return `约 ${t.estimated_wait_minutes} 分钟`;
  if (w.beyond_session) return "本时段内可能叫不到，请咨询分诊台";
  if (w.p90_minutes === 0) return "即将叫到";
  return `约 ${w.p50_minutes}–${w.p90_minutes} 分钟`;
}

function fillTicket(t) {
  const where = [t.doctor ? `${t.doctor}医生` : "", t.rooms.join("、")].filter(Boolean).join(" · ");
  $("result-title").textContent = t.created ? "报到成功" : "您已报到过";
  $("r-ticket").textContent = t.ticket_no;
  $("r-dept").textContent = `${t.department} · ${t.queue}`;
  // Only rooms that call now are named; none: the screens will say where.
  $("r-where").textContent = where || "请留意叫号屏";
  $("r-ahead").textContent = String(t.ahead);
  $("r-wait").textContent = waitText(t);
  $("r-wait-at").textContent = t.wait_at;
  $("r-print").textContent = t.created ? "正在打印小票，请取走" : "已报到过，不再打印；如需帮助请到分诊台";
  $("s-hospital").textContent = t.hospital;
  $("s-dept").textContent = `${t.department} ${t.queue}`;
  $("s-ticket").textContent = t.ticket_no;
  $("s-name").textContent = t.masked_name;
  $("s-where").textContent = where || "请留意叫号屏";
  $("s-ahead").textContent = String(t.ahead);
  $("s-wait").textContent = waitText(t);
  $("s-wait-at").textContent = t.wait_at;
  $("s-time").textContent = `报到时间 ${clock(t.checked_in_at)}`;
  // The patient's own page: the hospital's published address if it has
  // one, else this server's.
  const qr = qrcode(0, "M");
  qr.addData(t.patient_url || new URL(t.patient_link, location.origin).href);
  qr.make();
  $("s-qr").innerHTML = qr.createSvgTag({ cellSize: 4, margin: 16, scalable: true });
}

let busy = false;
async function submit(ev) {
  ev?.preventDefault();
  const visit = $("visit").value.trim();
  if (!visit || busy) return;
  busy = true;
  const r = await call("POST", "/check-in", { visit_no: visit });
  busy = false;
  if (r.status === 401) { show("denied"); return; }
  if (r.ok) {
    fillTicket(r.body);
    show("result");
    if (r.body.created) {
      document.body.dataset.printed = "pending";
      // Chromium with --kiosk-printing prints at once, without a dialog.
      setTimeout(() => { window.print(); document.body.dataset.printed = "done"; }, 50);
    }
    return;
  }
  $("refusal-text").textContent = r.body?.error?.message || "无法报到。";
  show("refusal");
}

function keypad() {
  const pad = $("keypad");
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "字母", "0", "删除"];
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-".split("");
  let mode = "digits";
  function render() {
    const list = mode === "digits" ? keys : [...letters, "数字", "删除"];
    pad.dataset.mode = mode;
    pad.innerHTML = "";
    for (const k of list) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = k;
      b.dataset.key = k;
      b.addEventListener("click", () => {
        const field = $("visit");
        if (k === "删除") field.value = field.value.slice(0, -1);
        else if (k === "字母") { mode = "letters"; render(); }
        else if (k === "数字") { mode = "digits"; render(); }
        else field.value += k;
        field.focus();
      });
      pad.append(b);
    }
  }
  render();
}

async function start() {
  if (!token) { show("denied"); return; }
  const r = await call("GET", "");
  if (r.status === 401 || r.status === 404) { show("denied"); return; }
  if (r.ok) {
    $("hospital").textContent = r.body.hospital;
    $("kiosk-name").textContent = r.body.name;
    $("areas").textContent = r.body.all_areas ? "本机可办理全院各科室报到" : `本机办理：${r.body.departments.join("、")}`;
  }
  keypad();
  show("scan");
}

$("form").addEventListener("submit", submit);
$("done").addEventListener("click", () => show("scan"));
$("back").addEventListener("click", () => show("scan"));
// The scanner types into the field wherever the focus was.
document.addEventListener("keydown", (e) => {
  if (document.body.dataset.state !== "scan" && e.key.length === 1) show("scan");
  if (document.activeElement !== $("visit") && document.body.dataset.state === "scan") $("visit").focus();
});
window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).get("token")) location.reload();
});
start();
