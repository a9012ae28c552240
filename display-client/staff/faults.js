// Fault records (故障工单) from the nurse console: the faults open now
// (screens offline, the database, HIS silent, backups, …, and those a nurse
// reported), with their timeline; 报障 reports a new one (e.g. "3诊室门口屏
// 黑屏"); 确认 acknowledges (no more reminders to the on-call staff), 处理完成
// resolves with a note, 归档 archives a resolved one. Mean times to
// acknowledge and to resolve of the faults listed.
//
// Keyboard: Tab walks the buttons, Enter confirms, Esc closes.
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";

const STATE = { opened: "待确认", acknowledged: "处理中", resolved: "已恢复", archived: "已归档" };
const KIND = {
  screen_offline: "屏幕离线", database: "数据库", his_silent: "HIS 无调用", error_rate: "接口出错",
  queue_wait: "等候过长", disk_low: "磁盘空间", backup_failed: "备份", backup_missing: "备份缺失",
  reported: "报障", login_failures: "连续登录失败", operations: "定期运维",
};

function when(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "";
}

function minutes(s) {
  return s == null ? "—" : s < 60 ? `${s} 秒` : `${Math.round(s / 60)} 分钟`;
}

/** How many faults are open now (the header badge), read every 15 s. */
export function useOpenFaults(online) {
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!online) return undefined;
    const read = async () => {
      const [a, b] = await Promise.all([api("GET", "/faults?state=opened"), api("GET", "/faults?state=acknowledged")]);
      if (a.ok && b.ok) setN(a.body.faults.length + b.body.faults.length);
    };
    read();
    const t = setInterval(read, 15000);
    return () => clearInterval(t);
  }, [online]);
  return n;
}

