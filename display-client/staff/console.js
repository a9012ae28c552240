// The nurse console (分诊台): every queue and room of the nurse's departments,
// live; check-in by visit number or card scan (the field keeps the focus, so
// a keyboard-wedge scanner just types and presses Enter); hold, release,
// pin, move, transfer, special groups (特殊人群标记) and call out of order
// with a reason; rooms opened, paused and closed; notices to screens
// (信息发布). Full names are shown here (staff in scope only).
//
// Keyboard: F2 (or /) jumps to the check-in field, Tab walks the buttons,
// Enter confirms a dialog, Esc closes it.
import { html, useState, useEffect, useRef, roomTone } from "./ui.js";
import { api } from "./api.js";
import qrcode from "../vendor/qrcode-generator-2.0.4/qrcode.mjs";
import { Live } from "./live.js";
import { mountStaffPage } from "./login.js";
import { NoticesDialog } from "./notices.js";
import { SchedulesDialog } from "./schedules.js";
import { FaultsDialog, useOpenFaults } from "./faults.js";
import { TargetSelect, transferTargets, transferBody, placeOf, firstChoice } from "./transfer.js";

const REASONS = {
  hold: ["患者去做检查", "患者暂时离开", "等待检查结果"],
  release: ["患者已返回", "检查完成"],
  pin: ["急诊转来", "行动不便", "医生要求"],
  move: ["行动不便", "医生要求", "患者要求"],
  call: ["急诊转来", "医生要求"],
  transfer: ["需专科会诊", "挂错科室", "医生要求"],
  special: ["现场核实", "出示证件", "患者申请"],
  "stop-clinic": ["医生临时外出", "医生病假", "医院安排"],
  requeue: ["患者已返回", "检查完成回诊"],
  pause: ["医生临时离开", "处理急诊"],
  close: ["医生停诊", "医生临时外出"],
};

const ACTION_NAMES = {
  hold: "挂起", release: "恢复", pin: "置顶", move: "调整顺序", call: "指定叫号",
  transfer: "转诊", pause: "暂停叫号", resume: "开诊", close: "停诊", special: "特殊人群标记", requeue: "召回",
  seat: "医生签到", "stop-clinic": "医生停诊",
};

/** The special groups (特殊人群), codes of the API with their labels. */
const GROUPS = [
  ["pregnant", "孕妇"], ["disabled", "残疾人"], ["military", "军人"], ["elderly", "高龄老人"], ["child", "幼儿"],
];

function minutesSince(iso, offset) {
  const ms = Date.now() + offset - Date.parse(iso);
  return Math.max(0, Math.floor(ms / 60000));
}

const CSV_COLUMNS = ["队列", "序号", "票号", "姓名", "标记", "特殊人群", "排序原因", "状态", "签到时间"];

/** The waiting lists as CSV (UTF-8 with a byte-order mark: Excel shows
 * Chinese), made from the page's last state — also while the server is
 * down. */
function waitingCsv(queues) {
  const cell = (v) => `"${String(v ?? "").replaceAll('"', '""')}"`;
  const lines = [CSV_COLUMNS.map(cell).join(",")];
  for (const q of queues) {
    for (const e of q.entries) {
      const marks = [e.kind_label, e.pinned ? "置顶" : ""].filter(Boolean).join(" ");
      const state = e.held ? "挂起" : e.room ? `已分诊到${e.room}` : e.callable ? "候诊" : "未到时段";
      const at = new Date(e.checked_in_at).toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit" });
      lines.push([q.name, e.position, e.ticket_no, e.name, marks, e.tags.join("、"), e.placement_reason, state, at].map(cell).join(","));
    }
  }
  return "\ufeff" + lines.join("\r\n") + "\r\n";
}

function stamp() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Prints the lists: A4, or the 80 mm thermal width (热敏纸). */
function printLists(kind) {
  document.body.dataset.print = kind;
  addEventListener("afterprint", () => { delete document.body.dataset.print; }, { once: true });
  print();
}

function clock(d) {
  return d ? d.toLocaleTimeString("zh-CN", { hour12: false }) : "—";
}

/** The groups the queue's rules give by age, beyond the registration's. */
function ageGroups(e) {
  const registered = (e.registered || []).map((c) => GROUPS.find(([g]) => g === c)?.[1]);
  return e.tags.filter((t) => !registered.includes(t));
}

