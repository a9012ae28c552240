// The doctor caller (医生叫号): a small window beside the HIS workstation.
// The doctor's room (or one of his rooms), the patient called now with a
// clear reminder when they belong to a special group (特殊人群提醒), the next
// few patients with their tags and why they stand there, and the room
// commands with keyboard shortcuts shown on the buttons; the doctor signs in
// to the room (签到坐诊), steps away (暂离) or signs out (签退). A doctor sees and
// works only his own rooms (the server refuses any other with 403).
import { html, useState, useEffect, useRef, roomTone } from "./ui.js";
import { api } from "./api.js";
import { Live } from "./live.js";
import { mountStaffPage } from "./login.js";
import { TransferDialog } from "./transfer.js";

// key → [action, label]; letters work when no field has the focus.
const COMMANDS = [
  ["n", "call-next", "叫下一位"],
  ["r", "recall", "重呼"],
  ["s", "skip", "过号"],
  ["f", "finish", "诊结"],
  ["e", "send-to-exam", "检查"],
];
const NEXT_SHOWN = 5;
// Who sits in the room (医生坐诊): key → action.
const SEAT_KEYS = [["i", "sign-in"], ["b", "break"], ["o", "sign-out"]];
const SEAT_LABELS = { "sign-in": "签到坐诊", break: "暂离", "sign-out": "签退" };
// A break (暂离) refuses calls (doctor_on_break) until 继续坐诊 (sign-in).
const SEAT_STATE = { configured: "默认医生", scheduled: "排班医生，未签到", in: "已签到坐诊", break: "暂离", out: "无人坐诊" };

function clock(d) {
  return d ? d.toLocaleTimeString("zh-CN", { hour12: false }) : "—";
}

/** The next patients of a room: its own short list first, then the
 * callable patients of the queues it calls from, in calling order. */
function nextOf(room, queues) {
  const mine = [];
  const general = [];
  for (const code of room.queues) {
    const q = queues.get(code);
    if (!q) continue;
    for (const e of q.entries) {
      if (e.room === room.code) mine.push({ ...e, queue: q.name });
      // Patients booked for another room (预约到诊室) are not this room's.
      else if (!e.room && e.callable && (!e.booked_room || e.booked_room === room.code)) general.push({ ...e, queue: q.name });
    }
  }
  return [...mine, ...general].slice(0, NEXT_SHOWN);
}

function Reminder({ tags }) {
  if (!tags || tags.length === 0) return null;
  return html`<div class="reminder" role="alert">特殊人群提醒：<strong>${tags.join("、")}</strong></div>`;
}

