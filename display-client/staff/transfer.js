// The transfer dialog (转诊) of the nurse console and the doctor caller:
// where a patient may go, each place with what it is doing now. Rooms of
// every department (the nurse's own first), each with its doctor, its
// status (等待叫号 / 就诊中 / 暂停叫号 / 医生暂离) and how many wait; a
// stopped room (停诊, nobody seated, its doctor off duty) is not offered,
// a paused one is marked. A patient sent to a room goes onto that room's
// own list (as a short list, 二级候诊): only that room calls him, before
// its general list, in the order patients were sent. The queues the
// caller may see are offered too (any of their rooms calls him), unless no
// room serves them now.
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";

/** The places a patient may be sent to, read from the server now. */
export async function transferTargets({ exceptRoom, ownDepartments = [] }) {
  const [rooms, queues] = await Promise.all([api("GET", "/rooms"), api("GET", "/queues")]);
  if (!rooms.ok) return { error: rooms.message, rooms: [], queues: [] };
  const own = (r) => ownDepartments.includes(r.department_code);
  const list = rooms.body.rooms
    .filter((r) => r.serves && r.code !== exceptRoom)
    .sort((a, b) => Number(own(b)) - Number(own(a)));
  const served = new Set(list.flatMap((r) => r.queues));
  const qs = queues.ok ? queues.body.queues.filter((q) => served.has(q.code)) : [];
  return { error: "", rooms: list, queues: qs };
}

function roomLabel(r) {
  const paused = r.status === "paused" || r.status_label === "医生暂离";
  return `${r.department_name} · ${r.name}${r.doctor_name ? ` · ${r.doctor_name}` : ""} · ${r.status_label}`
    + ` · 候诊 ${r.waiting} 人${paused ? "（暂不叫号，恢复后按顺序叫）" : ""}`;
}

/** The first place worth proposing: a room calling now, else any. */
function firstChoice(t) {
  const calling = t.rooms.find((r) => r.status === "open" && r.status_label !== "医生暂离");
  const r = calling || t.rooms[0];
  if (r) return `room:${r.code}`;
  return t.queues[0] ? `queue:${t.queues[0].code}` : "";
}

/** The body of a transfer, from a choice of the select. */
export function transferBody(choice, reason) {
  const [kind, code] = choice.split(":");
  return { [kind === "queue" ? "queue_code" : "room_code"]: code, keep_check_in_time: true, reason };
}

/** The select of places, grouped (rooms, then queues). */
export function TargetSelect({ targets, value, onChange, selectRef }) {
  return html`<select ref=${selectRef} aria-label="转到" value=${value} onChange=${(e) => onChange(e.target.value)}>
    <optgroup label="诊室（只由该诊室叫号）">
      ${targets.rooms.map((r) => html`<option value=${`room:${r.code}`} data-status=${r.status}>${roomLabel(r)}</option>`)}
    </optgroup>
    ${targets.queues.length > 0 && html`<optgroup label="队列（任一开诊诊室叫号）">
      ${targets.queues.map((q) => html`<option value=${`queue:${q.code}`}>${q.name}（候诊 ${q.waiting} 人）</option>`)}
    </optgroup>`}
  </select>`;
}

/** The doctor's transfer dialog (the console's is its action dialog). */
export function TransferDialog({ visit, onClose, onDone }) {
  const [targets, setTargets] = useState({ rooms: [], queues: [] });
  const [choice, setChoice] = useState("");
  const [reason, setReason] = useState("需专科会诊");
  const [error, setError] = useState("");
  const select = useRef(null);
  useEffect(() => {
    transferTargets({ exceptRoom: visit.room, ownDepartments: [] }).then((t) => {
      setTargets(t);
      setError(t.error);
      setChoice(firstChoice(t));
      setTimeout(() => select.current?.focus(), 0);
    });
    const esc = (e) => { if (e.key === "Escape") onClose(); };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  async function submit(ev) {
    ev.preventDefault();
    if (!choice) { setError("没有可转入的诊室：各诊室都已停诊。请联系分诊台。"); return; }
    const r = await api("POST", `/visits/${visit.visit_no}/transfer`, transferBody(choice, reason));
    if (r.ok) onDone(`已转诊：${visit.ticket_no}，${placeOf(targets, choice)}`); else setError(r.message);
  }
  return html`
    <div class="backdrop">
      <form class="dialog" role="dialog" aria-modal="true" aria-label="转诊" onSubmit=${submit}
        onKeyDown=${(e) => { if (e.key === "Enter" && e.target.tagName === "SELECT") { e.preventDefault(); e.currentTarget.requestSubmit(); } }}>
        <h2>转诊 · ${visit.ticket_no} ${visit.name}</h2>
        <label>转到<${TargetSelect} targets=${targets} value=${choice} onChange=${setChoice} selectRef=${select} /></label>
        <label>原因<input value=${reason} maxlength="200" onInput=${(e) => setReason(e.target.value)} required /></label>
        <p class="error" role="alert">${error}</p>
        <div class="buttons"><button type="submit">确定</button><button type="button" onClick=${onClose}>取消（Esc）</button></div>
      </form>
    </div>`;
}

/** Where a choice sends the patient, in words. */
export function placeOf(targets, choice) {
  const [kind, code] = choice.split(":");
  if (kind === "queue") return targets.queues.find((q) => q.code === code)?.name || code;
  return targets.rooms.find((r) => r.code === code)?.name || code;
}

export { firstChoice };
