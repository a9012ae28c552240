// Rendering of the two screen kinds. Names arrive masked from the server;
// nothing here ever sees a full name.

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function badge(priority) {
  return priority ? `<span class="badge">优先</span>` : "";
}

function nextList(room) {
  if (!room.next.length) return "";
  return room.next.map((e) => `<li><b>${esc(e.ticket_no)}</b> ${esc(e.masked_name)} ${badge(e.priority)}</li>`).join("");
}

// Two-stage waiting (二级候诊): the room's own short list and its cap.
function shortList(room) {
  return room.waiting_cap > 0 ? ` <small class="short-list">门口候诊 ${room.short_list}/${room.waiting_cap}</small>` : "";
}

// Beijing time of day (HH:MM) of an instant the server sends.
const hhmm = (t) => new Date(t).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });

// Today's appointments booked for the room, not checked in yet (door
// screens configured with `appointments`): slot and masked name only.
function appointmentList(room) {
  const list = room.appointments || [];
  if (!list.length) return "";
  return `<div class="appointments"><div class="label">今日预约 <small>请到分诊台或自助机签到</small></div><ul>${list
    .map((a) => `<li><span class="slot">${esc(hhmm(a.start))}-${esc(hhmm(a.end))}</span> ${esc(a.masked_name)}</li>`)
    .join("")}</ul></div>`;
}

// HIS's duty status: a doctor not seeing patients (停诊).
function offDuty(d) {
  return d && d.on_duty === false ? ` <span class="off-duty">停诊</span>` : "";
}

// Who is next — or, while the room cannot call (stopped, paused, its
// doctor away), what its waiting patients should do instead: the server
// sends no list then, and one sentence (`guidance`).
function waitingPart(room, label, count) {
  if (room.guidance) {
    return `<div class="label">候诊 <small>${count}</small></div><p class="guidance">${esc(room.guidance)}</p>`;
  }
  return `<div class="label">${label}${shortList(room)} <small>${count}</small></div>${room.next.length ? `<ol class="next">${nextList(room)}</ol>` : `<div class="next empty">暂无候诊</div>`}`;
}

// Green only while the room can call: a paused or stopped room, or one
// whose doctor is away or signed out (it carries guidance), is not.
// A call (叫号) you cannot miss: the called number itself flashes once a
// second (WCAG 2.3.1 allows at most 3) for CALL_FLASH_MS, on the hall and
// on the door. The flash's phase is kept across re-renders (a negative
// animation delay from the call's instant), so an update in the meantime
// neither cancels it nor restarts it faster. With prefers-reduced-motion
// the number is highlighted steadily instead (screen.css).
export const CALL_FLASH_MS = 10000;

/** The class and style of a room's current number while its call is fresh. */
function calledAttrs(room, called, now) {
  const c = called && called.get(room.code);
  if (!c || !room.current || room.current.ticket_no !== c.ticket_no) return "";
  const elapsed = now - c.at;
  if (elapsed < 0 || elapsed >= CALL_FLASH_MS) return "";
  return ` called" style="animation-delay:-${Math.round(elapsed)}ms`;
}

function statusClass(room) {
  if (room.status !== "open") return ` status-${room.status}`;
  return room.guidance ? " status-paused" : "";
}

export function renderOverview(main, rooms, called = null, now = performance.now()) {
  main.className = "overview";
  main.innerHTML = rooms.map((room) => {
    const doc = (room.doctor ? `${esc(room.doctor.name)} <small>${esc(room.doctor.title)}</small>${offDuty(room.doctor)}` : "")
      + (room.seat_notice ? ` <small class="seat-notice">${esc(room.seat_notice)}</small>` : "");
    const cur = room.current
      ? `<div class="now"><span class="ticket${calledAttrs(room, called, now)}">${esc(room.current.ticket_no)}</span> <span class="name">${esc(room.current.masked_name)}</span> ${badge(room.current.priority)}</div>`
      : `<div class="now idle">${esc(room.status_label)}</div>`;
    return `<section class="room${statusClass(room)}" data-room="${esc(room.code)}">
      <header><h2>${esc(room.name)}</h2><span class="doctor">${doc}</span><span class="status">${esc(room.status_label)}</span></header>
      <div class="label">正在就诊</div>${cur}
      ${waitingPart(room, "候诊", `共 ${room.waiting} 人`)}
    </section>`;
  }).join("");
}

export function renderDoor(main, room, called = null, now = performance.now()) {
  main.className = "door";
  if (!room) { main.innerHTML = `<p class="empty">未配置诊室</p>`; return; }
  const d = room.doctor;
  const photo = d && d.photo_url
    ? `<img class="photo" src="${esc(d.photo_url)}" alt="">`
    : `<div class="photo placeholder">${esc(d ? d.name.slice(0, 1) : "医")}</div>`;
  const cur = room.current
    ? `<div class="ticket"><span class="number${calledAttrs(room, called, now)}">${esc(room.current.ticket_no)}</span></div><div class="name">${esc(room.current.masked_name)} ${badge(room.current.priority)}</div>`
    : `<div class="idle">${esc(room.status_label)}</div>`;
  main.innerHTML = `<section class="doctor-card${statusClass(room)}" data-room="${esc(room.code)}">
      ${photo}
      <div class="who"><h2>${esc(d ? d.name : "")}${offDuty(d)}</h2><div class="title">${esc(d ? d.title : "")}</div>
      ${room.seat_notice ? `<p class="seat-notice">${esc(room.seat_notice)}</p>` : ""}
      <p class="intro">${esc(d ? d.introduction : "")}</p></div>
    </section>
    <section class="calling${statusClass(room)}" data-room="${esc(room.code)}"><div class="label">${esc(room.name)} · 正在就诊 <span class="status">${esc(room.status_label)}</span></div>${cur}</section>
    <section class="waiting">${waitingPart(room, room.waiting_cap > 0 ? "请以下患者到门口候诊" : "请以下患者准备", `共 ${room.waiting} 人候诊`)}${appointmentList(room)}</section>`;
}
