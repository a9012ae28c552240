// Notices (信息发布) from the nurse console: publish a text to chosen screens
// with a start and an end time (the server sends it at its start and takes
// it off at its end, also after a restart), list the ones showing or
// scheduled, withdraw one. Nurses address the screens of their departments;
// administrators also every screen at once.
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";

const STATE = { showing: "显示中", scheduled: "待发布" };

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("zh-CN", { hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

/** A `datetime-local` value (the PC's local time) as an instant, or none. */
function instant(local) {
  return local ? new Date(local).toISOString() : undefined;
}

/** The notices dialog; `rooms` are the rooms the caller may address. */
export function NoticesDialog({ session, rooms, onClose, onDone }) {
  const admin = session.staff.role === "admin";
  const [notices, setNotices] = useState(null);
  const [screens, setScreens] = useState([]);
  const [text, setText] = useState("");
  const [level, setLevel] = useState("info");
  const [chosen, setChosen] = useState([]);
  const [everyScreen, setEveryScreen] = useState(false);
  const [starts, setStarts] = useState("");
  const [ends, setEnds] = useState("");
  const [error, setError] = useState({ text: "", field: "" });
  const first = useRef(null);
  async function load() {
    const [n, s] = await Promise.all([api("GET", "/notices"), api("GET", "/screens")]);
    if (n.ok) setNotices(n.body.notices); else setError({ text: n.message, field: "" });
    if (s.ok) {
      const mine = s.body.screens.filter((x) => admin || (x.rooms.length > 0 && x.rooms.every((r) => rooms.includes(r))));
      setScreens(mine);
    }
  }
  useEffect(() => {
    load();
    first.current?.focus();
    const esc = (e) => { if (e.key === "Escape") onClose(); };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  const screenName = (c) => screens.find((s) => s.code === c)?.name || c;

  async function publish(ev) {
    ev.preventDefault();
    if (!everyScreen && chosen.length === 0) { setError({ text: "请至少选择一块屏幕", field: "screens" }); return; }
    const body = {
      text, level,
      screens: everyScreen ? undefined : chosen,
      starts_at: instant(starts), expires_at: instant(ends),
    };
    const r = await api("POST", "/notices", body);
    if (!r.ok) { setError({ text: r.message, field: r.field || "" }); return; }
    setText(""); setStarts(""); setEnds(""); setChosen([]); setEveryScreen(false);
    setError({ text: "", field: "" });
    onDone(r.body.state === "scheduled" ? `信息已定时发布，${when(r.body.starts_at)} 开始显示` : "信息已发布到所选屏幕");
    load();
  }
  async function withdraw(n) {
    const r = await api("DELETE", `/notices/${n.id}`);
    if (r.ok) { onDone(`已撤回：${n.text.slice(0, 20)}`); load(); } else setError({ text: r.message, field: "" });
  }
  const bad = (f) => (error.field === f ? "invalid" : "");
  return html`
    <div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-label="信息发布">
        <h2>信息发布</h2>
        <section aria-label="当前信息">
          ${notices === null ? html`<p>正在加载…</p>` : notices.length === 0 ? html`<p class="empty">暂无信息</p>` : html`
          <table class="notices">
            <thead><tr><th>内容</th><th>屏幕</th><th>时间</th><th>状态</th><th></th></tr></thead>
            <tbody>${notices.map((n) => html`
              <tr key=${n.id} data-notice=${n.id}>
                <td class=${n.level === "urgent" ? "urgent" : ""}>${n.text}</td>
                <td>${n.screens ? n.screens.map(screenName).join("、") : "全部屏幕"}</td>
                <td>${when(n.starts_at || n.created_at)} – ${n.expires_at ? when(n.expires_at) : "撤回为止"}</td>
                <td class="state">${STATE[n.state] || n.state}</td>
                <td><button type="button" onClick=${() => withdraw(n)}>撤回</button></td>
              </tr>`)}
            </tbody>
          </table>`}
        </section>
        <form onSubmit=${publish} aria-label="发布新信息">
          <label>内容（1–500 字）<textarea ref=${first} class=${bad("text")} rows="2" maxlength="500" required value=${text}
            onInput=${(e) => setText(e.target.value)}
            onKeyDown=${(e) => { if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); e.currentTarget.form.requestSubmit(); } }}></textarea></label>
          <label>级别<select value=${level} onChange=${(e) => setLevel(e.target.value)}>
            <option value="info">普通</option><option value="urgent">紧急（醒目显示）</option></select></label>
          <fieldset class=${`screens ${bad("screens")}`}><legend>显示在</legend>
            ${admin && html`<label class="check"><input type="checkbox" checked=${everyScreen}
              onChange=${(e) => setEveryScreen(e.target.checked)} />全部屏幕</label>`}
            ${screens.map((s) => html`<label class="check"><input type="checkbox" data-screen=${s.code} disabled=${everyScreen}
              checked=${chosen.includes(s.code)}
              onChange=${(e) => setChosen(e.target.checked ? [...chosen, s.code] : chosen.filter((c) => c !== s.code))} />${s.name}</label>`)}
          </fieldset>
          <label>开始时间（不填为立即）<input type="datetime-local" step="1" name="starts_at" class=${bad("starts_at")} value=${starts}
            onInput=${(e) => setStarts(e.target.value)} /></label>
          <label>结束时间（不填为撤回为止）<input type="datetime-local" step="1" name="expires_at" class=${bad("expires_at")} value=${ends}
            onInput=${(e) => setEnds(e.target.value)} /></label>
          <p class="error" role="alert">${error.text}</p>
          <div class="buttons">
            <button type="submit">发布（Ctrl+回车）</button>
            <button type="button" onClick=${onClose}>关闭（Esc）</button>
          </div>
        </form>
      </div>
    </div>`;
}