/** The reason dialog of one action (a choice of common reasons or free text). */
function ActionDialog({ action, target, rooms, departments = [], nameOf = () => "", onClose, onDone }) {
  const [reason, setReason] = useState(REASONS[action.kind]?.[0] || "");
  const [free, setFree] = useState("");
  const [position, setPosition] = useState(1);
  const [room, setRoom] = useState(rooms[0]?.code || "");
  // A stopped doctor's patients go to the department's shared queue unless
  // the nurse keeps them for him: never left callable nowhere unawares.
  const [redistribute, setRedistribute] = useState(action.kind === "stop-clinic");
  const [groups, setGroups] = useState(target.registered || []);
  const [doctors, setDoctors] = useState([]);
  const [doctor, setDoctor] = useState("");
  const [affected, setAffected] = useState(null);
  const [sessions, setSessions] = useState([]);
  const [session, setSession] = useState("");
  const [targets, setTargets] = useState({ rooms: [], queues: [] });
  const [choice, setChoice] = useState("");
  const submitButton = useRef(null);
  // The answer replaces the form's fields: Enter (the button) closes it.
  useEffect(() => { if (affected) submitButton.current?.focus(); }, [affected]);
  useEffect(() => {
    if (action.kind !== "stop-clinic") return;
    // Today's sessions not over yet: the one in force and those after it.
    api("GET", "/schedules").then((r) => {
      if (!r.ok) return;
      const all = r.body.sessions;
      // The session in progress, else the next one; after the last: none.
      const from = all.findIndex((s) => s.code === (r.body.session_now || r.body.session_next));
      setSessions(from < 0 ? [] : all.slice(from));
    });
  }, []);
  useEffect(() => {
    if (action.kind !== "transfer") return;
    // Where the patient may go, with each room's state now.
    transferTargets({ exceptRoom: target.room, ownDepartments: departments }).then((t) => {
      setTargets(t);
      if (t.error) setError(t.error);
      setChoice(firstChoice(t));
    });
  }, []);
  useEffect(() => {
    if (action.kind !== "seat") return;
    api("GET", "/doctors").then((r) => {
      if (!r.ok) return;
      const mine = r.body.doctors.filter((d) => d.department_code === target.department_code);
      setDoctors(mine);
      setDoctor(mine[0]?.code || "");
    });
  }, []);
  const [error, setError] = useState("");
  const first = useRef(null);
  useEffect(() => {
    first.current?.focus();
    const esc = (e) => { if (e.key === "Escape") onClose(); };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  async function submit(ev) {
    ev.preventDefault();
    if (affected) {
      onDone(`医生停诊：${target.doctor_name || target.doctor_code}，受影响患者 ${affected.affected.length} 人`);
      return;
    }
    const why = free.trim() || reason;
    const k = action.kind;
    let r;
    if (["hold", "release", "pin"].includes(k)) r = await api("POST", `/registrations/${target.visit_no}/${k}`, { reason: why });
    else if (k === "move") r = await api("POST", `/registrations/${target.visit_no}/move`, { position: Number(position), reason: why });
    else if (k === "call") r = await api("POST", `/rooms/${room}/call/${target.visit_no}`, { reason: why });
    else if (k === "requeue") r = await api("POST", `/registrations/${target.visit_no}/requeue`, { reason: why });
    else if (k === "seat") r = await api("POST", `/rooms/${target.code}/sign-in`, { doctor_code: doctor });
    else if (k === "stop-clinic") {
      r = await api("POST", `/doctors/${target.doctor_code}/stop-clinic`,
        { reason: why, waiting: redistribute ? "redistribute" : "keep", session: session || undefined });
      if (r.ok) { setAffected(r.body); return; }
    }
    else if (k === "special") r = await api("PUT", `/registrations/${target.visit_no}/special`, { special: groups, was: target.registered || [], reason: why });
    else if (k === "transfer") {
      if (!choice) { setError("没有可转入的诊室：各诊室都已停诊。"); return; }
      r = await api("POST", `/visits/${target.visit_no}/transfer`, transferBody(choice, why));
      if (r.ok) { onDone(`转诊：${target.ticket_no || target.name} → ${placeOf(targets, choice)}`); return; }
    }
    else if (k === "close") r = await api("POST", `/rooms/${target.code}/close`, { waiting: redistribute ? "redistribute" : "keep", reason: why });
    else r = await api("POST", `/rooms/${target.code}/${k}`);
    if (r.ok) onDone(`${ACTION_NAMES[k]}：${target.ticket_no || target.name} 已完成`);
    else setError(r.message);
  }
  const who = target.ticket_no ? `${target.ticket_no} ${target.name}` : target.name;
  return html`
    <div class="backdrop">
      <form class="dialog" role="dialog" aria-modal="true" aria-label=${ACTION_NAMES[action.kind]} onSubmit=${submit}
        onKeyDown=${(e) => { if (e.key === "Enter" && (e.target.tagName === "SELECT" || e.target.type === "checkbox")) { e.preventDefault(); e.currentTarget.requestSubmit(); } }}>
        <h2>${ACTION_NAMES[action.kind]} · ${who}</h2>
        ${action.kind === "move" && html`<label>移到第几位<input ref=${first} type="number" min="1" max="9999"
          value=${position} onInput=${(e) => setPosition(e.target.value)} required /></label>`}
        ${action.kind === "call" && html`<label>叫到诊室
          <select ref=${first} value=${room} onChange=${(e) => setRoom(e.target.value)}>
            ${rooms.map((r) => html`<option value=${r.code}>${r.name}（${r.status_label}）</option>`)}
          </select></label>`}
        ${action.kind === "transfer" && html`<label>转到
          <${TargetSelect} targets=${targets} value=${choice} onChange=${setChoice} selectRef=${first} /></label>`}
        ${action.kind === "special" && html`<fieldset class="groups"><legend>特殊人群（勾选即优先，取消勾选即取消）</legend>
          ${GROUPS.map(([code, label], i) => html`<label class="check"><input type="checkbox" ref=${i === 0 ? first : null}
            checked=${groups.includes(code)} data-group=${code}
            onChange=${(e) => setGroups(e.target.checked ? [...groups, code] : groups.filter((g) => g !== code))} />${label}</label>`)}
          <p class="hint">高龄老人、幼儿也由队列规则按出生日期判定：符合年龄的患者即使取消勾选，仍按年龄优先。
            ${ageGroups(target).length > 0 && `当前按年龄：${ageGroups(target).join("、")}。`}</p>
          </fieldset>`}
        ${action.kind === "seat" && html`<label>坐诊医生<select ref=${first} value=${doctor} onChange=${(e) => setDoctor(e.target.value)}>
          ${doctors.map((d) => html`<option value=${d.code}>${d.name}（${d.title}）</option>`)}</select></label>`}
        ${action.kind === "stop-clinic" && html`<p>${target.doctor_name || target.doctor_code} 医生停诊：所在诊室停诊，该医生的排班标记为停诊，候诊屏显示停诊通知。</p>
          <label>停诊时段<select ref=${first} name="session" value=${session} onChange=${(e) => setSession(e.target.value)}>
            <option value="">今日余下全部时段</option>
            ${sessions.map((s) => html`<option value=${s.code}>今日${s.name}</option>`)}</select></label>
          <fieldset class="waiting-choice"><legend>该医生的候诊患者</legend>
            <label class="check"><input type="radio" name="stop-waiting" value="redistribute" checked=${redistribute}
              onChange=${() => setRedistribute(true)} />分到科室普通号，由其他医生按原顺序接诊</label>
            <label class="check"><input type="radio" name="stop-waiting" value="keep" checked=${!redistribute}
              onChange=${() => setRedistribute(false)} />保留在该医生名下，暂不叫号（医生恢复后再叫，或逐个转诊）</label>
          </fieldset>`}
        ${affected && html`<section class="affected" aria-label="受影响患者">
          <p>已停诊：${affected.rooms_closed.join("、") || "（医生不在诊室）"}；${affected.redistributed > 0
            ? `已分到科室普通号 ${affected.redistributed} 人，由其他医生接诊。`
            : affected.affected.length > 0 ? "患者保留在该医生名下，暂不叫号：请逐个转诊，或待医生恢复。" : ""}受影响患者 ${affected.affected.length} 人：</p>
          <ul>${affected.affected.map((a) => html`<li data-affected=${a.visit_no}>${a.ticket_no} ${nameOf(a.visit_no) || a.masked_name}（${a.visit_no}）</li>`)}</ul></section>`}
        ${action.kind === "close" && html`<label class="check"><input type="checkbox" checked=${redistribute}
          onChange=${(e) => setRedistribute(e.target.checked)} />把本诊室专家号的候诊患者分到科室普通队列（分诊）</label>`}
        ${!["resume", "seat"].includes(action.kind) && !affected && html`
          <label>原因<select ref=${["move", "call", "transfer", "special", "seat", "stop-clinic"].includes(action.kind) ? null : first} value=${reason}
            onChange=${(e) => setReason(e.target.value)}>
            ${(REASONS[action.kind] || []).map((x) => html`<option>${x}</option>`)}
          </select></label>
          <label>其他原因（填写后以此为准）<input value=${free} maxlength="200" onInput=${(e) => setFree(e.target.value)} /></label>`}
        <p class="error" role="alert">${error}</p>
        <div class="buttons">
          <button type="submit" ref=${action.kind === "resume" ? first : submitButton}>${affected ? "关闭" : "确定"}</button>
          <button type="button" onClick=${onClose}>取消（Esc）</button>
        </div>
      </form>
    </div>`;
}

function Tags({ e, roomName }) {
  return html`<span class="tags">
    ${e.kind_label && html`<span class=${`tag kind-${e.kind}`}>${e.kind_label}</span>`}
    ${e.special && html`<span class="tag special" title="特殊人群优先">${e.special}优先</span>`}
    ${e.tags.filter((t) => t !== e.special).map((t) => html`<span class="tag group">${t}</span>`)}
    ${e.held && html`<span class="tag held">挂起</span>`}
    ${e.pinned && html`<span class="tag pinned">置顶</span>`}
    ${e.misses > 0 && html`<span class="tag misses">过号${e.misses}次</span>`}
    ${e.room && html`<span class="tag room" title="只由该诊室叫号">已分到${roomName(e.room)}</span>`}
    ${e.booked_room && html`<span class="tag room" title="只由预约的诊室按顺序叫号">预约${roomName(e.booked_room)}</span>`}
  </span>`;
}

// A queue no room serves now (its doctor stopped, its rooms closed) has
// nobody callable, whatever its list holds: the nurse is told so.
function QueueTable({ queue, offset, open, served, roomName }) {
  return html`
    <section class="queue" aria-label=${queue.name} data-served=${served ? "yes" : "no"}>
      <h2>${queue.name} <small>候诊 ${queue.waiting} 人 · ${served ? `可叫 ${queue.callable} 人`
        : html`<span class="unserved">可叫 0 人：暂无诊室叫此队列，请转诊或待医生恢复</span>`}</small></h2>
      ${queue.entries.length === 0 ? html`<p class="empty">暂无候诊患者</p>` : html`
      <table>
        <thead><tr><th>序</th><th>票号</th><th>姓名</th><th>标记</th><th>排序原因</th><th>候诊</th><th>操作</th></tr></thead>
        <tbody>
          ${queue.entries.map((e) => html`
            <tr key=${e.visit_no} class=${e.held ? "held" : e.special ? "special" : ""} data-visit=${e.visit_no}>
              <td>${e.position}</td>
              <td class="ticket">${e.ticket_no}</td>
              <td class="name">${e.name}</td>
              <td><${Tags} e=${e} roomName=${roomName} /></td>
              <td class="reason">${e.placement_reason}</td>
              <td class="wait">${minutesSince(e.checked_in_at, offset)} 分钟</td>
              <td class="actions">
                ${e.held
                  ? html`<button onClick=${() => open("release", e)}>恢复</button>`
                  : html`<button onClick=${() => open("hold", e)}>挂起</button>`}
                <button onClick=${() => open("pin", e)}>置顶</button>
                <button onClick=${() => open("move", e)}>调整</button>
                <button onClick=${() => open("call", e, queue)}>指定叫号</button>
                <button onClick=${() => open("transfer", e)}>转诊</button>
                <button onClick=${() => open("special", e)}>特殊人群</button>
              </td>
            </tr>`)}
        </tbody>
      </table>`}
    </section>`;
}

/** Today's patients who left the queues for now (过号, 检查中, 未到), with
 * 召回 / 回诊 for the ones who may come back. */
function AwayList({ away, open }) {
  return html`
    <section class="rooms away" aria-label="离开队列的患者">
      <h2>过号 / 检查中 <small>${away.length} 人</small></h2>
      ${away.length === 0 ? html`<p class="empty">暂无</p>` : html`
      <ul>
        ${away.map((v) => html`
          <li key=${v.visit_no} class=${`room away-${v.status}`} data-away=${v.visit_no}>
            <strong>${v.ticket_no || v.visit_no} ${v.name}</strong> <span class="status">${v.status_label}${v.misses > 0 ? ` ${v.misses}次` : ""}</span>
            <span class="current">${v.room_code ? `${v.room_code} · ` : ""}${clock(new Date(v.since))}</span>
            ${v.back && html`<span class="actions">
              <button onClick=${() => open("requeue", { ...v, ticket_no: v.ticket_no || v.visit_no })}>${v.back === "return" ? "回诊" : "召回"}</button></span>`}
          </li>`)}
      </ul>`}
    </section>`;
}

/** Today's stop-clinics (停诊), from HIS or this desk: the doctor, the
 * sessions, why, and every patient who was waiting then — where each is
 * now (still waiting for the doctor, or moved), full names from the live
 * lists. */
function StopList({ stops, queues }) {
  if (stops.length === 0) return null;
  const where = (visit) => {
    for (const q of queues) {
      const e = q.entries.find((x) => x.visit_no === visit);
      if (e) return { name: e.name, queue: q.name };
    }
    return null;
  };
  return html`
    <section class="rooms stops" aria-label="今日停诊">
      <h2>今日停诊 <small>${stops.length} 次</small></h2>
      <ul>${stops.map((s) => html`
        <li key=${`${s.doctor_code}-${s.at}`} class="room stop" data-stop=${s.doctor_code}>
          <strong>${s.doctor_name || s.doctor_code}</strong> <span class="status">停诊</span>
          <span class="current">${clock(new Date(s.at))} · ${s.reason} · ${s.operator}</span>
          <span class="current">受影响患者 ${s.affected.length} 人${s.redistributed ? `，已分到普通号 ${s.redistributed} 人` : ""}</span>
          <ul class="affected">${s.affected.map((a) => {
            const now = where(a.visit_no);
            return html`<li data-affected=${a.visit_no}>${a.ticket_no} ${now?.name || a.masked_name}
              <small>${now ? `现在：${now.queue}` : "已不在候诊"}</small></li>`;
          })}</ul>
        </li>`)}
      </ul>
    </section>`;
}

function RoomList({ rooms, open }) {
  return html`
    <section class="rooms" aria-label="诊室">
      <h2>诊室</h2>
      <ul>
        ${rooms.map((r) => html`
          <li key=${r.code} class=${`room status-${roomTone(r)}`} data-room=${r.code}>
            <strong>${r.name}</strong> <span class="status">${r.status_label}</span>
            <span class="current">${r.current ? `就诊：${r.current.ticket_no} ${r.current.name}` : "空闲"}</span>
            <span class="seat">坐诊：${r.doctor_name || r.doctor_code || "无"}${{ break: "（暂离）", out: "（无人）", scheduled: "（排班）", in: "（已签到）" }[r.seat] || ""}</span>
            <span class="actions">
              ${r.status !== "open" && html`<button onClick=${() => open("resume", r)}>开诊</button>`}
              ${r.status === "open" && html`<button onClick=${() => open("pause", r)}>暂停</button>`}
              ${r.status !== "closed" && html`<button onClick=${() => open("close", r)}>停诊</button>`}
              <button onClick=${() => open("seat", r)}>医生签到</button>
              ${r.doctor_code && html`<button onClick=${() => open("stop-clinic", r)}>医生停诊</button>`}
            </span>
          </li>`)}
      </ul>
    </section>`;
}

function Console({ session, onLogout }) {
  const [live, setLive] = useState(null);
  const [message, setMessage] = useState({ text: "", error: false });
  const [visit, setVisit] = useState("");
  const [dialog, setDialog] = useState(null);
  const [noticesOpen, setNoticesOpen] = useState(false);
  const [schedulesOpen, setSchedulesOpen] = useState(false);
  const [faultsOpen, setFaultsOpen] = useState(false);
  const [away, setAway] = useState([]);
  const [stops, setStops] = useState([]);
  const [, tick] = useState(0);
  const [deptNames, setDeptNames] = useState({});
  const field = useRef(null);
  useEffect(() => {
    api("GET", "/departments").then((r) => {
      if (r.ok) setDeptNames(Object.fromEntries(r.body.departments.map((d) => [d.code, d.name])));
    });
  }, []);
  useEffect(() => {
    const channel = new Live("", setLive);
    const timer = setInterval(() => tick((n) => n + 1), 30000);
    const keys = (e) => {
      // Not while a dialog is open, nor "/" typed into a field.
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName) || document.activeElement?.isContentEditable;
      if (document.querySelector('[role="dialog"]')) return;
      if (e.key === "F2" || (e.key === "/" && !typing)) {
        e.preventDefault();
        field.current?.focus();
      }
    };
    addEventListener("keydown", keys);
    field.current?.focus();
    return () => { channel.close(); clearInterval(timer); removeEventListener("keydown", keys); };
  }, []);
  useEffect(() => { if (live?.signedOut) onLogout(); }, [live?.signedOut]);
  // The patients away change when a room's patient changes (skip, exam) or
  // one comes back: fetched again then, and every minute.
  const roomsKey = live ? [...live.rooms.values()].map((r) => `${r.code}:${r.status}:${r.current?.visit_no || ""}`).join() : "";
  const waitingKey = live ? [...live.queues.values()].map((q) => q.waiting).join() : "";
  async function loadAway() {
    const [r, s] = await Promise.all([api("GET", "/visits/away"), api("GET", "/stop-clinics")]);
    if (r.ok) setAway(r.body.visits);
    if (s.ok) setStops(s.body.stops);
  }
  useEffect(() => {
    if (!live?.online) return undefined;
    const t = setTimeout(loadAway, 200);
    return () => clearTimeout(t);
  }, [roomsKey, waitingKey, live?.online]);
  useEffect(() => {
    const timer = setInterval(() => { if (live?.online) loadAway(); }, 60000);
    return () => clearInterval(timer);
  }, [live?.online]);

  async function checkIn(ev) {
    ev.preventDefault();
    const v = visit.trim();
    if (!v) return;
    let r = await api("POST", `/registrations/${encodeURIComponent(v)}/check-in`);
    setVisit("");
    let back = false;
    if (!r.ok && r.code === "visit_closed") {
      // Scanned again after a missed call or an exam: bring them back.
      const b = await api("POST", `/registrations/${encodeURIComponent(v)}/requeue`, { reason: "患者回来报到（扫码）" });
      if (b.ok || b.code !== "visit_closed") { r = b; back = true; }
    }
    if (r.ok) {
      const b = r.body;
      const what = back ? "已召回" : `签到${b.created ? "成功" : "（已签到过）"}`;
      // The patient's own page, to scan from this screen (as from a ticket).
      const link = b.patient_link ? (b.patient_url || new URL(b.patient_link, location.origin).href) : null;
      setMessage({ text: `${v} ${what}：${b.ticket_no}，前面 ${b.ahead} 人，约 ${b.estimated_wait_minutes} 分钟`, error: false, link });
      if (back) loadAway();
    } else {
      setMessage({ text: `${v}：${r.message}`, error: true });
    }
    field.current?.focus();
  }

  function open(kind, target, queue) {
    const rooms = [...(live?.rooms.values() || [])]
      .filter((r) => kind !== "call" || r.queues.includes(queue?.code));
    setDialog({ kind, target, rooms });
  }
  function closeDialog(text) {
    setDialog(null);
    if (typeof text === "string") { setMessage({ text, error: false }); loadAway(); }
    setTimeout(() => field.current?.focus(), 0);
  }

  const queues = live ? [...live.queues.values()] : [];
  const rooms = live ? [...live.rooms.values()] : [];
  const openFaults = useOpenFaults(live?.online);
  const departments = (live?.departments || []).map((c) => deptNames[c] || c).join("、");
  return html`
    <header class="bar">
      <h1>分诊台 <small>${departments}</small></h1>
      <span class=${live?.online ? "online" : "offline"} role="status">
        ${live?.online ? "在线" : `离线 — 显示的是 ${clock(live?.asOf)} 的状态，正在重连…`}
      </span>
      <span class="exports">
        <button onClick=${() => printLists("a4")}>打印（A4）</button>
        <button onClick=${() => printLists("thermal")}>打印（热敏）</button>
        <button onClick=${() => download(`候诊名单-${stamp()}.csv`, waitingCsv(queues))}>导出 CSV</button>
        <button disabled=${!live?.online} title="离线时请用 CSV" onClick=${() => { location.href = "/api/v1/waiting-lists.xlsx"; }}>导出 Excel</button>
      </span>
      <button onClick=${() => setNoticesOpen(true)} disabled=${!live?.online}>信息发布</button>
      <button onClick=${() => setSchedulesOpen(true)} disabled=${!live?.online}>出诊排班</button>
      <button class=${openFaults > 0 ? "faults-open" : ""} onClick=${() => setFaultsOpen(true)} disabled=${!live?.online}>
        故障${openFaults > 0 ? `（${openFaults}）` : ""}</button>
      <a class="button" href="/stats" target="_blank" rel="noopener">工作量统计</a>
      <span class="who">${session.staff.name}（${session.staff.code}）</span>
      <button onClick=${async () => { await api("DELETE", "/session"); onLogout(); }}>退出</button>
    </header>
    <p class="print-only">候诊名单 · ${departments} · ${clock(live?.asOf)}${live?.online ? "" : "（离线时的最后状态）"}</p>
    <form class="checkin" onSubmit=${checkIn}>
      <label for="visit">签到（输入或扫描就诊号，回车）<kbd>F2</kbd></label>
      <input id="visit" ref=${field} value=${visit} onInput=${(e) => setVisit(e.target.value)}
        autocomplete="off" placeholder="就诊号 / 扫码" />
      <button type="submit">签到</button>
      <p class=${message.error ? "error" : "ok"} role="status">${message.text}</p>
      ${message.link && html`<figure class="patient-qr"><img alt="患者排队进度二维码" src=${qrImage(message.link)} />
        <figcaption>请患者用手机扫码查看排队进度</figcaption></figure>`}
    </form>
    ${!live?.loaded ? html`<p class="loading">正在连接…</p>` : html`
    <div class="layout">
      <div class="queues">${queues.map((q) => html`<${QueueTable} key=${q.code} queue=${q} offset=${live.serverOffset} open=${open}
        served=${rooms.some((r) => r.status !== "closed" && r.seat !== "out" && r.queues.includes(q.code))}
        roomName=${(code) => rooms.find((r) => r.code === code)?.name || code} />`)}</div>
      <aside class="side">
        <${RoomList} rooms=${rooms} open=${open} />
        <${AwayList} away=${away} open=${open} />
        <${StopList} stops=${stops} queues=${queues} />
      </aside>
    </div>`}
    ${dialog && html`<${ActionDialog} action=${dialog} target=${dialog.target} rooms=${dialog.rooms} departments=${live?.departments || []}
      nameOf=${(v) => queues.flatMap((q) => q.entries).find((e) => e.visit_no === v)?.name || ""}
      onClose=${() => closeDialog()} onDone=${closeDialog} />`}
    ${noticesOpen && html`<${NoticesDialog} session=${session} rooms=${rooms.map((r) => r.code)}
      onClose=${() => { setNoticesOpen(false); closeDialog(); }}
      onDone=${(text) => setMessage({ text, error: false })} />`}
    ${faultsOpen && html`<${FaultsDialog} session=${session}
      onClose=${() => { setFaultsOpen(false); closeDialog(); }}
      onDone=${(text) => setMessage({ text, error: false })} />`}
    ${schedulesOpen && html`<${SchedulesDialog} rooms=${rooms}
      onClose=${() => { setSchedulesOpen(false); closeDialog(); }}
      onDone=${(text) => setMessage({ text, error: false })} />`}`;
}

mountStaffPage("分诊台登录", Console);

/** A QR code image (data: URL) of `text`. */
function qrImage(text) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createDataURL(4, 16);
}
