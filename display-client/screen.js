// Triage screen client: one WebSocket per screen, a full snapshot first, then
// frames with seq+1. A gap asks for a resync; a lost connection keeps the last
// state under an offline mark and reconnects with jittered backoff.
import { Announcer } from "/display/voice.js";
import { renderOverview, renderDoor, CALL_FLASH_MS } from "/display/render.js";

const code = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const state = { screen: null, rooms: new Map(), order: [], recent: [], notices: [], seq: -1, called: new Map() };
const announcer = new Announcer();
let ws = null;
let attempt = 0;
let lastHeard = Date.now();
let reconnectTimer = null;
let restarting = false;
let refused = false;

// The screen's device token: given once in the address (#token=…), then
// kept by this browser so the screen starts again after a power cut. The
// address bar is cleaned so the token is not left on show.
const TOKEN_KEY = `triage-screen-token:${code}`;
function deviceToken() {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromUrl) {
    try { localStorage.setItem(TOKEN_KEY, fromUrl); } catch (_) { /* private mode: keep it in memory */ }
    history.replaceState(null, "", location.pathname);
    return fromUrl;
  }
  try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (_) { return ""; }
}
const token = deviceToken();
// A new token given in the address while the page is open: start again with it.
window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).get("token")) location.reload();
});

const $ = (id) => document.getElementById(id);

function setOnline(online) {
  document.body.dataset.online = online ? "true" : "false";
  $("offline").hidden = online;
  $("conn").textContent = online ? "● 在线" : "● 离线";
  $("conn").className = online ? "conn ok" : "conn bad";
}

const UNAUTHORIZED_TEXT = "本屏幕未授权，暂停显示";
// A screen whose token is refused (never given, revoked, replaced) shows no
// patient at all: the last state is wiped, the patients read where to look
// instead, and one small line tells staff what to do.
function showUnauthorized() {
  announcer.silence();
  state.rooms = new Map();
  state.recent = [];
  state.notices = [];
  state.called = new Map();
  const main = $("main");
  main.className = "unauthorized";
  main.innerHTML = `<p class="for-patients">本屏幕暂停显示，请留意其他叫号屏，或到分诊台咨询</p>
    <p class="for-staff">工作人员：本屏（${escapeHtml(code)}）的设备令牌无效或已更换，请在“屏幕管理”中发放新令牌，并在本屏打开新地址</p>`;
  $("notices").innerHTML = "";
  $("ticker").textContent = "";
}
const OFFLINE_TEXT = "与服务器的连接已断开，以下为最后状态，正在自动重连…";
function resetOfflineText() {
  $("offline").querySelector("span").textContent = OFFLINE_TEXT;
}

function render() {
  // A refused screen shows no patient: nothing redraws over the wipe.
  if (!state.screen || refused) return;
  document.title = state.screen.title;
  $("title").textContent = state.screen.title;
  document.body.dataset.kind = state.screen.kind;
  const rooms = state.order.map((c) => state.rooms.get(c)).filter(Boolean);
  const main = $("main");
  if (state.screen.kind === "door") {
    renderDoor(main, rooms[0], state.called);
  } else {
    renderOverview(main, rooms, state.called);
  }
  renderNotices();
  $("ticker").textContent = state.recent.length
    ? "最近叫号：" + state.recent.map((c) => `${c.ticket_no} ${c.masked_name} → ${c.room_name}`).join("　")
    : "";
}

// Everything a screen shows must be seen: when the rooms do not fit in the
// space left (a notice band, many rooms, a small screen), main's type is
// made smaller, in steps, down to half; never a list cut off or covered.
function fitMain() {
  const main = $("main");
  if (main.className === "unauthorized") return;
  let scale = 1;
  main.style.fontSize = "";
  while (main.scrollHeight > main.clientHeight + 1 && scale > 0.5) {
    scale -= 0.05;
    main.style.fontSize = `${scale}em`;
  }
  main.dataset.scale = scale.toFixed(2);
}