export function FaultsDialog({ session, onClose, onDone }) {
  const [list, setList] = useState(null);
  const [open, setOpen] = useState(null);
  const [title, setTitle] = useState("");
  const [place, setPlace] = useState("");
  const [detail, setDetail] = useState("");
  const [note, setNote] = useState("");
  // Filters of the list (state, kind).
  const [state, setState] = useState("");
  const [kind, setKind] = useState("");
  const [error, setError] = useState({ text: "", field: "" });
  const first = useRef(null);
  const handles = session.staff.role !== "doctor";
  async function load(st = state, kd = kind) {
    const q = new URLSearchParams({ limit: "100" });
    if (st) q.set("state", st);
    if (kd) q.set("kind", kd);
    const r = await api("GET", `/faults?${q}`);
    if (r.ok) setList(r.body); else setError({ text: r.message, field: "" });
  }
  useEffect(() => {
    load();
    first.current?.focus();
    const esc = (e) => { if (e.key === "Escape") { e.preventDefault(); onClose(); } };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  async function show(f) {
    const r = await api("GET", `/faults/${f.id}`);
    if (r.ok) { setOpen(r.body); setNote(""); }
  }
  async function act(f, action, body) {
    const r = await api("POST", `/faults/${f.id}/${action}`, body);
    if (!r.ok) { setError({ text: r.message, field: r.field || "" }); return; }
    setError({ text: "", field: "" });
    onDone({ acknowledge: "已确认", resolve: "已处理完成", archive: "已归档" }[action] + `：#${f.id} ${f.title}`);
    await load();
    await show(r.body);
  }
  async function report(ev) {
    ev.preventDefault();
    const r = await api("POST", "/faults", { title, place, detail });
    if (!r.ok) { setError({ text: r.message, field: r.field || "" }); return; }
    setTitle(""); setPlace(""); setDetail("");
    setError({ text: "", field: "" });
    onDone(`已报障：#${r.body.id} ${r.body.title}，已通知值班人员`);
    load();
  }
  const bad = (f) => (error.field === f ? "invalid" : "");
  const active = (list?.faults || []).filter((f) => f.state === "opened" || f.state === "acknowledged");
  const done = (list?.faults || []).filter((f) => f.state === "resolved" || f.state === "archived").slice(0, 10);
  const row = (f) => html`<tr key=${f.id} data-fault=${f.id} class=${`fault ${f.state} ${f.severity}`}>
    <td>#${f.id}</td><td>${KIND[f.kind] || f.kind}</td><td>${f.title}<br /><small>${f.place}</small></td>
    <td>${when(f.opened_at)}</td><td class="state">${STATE[f.state] || f.state}</td>
    <td><button type="button" onClick=${() => show(f)}>详情</button></td></tr>`;
  return html`
    <div class="backdrop">
      <div class="dialog wide faults" role="dialog" aria-modal="true" aria-label="故障">
        <h2>故障工单</h2>
        ${list === null ? html`<p>正在加载…</p>` : html`
        <div class="filters" aria-label="筛选">
          <label>状态<select name="state" value=${state} onChange=${(e) => { setState(e.target.value); load(e.target.value, kind); }}>
            <option value="">全部</option>${Object.entries(STATE).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
          <label>类型<select name="kind" value=${kind} onChange=${(e) => { setKind(e.target.value); load(state, e.target.value); }}>
            <option value="">全部</option>${Object.entries(KIND).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
        </div>
        <p class="hint">平均响应（确认）时间 ${minutes(list.mean_seconds_to_acknowledge)}，平均处理时间 ${minutes(list.mean_seconds_to_resolve)}。</p>
        <section aria-label="未处理的故障">
          <h3>未处理（${active.length}）</h3>
          ${active.length === 0 ? html`<p class="empty">暂无</p>` : html`<table class="notices"><tbody>${active.map(row)}</tbody></table>`}
        </section>
        <section aria-label="最近处理的故障">
          <h3>最近处理</h3>
          ${done.length === 0 ? html`<p class="empty">暂无</p>` : html`<table class="notices"><tbody>${done.map(row)}</tbody></table>`}
        </section>`}
        ${open && html`<section class="fault-detail" aria-label="故障详情" data-open=${open.id}>
          <h3>#${open.id} ${open.title} · ${STATE[open.state]}</h3>
          <p>${open.detail}</p><p>地点：${open.place}</p>
          <ol class="timeline">${(open.timeline || []).map((s) => html`<li>${when(s.at)} ${({ opened: "发生/报障", notified: "已通知", reminded: "提醒", acknowledged: "确认", resolved: "处理完成", archived: "归档" })[s.kind] || s.kind} · ${s.actor}${s.note && s.kind !== "notified" && s.kind !== "opened" ? `：${s.note}` : ""}</li>`)}</ol>
          ${handles && html`<div class="buttons">
            ${open.state === "opened" && html`<button type="button" onClick=${() => act(open, "acknowledge")}>确认（我来处理）</button>`}
            ${(open.state === "opened" || open.state === "acknowledged") && html`
              <label>处理说明<input name="note" class=${bad("note")} maxlength="500" value=${note} onInput=${(e) => setNote(e.target.value)} /></label>
              <button type="button" onClick=${() => act(open, "resolve", { note })}>处理完成</button>`}
            ${open.state === "resolved" && html`<button type="button" onClick=${() => act(open, "archive")}>归档</button>`}
          </div>`}
        </section>`}
        <form onSubmit=${report} aria-label="报障">
          <h3>报障</h3>
          <label>故障（必填）<input ref=${first} name="title" class=${bad("title")} maxlength="100" required value=${title}
            placeholder="例如：3诊室门口屏黑屏" onInput=${(e) => setTitle(e.target.value)} /></label>
          <label>地点<input name="place" class=${bad("place")} maxlength="100" value=${place} onInput=${(e) => setPlace(e.target.value)} /></label>
          <label>情况<input name="detail" class=${bad("detail")} maxlength="1000" value=${detail} onInput=${(e) => setDetail(e.target.value)} /></label>
          <p class="error" role="alert">${error.text}</p>
          <div class="buttons"><button type="submit">报障</button><button type="button" onClick=${onClose}>关闭（Esc）</button></div>
        </form>
      </div>
    </div>`;
}
