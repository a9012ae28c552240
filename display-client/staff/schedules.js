// The schedule (出诊排班) from the nurse console: a day's rooms by session
// (上午 / 下午 / 晚上), who sits where, the patient limit (限号), stopped
// (停诊) and cancelled entries. HIS usually sends it; a nurse changes a
// room's doctor for a session or cancels an entry (the room then keeps its
// configured doctor). A change to the session in force reaches the door
// screens at once. Nurses edit their departments' rooms; administrators all.
//
// Keyboard: Tab walks the cells (each cell is a button), Enter opens the
// editor, Enter saves, Esc closes.
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";

const STATUS = { active: "", cancelled: "已取消", stopped: "停诊" };

/** Today in Beijing time, `YYYY-MM-DD`. */
function today() {
  return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
}

export function SchedulesDialog({ rooms, onClose, onDone }) {
  const [date, setDate] = useState(today());
  const [day, setDay] = useState(null);
  const [doctors, setDoctors] = useState(null);
  const [editing, setEditing] = useState(null);
  const [doctor, setDoctor] = useState("");
  const [limit, setLimit] = useState("");
  const [error, setError] = useState({ text: "", field: "" });
  const first = useRef(null);
  const editorFirst = useRef(null);
  // Esc closes the editor first, then the dialog.
  const open = useRef(false);
  open.current = editing !== null;
  async function load(d = date) {
    const r = await api("GET", `/schedules?date=${d}`);
    if (r.ok) setDay(r.body); else setError({ text: r.message, field: r.field || "" });
  }
  useEffect(() => {
    load();
    api("GET", "/doctors").then((r) => { if (r.ok) setDoctors(r.body.doctors); });
    first.current?.focus();
    const esc = (e) => {
      if (e.key !== "Escape") return;
      e.preventDefault();
      if (open.current) close(); else onClose();
    };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  useEffect(() => { if (editing) editorFirst.current?.focus(); }, [editing]);

  // The editor closes: the focus goes back to the cell it came from.
  const lastCell = useRef(null);
  function close() {
    setEditing(null);
    setTimeout(() => lastCell.current?.focus(), 0);
  }
  const entry = (session, room) => day?.entries.find((e) => e.session === session && e.room_code === room);
  function edit(session, room) {
    const e = entry(session.code, room.code);
    lastCell.current = document.activeElement;
    const mine = (doctors || []).filter((d) => d.department_code === room.department_code);
    setEditing({ session, room, entry: e, doctors: mine });
    const pick = e && e.status === "active" ? e.doctor_code : room.doctor_code;
    setDoctor(mine.some((d) => d.code === pick) ? pick : (mine[0]?.code || ""));
    setLimit(e?.patient_limit ? String(e.patient_limit) : "");
    setError({ text: "", field: "" });
  }
  async function save(ev) {
    ev.preventDefault();
    const { session, room } = editing;
    const body = { doctor_code: doctor };
    if (limit.trim()) body.patient_limit = Number(limit);
    const r = await api("PUT", `/schedules/${date}/${session.code}/${room.code}`, body);
    if (!r.ok) { setError({ text: r.message, field: r.field || "" }); return; }
    close();
    onDone(`排班已保存：${date} ${session.name} ${room.name}`);
    load();
  }
  async function cancel() {
    const { session, room } = editing;
    const r = await api("DELETE", `/schedules/${date}/${session.code}/${room.code}`);
    if (!r.ok) { setError({ text: r.message, field: r.field || "" }); return; }
    close();
    onDone(`排班已取消：${date} ${session.name} ${room.name}`);
    load();
  }
  const bad = (f) => (error.field === f ? "invalid" : "");
  const nameOf = (code) => day?.sessions.find((s) => s.code === code)?.name || code;
  const isToday = date === today();
  return html`
    <div class="backdrop">
      <div class="dialog wide schedules" role="dialog" aria-modal="true" aria-label="出诊排班">
        <h2>出诊排班</h2>
        <label>日期<input ref=${first} type="date" value=${date} name="date"
          onChange=${(e) => { if (!e.target.value) return; setDate(e.target.value); setEditing(null); load(e.target.value); }} /></label>
        ${day === null ? html`<p>正在加载…</p>` : html`
        <p class="hint" data-now=${isToday ? (day.session_now || "") : ""}>${!isToday ? "" : day.session_now
          ? `当前时段：${nameOf(day.session_now)}。`
          : day.session_next ? `现在不在门诊时段，下一时段：${nameOf(day.session_next)}。` : "今日门诊时段已结束。"}
          未排班的诊室由默认医生（括号内）坐诊。修改当前时段的排班，诊室门口屏立即更新。</p>
        <table class="schedule">
          <thead><tr><th>诊室</th>${day.sessions.map((s) => html`<th key=${s.code}
            class=${isToday && s.code === day.session_now ? "now" : ""}>${s.name}<br /><small>${s.start.slice(0, 5)}–${s.end.slice(0, 5)}</small></th>`)}</tr></thead>
          <tbody>${rooms.map((room) => html`<tr key=${room.code} data-room=${room.code}>
            <th>${room.name}</th>
            ${day.sessions.map((s) => {
              const e = entry(s.code, room.code);
              const label = e ? `${e.doctor_name || e.doctor_code}${e.patient_limit ? ` · 限${e.patient_limit}` : ""}`
                : `默认（${day.default_doctors[room.code] || "无"}）`;
              return html`<td key=${s.code} data-session=${s.code} class=${e ? `entry ${e.status}` : "default"}>
                <button type="button" disabled=${doctors === null} onClick=${() => edit(s, room)} aria-label=${`${room.name} ${s.name}：${label}`}>
                  ${label}${e && STATUS[e.status] ? html` <span class="tag">${STATUS[e.status]}</span>` : ""}</button></td>`;
            })}</tr>`)}
          </tbody>
        </table>`}
        ${editing && html`<form class="editor" onSubmit=${save} aria-label="编辑排班">
          <h3>${date} ${editing.session.name} · ${editing.room.name}</h3>
          <label>出诊医生<select ref=${editorFirst} name="doctor" class=${bad("doctor_code")} value=${doctor}
            onChange=${(e) => setDoctor(e.target.value)}>
            ${editing.doctors.map((d) => html`<option value=${d.code}>${d.name}（${d.title || d.code}）</option>`)}</select></label>
          <label>限号（不填为不限）<input type="number" name="patient_limit" min="1" max="999" class=${bad("patient_limit")}
            value=${limit} onInput=${(e) => setLimit(e.target.value)} /></label>
          <div class="buttons">
            <button type="submit">保存</button>
            ${editing.entry && editing.entry.status !== "cancelled" && html`<button type="button" onClick=${cancel}>取消该排班</button>`}
            <button type="button" onClick=${close}>返回（Esc）</button>
          </div>
        </form>`}
        <p class="error" role="alert">${error.text}</p>
        <div class="buttons"><button type="button" onClick=${onClose}>关闭</button></div>
      </div>
    </div>`;
}