function renderNotices() {
  // The server sends a notice at its start and withdraws it at its end;
  // this only keeps the times while the server is out of reach.
  const now = Date.now() + (state.offset || 0);
  const live = state.notices.filter((n) => (!n.starts_at || Date.parse(n.starts_at) <= now)
    && (!n.expires_at || Date.parse(n.expires_at) > now));
  const box = $("notices");
  box.hidden = live.length === 0;
  box.innerHTML = live.map((n) => `<p class="notice ${n.level === "urgent" ? "urgent" : ""}" data-notice="${n.id}">${escapeHtml(n.text)}</p>`).join("");
  fitMain();
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function onFrame(msg) {
  lastHeard = Date.now();
  if (msg.type === "pong") return;
  if (msg.type === "unauthorized") {
    refused = true;
    showUnauthorized();
    return;
  }
  if (msg.type === "restarting") {
    // The server restarts on purpose: keep the last state, say so, and
    // reconnect soon (the socket closes next).
    restarting = true;
    $("offline").querySelector("span").textContent = msg.message || "系统重启中，稍候自动恢复";
    attempt = 0;
    return;
  }
  if (msg.type === "snapshot") {
    state.screen = msg.screen;
    state.order = msg.screen.rooms;
    state.rooms = new Map(msg.rooms.map((r) => [r.code, r]));
    state.notices = msg.notices || [];
    // The server's clock, to keep notice times while offline (a kiosk's own
    // clock may be off).
    if (msg.server_time) state.offset = Date.parse(msg.server_time) - Date.now();
    state.seq = msg.seq;
    setOnline(true);
    render();
    return;
  }
  if (msg.seq !== state.seq + 1) {
    // A frame was missed: ask for a fresh snapshot and ignore this one.
    ws.send(JSON.stringify({ type: "resync" }));
    return;
  }
  state.seq = msg.seq;
  if (msg.type === "room") {
    state.rooms.set(msg.room.code, msg.room);
    render();
  } else if (msg.type === "rooms") {
    for (const room of msg.rooms) state.rooms.set(room.code, room);
    render();
  } else if (msg.type === "notice") {
    state.notices = [...state.notices.filter((n) => n.id !== msg.notice.id), msg.notice];
    renderNotices();
  } else if (msg.type === "day_closed") {
    // The day ended (日终): yesterday's calls leave the ticker.
    state.recent = [];
    render();
  } else if (msg.type === "notice_withdrawn") {
    state.notices = state.notices.filter((n) => n.id !== msg.notice_id);
    renderNotices();
  } else if (msg.type === "call") {
    state.recent = [msg.call, ...state.recent].slice(0, 5);
    // The called number flashes for CALL_FLASH_MS (a recall starts it again).
    state.called.set(msg.call.room_code, { ticket_no: msg.call.ticket_no, at: performance.now() });
    render();
    setTimeout(render, CALL_FLASH_MS + 50);
    if (msg.call.repeat > 0) announcer.enqueue(msg.call.text, msg.call.repeat);
  }
}

window.addEventListener("resize", fitMain);

function connect() {
  clearTimeout(reconnectTimer);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/ws/screens/${encodeURIComponent(code)}`);
  ws.onopen = () => {
    attempt = 0; lastHeard = Date.now(); restarting = false; refused = false; resetOfflineText();
    ws.send(JSON.stringify({ type: "hello", token }));
  };
  ws.onmessage = (ev) => {
    try { onFrame(JSON.parse(ev.data)); } catch (e) { console.error("bad frame", e); }
  };
  ws.onclose = () => {
    setOnline(false);
    if (refused) {
      // Not a registered device (or its token was revoked): say so, and try
      // again now and then in case the token is renewed.
      $("offline").querySelector("span").textContent = UNAUTHORIZED_TEXT;
      showUnauthorized();
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connect, 30000);
      return;
    }
    scheduleReconnect();
  };
  ws.onerror = () => { try { ws.close(); } catch (_) { /* closing anyway */ } };
}

function scheduleReconnect() {
  clearTimeout(reconnectTimer);
  const base = Math.min(15000, 500 * 2 ** attempt);
  const delay = base * (0.7 + Math.random() * 0.6);
  attempt += 1;
  reconnectTimer = setTimeout(connect, delay);
}

// Keep-alive: a connection silent for 25 s (no frames, no pongs) is dead.
setInterval(() => {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "ping" }));
    if (Date.now() - lastHeard > 25000) ws.close();
  }
}, 10000);

setInterval(() => {
  const d = new Date();
  $("clock").textContent = d.toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  if (state.notices.length) renderNotices(); // drops expired notices
}, 1000);

$("enable-audio").onclick = () => { announcer.unlock(); $("enable-audio").hidden = true; };
announcer.onBlocked = () => { $("enable-audio").hidden = false; };

// Test and diagnostics hook: what the screen holds right now.
window.__triage = { state, announcer, get restarting() { return restarting; } };
connect();