function Caller({ session, onLogout }) {
  const [live, setLive] = useState(null);
  const [chosen, setChosen] = useState(null);
  const [message, setMessage] = useState({ text: "", error: false });
  const [busy, setBusy] = useState(false);
  const [transfer, setTransfer] = useState(null);
  // The doctor's schedule today (出诊排班): the rooms of the session in
  // force (or starting soon) are offered first for signing in.
  const [schedule, setSchedule] = useState(null);
  useEffect(() => {
    const channel = new Live("", setLive);
    // Read again every minute: the session in force moves on.
    const read = () => api("GET", "/schedules?doctor=me").then((r) => { if (r.ok) setSchedule(r.body); });
    const timer = session.staff.role === "doctor" ? setInterval(read, 60000) : null;
    if (timer) read();
    return () => { channel.close(); if (timer) clearInterval(timer); };
  }, []);
  useEffect(() => { if (live?.signedOut) onLogout(); }, [live?.signedOut]);
  const rooms = live ? [...live.rooms.values()] : [];
  const now = schedule?.session_now || schedule?.session_next || schedule?.sessions[0]?.code;
  const mine = (schedule?.entries || []).filter((e) => e.status === "active");
  const scheduledNow = new Set(mine.filter((e) => e.session === now).map((e) => e.room_code));
  const room = rooms.find((r) => r.code === chosen) || rooms.find((r) => scheduledNow.has(r.code)) || rooms[0];
  // The room's status as last known, from its frames and from the answers
  // to this page's commands (an answer can come before the frame): P twice
  // in a row pauses, then resumes.
  const status = useRef(room?.status);
  useEffect(() => { status.current = room?.status; }, [room?.code, room?.status]);

  // One command at a time; a key pressed while one is on its way runs
  // right after it (the screen may show the result before the answer).
  const pending = useRef(null);
  const running = useRef(false);
  async function command(wanted) {
    if (!room) return;
    if (running.current) { pending.current = wanted; return; }
    // Pause or resume by what the room is when the command runs.
    const action = wanted === "toggle-pause" ? (status.current === "open" ? "pause" : "resume") : wanted;
    running.current = true;
    setBusy(true);
    const r = action === "break"
      ? await api("POST", `/rooms/${room.code}/sign-out`, { break: true })
      : await api("POST", `/rooms/${room.code}/${action}`);
    running.current = false;
    if (r.ok && r.body?.status) status.current = r.body.status;
    setBusy(false);
    const queued = pending.current;
    pending.current = null;
    if (queued) setTimeout(() => command(queued), 0);
    const label = COMMANDS.find((c) => c[1] === action)?.[2] || { pause: "暂停", resume: "开诊", ...SEAT_LABELS }[action] || action;
    if (r.ok && SEAT_LABELS[action]) {
      setMessage({ text: `${label}：${room.name}`, error: false });
    } else if (r.ok) {
      const cur = r.body.current;
      setMessage({ text: cur ? `${label}：${cur.ticket_no}` : `${label}：完成`, error: false });
    } else {
      setMessage({ text: `${label}：${r.message}`, error: true });
    }
  }
  useEffect(() => {
    const keys = (e) => {
      if (transfer || e.ctrlKey || e.altKey || e.metaKey) return;
      if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName)) return;
      const k = e.key.toLowerCase();
      const c = COMMANDS.find((x) => x[0] === k);
      if (c) { e.preventDefault(); command(c[1]); return; }
      if (k === "p" && room) { e.preventDefault(); command("toggle-pause"); }
      const seat = SEAT_KEYS.find((x) => x[0] === k);
      if (seat && room) { e.preventDefault(); command(seat[1]); }
      if (k === "t" && room?.current) { e.preventDefault(); setTransfer({ ...room.current, room: room.code }); }
    };
    addEventListener("keydown", keys);
    return () => removeEventListener("keydown", keys);
  });

  const next = room && live ? nextOf(room, live.queues) : [];
  return html`
    <header class="bar">
      <h1>医生叫号</h1>
      <span class=${live?.online ? "online" : "offline"} role="status">
        ${live?.online ? "在线" : `离线 — ${clock(live?.asOf)} 的状态`}
      </span>
      <a class="button" href="/stats" target="_blank" rel="noopener">工作量统计</a>
      <span class="who">${session.staff.name}</span>
      <button onClick=${async () => { await api("DELETE", "/session"); onLogout(); }}>退出</button>
    </header>
    ${!live?.loaded ? html`<p class="loading">正在连接…</p>` : !room ? html`<p class="empty">您的账号没有分配诊室，请联系管理员。</p>` : html`
    <main class="caller">
      <div class="room-line">
        ${rooms.length > 1
          ? html`<select aria-label="诊室" value=${room.code} onChange=${(e) => setChosen(e.target.value)}>
              ${rooms.map((r) => html`<option value=${r.code}>${r.name}${scheduledNow.has(r.code) ? "（本时段排班）" : ""}</option>`)}</select>`
          : html`<strong class="room-name">${room.name}</strong>`}
        <span class=${`status status-${roomTone(room)}`}>${room.status_label}</span>
      </div>
      <div class="seat-line" data-seat=${room.seat}>
        <span>坐诊：<strong>${room.doctor_name || room.doctor_code || "—"}</strong>（${SEAT_STATE[room.seat] || room.seat}）</span>
        <button class=${room.seat === "break" ? "primary" : ""} onClick=${() => command("sign-in")}>
          ${room.seat === "break" ? "继续坐诊" : "签到坐诊"} <kbd>I</kbd></button>
        <button disabled=${!room.doctor_code} onClick=${() => command("break")}>暂离 <kbd>B</kbd></button>
        <button disabled=${!room.doctor_code} onClick=${() => command("sign-out")}>签退 <kbd>O</kbd></button>
      </div>
      ${room.seat === "break" && html`<p class="break-notice" role="status">您已暂离：叫号已暂停，门口屏请患者稍候。回来后按 <kbd>I</kbd>（继续坐诊）再叫号。</p>`}
      ${schedule && html`<p class="schedule-line" aria-label="今日排班">今日排班：${mine.length === 0 ? "无（按默认诊室）"
        : mine.map((e) => `${e.session_name} ${e.room_name}`).join("；")}</p>`}
      <section class="current" aria-label="当前患者">
        ${room.current ? html`
          <div class="ticket">${room.current.ticket_no}</div>
          <div class="name">${room.current.name}</div>
          <div class="meta">第 ${room.current.call_count} 次呼叫${room.current.misses > 0 ? ` · 已过号 ${room.current.misses} 次` : ""}</div>
          <${Reminder} tags=${room.current.tags} />`
        : html`<div class="idle">当前无患者</div>`}
      </section>
      <div class="commands">
        ${COMMANDS.map(([key, action, label]) => html`
          <button class=${action === "call-next" ? "primary" : ""} disabled=${busy} onClick=${() => command(action)}>
            ${label} <kbd>${key.toUpperCase()}</kbd></button>`)}
        <button onClick=${() => command("toggle-pause")}>
          ${room.status === "open" ? "暂停" : "开诊"} <kbd>P</kbd></button>
        <button disabled=${!room.current} onClick=${() => setTransfer({ ...room.current, room: room.code })}>转诊 <kbd>T</kbd></button>
      </div>
      <p class=${message.error ? "error" : "ok"} role="status">${message.text}</p>
      <section class="next" aria-label="候诊">
        <h2>候诊（前 ${NEXT_SHOWN} 位）</h2>
        ${next.length === 0 ? html`<p class="empty">暂无候诊患者</p>` : html`<ol>
          ${next.map((e) => html`<li key=${e.visit_no} data-visit=${e.visit_no}>
            <span class="ticket">${e.ticket_no}</span> <span class="name">${e.name}</span>
            ${e.kind_label && html`<span class="tag">${e.kind_label}</span>`}
            ${e.tags.map((t) => html`<span class="tag group">${t}</span>`)}
            <div class="reason">${e.placement_reason}</div></li>`)}
        </ol>`}
      </section>
    </main>`}
    ${transfer && html`<${TransferDialog} visit=${transfer} onClose=${() => setTransfer(null)}
      onDone=${(t) => { setTransfer(null); setMessage({ text: t, error: false }); }} />`}`;
}

mountStaffPage("医生叫号登录", Caller);
