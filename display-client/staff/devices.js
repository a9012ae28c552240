// Screens as managed devices (屏幕管理), for administrators and the
// departments' nurses: every screen with what it shows, online or offline
// and when it was last heard from; register a new screen; move one to other
// rooms or another role (搬迁, 备用屏) — the running screen changes at once;
// give a screen a new device token (its address with the token, shown once
// and as a QR code for the person setting up the kiosk); revoke a token;
// retire a screen (停用: gone from the list, its token ended, wiped at once).
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";
import { mountStaffPage } from "./login.js";
import qrcode from "../vendor/qrcode-generator-2.0.4/qrcode.mjs";

const KINDS = { overview: "综合屏", door: "门口屏" };

function ago(iso) {
  if (!iso) return "从未连接";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} 秒前`;
  if (s < 3600) return `${Math.floor(s / 60)} 分钟前`;
  return new Date(iso).toLocaleString("zh-CN", { hour12: false });
}

function useEscape(onClose) {
  useEffect(() => {
    const esc = (e) => { if (e.key === "Escape") onClose(); };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
}

/** Register a screen, or reassign one (搬迁 / 备用屏). */
function AssignDialog({ screen, rooms, departments, onClose, onDone }) {
  const fresh = !screen;
  const [code, setCode] = useState(screen?.code || "");
  const [name, setName] = useState(screen?.name || "");
  const [kind, setKind] = useState(screen?.kind || "door");
  const [room, setRoom] = useState(screen?.kind === "door" ? screen.rooms[0] : rooms[0]?.code || "");
  const [department, setDepartment] = useState("");
  const [picked, setPicked] = useState(screen?.kind === "overview" ? screen.rooms : []);
  const [withAppointments, setWithAppointments] = useState(!!screen?.appointments);
  const [error, setError] = useState("");
  const first = useRef(null);
  useEscape(onClose);
  useEffect(() => first.current?.focus(), []);
  async function submit(ev) {
    ev.preventDefault();
    const body = { name, kind };
    if (kind === "door") { body.rooms = [room]; body.appointments = withAppointments; }
    else if (department) body.department = department;
    else body.rooms = picked;
    const r = await api("PUT", `/screens/${encodeURIComponent(code.trim())}`, body);
    if (r.ok) onDone(r.body.created ? `已注册 ${code}，请为它生成设备令牌` : `${code} 已重新分配，屏幕已即时更新`);
    else setError(r.message);
  }
  const toggle = (c) => setPicked(picked.includes(c) ? picked.filter((x) => x !== c) : [...picked, c]);
  return html`
    <div class="backdrop">
      <form class="dialog wide" role="dialog" aria-modal="true" aria-label=${fresh ? "注册新屏幕" : "重新分配"} onSubmit=${submit}
        onKeyDown=${(e) => { if (e.key === "Enter" && e.target.tagName === "SELECT") { e.preventDefault(); e.currentTarget.requestSubmit(); } }}>
        <h2>${fresh ? "注册新屏幕" : `重新分配 · ${screen.code}`}</h2>
        ${fresh && html`<label>屏幕编号（字母、数字、-）<input ref=${first} value=${code} onInput=${(e) => setCode(e.target.value)} required maxlength="32" /></label>`}
        <label>名称<input ref=${fresh ? null : first} value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="40" /></label>
        <label>类型<select value=${kind} onChange=${(e) => setKind(e.target.value)}>
          <option value="door">门口屏（一个诊室）</option><option value="overview">综合屏（多个诊室）</option></select></label>
        ${kind === "door" ? html`
          <label>诊室<select aria-label="诊室" value=${room} onChange=${(e) => setRoom(e.target.value)}>
            ${rooms.map((r) => html`<option value=${r.code}>${r.name}（${r.code}）</option>`)}</select></label>
          <label class="check"><input type="checkbox" checked=${withAppointments}
            onChange=${(e) => setWithAppointments(e.target.checked)} />显示本诊室今日预约（时段与隐去姓名）</label>` : html`
          <label>整个科室<select value=${department} onChange=${(e) => setDepartment(e.target.value)}>
            <option value="">（不选：按下面勾选的诊室）</option>
            ${departments.map((d) => html`<option value=${d.code}>${d.name}</option>`)}</select></label>
          ${!department && html`<fieldset class="rooms-pick"><legend>诊室</legend>
            ${rooms.map((r) => html`<label class="check"><input type="checkbox" checked=${picked.includes(r.code)}
              onChange=${() => toggle(r.code)} />${r.name}</label>`)}</fieldset>`}`}
        <p class="error" role="alert">${error}</p>
        <div class="buttons"><button type="submit">保存</button><button type="button" onClick=${onClose}>取消（Esc）</button></div>
      </form>
    </div>`;
}

/** A new device token: the address to open on the screen, shown once, and its QR code. */
function TokenDialog({ issued, onClose }) {
  useEscape(onClose);
  const button = useRef(null);
  useEffect(() => button.current?.focus(), []);
  const address = `${location.origin}${issued.url}`;
  const qr = qrcode(0, "M");
  qr.addData(address);
  qr.make();
  return html`
    <div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-label="设备令牌">
        <h2>${issued.screen} 的设备地址（只显示这一次）</h2>
        <p>在这台设备（屏幕或报到机）的浏览器（kiosk 模式）中打开下面的地址，或用手机扫码后发送到设备。旧令牌已失效。</p>
        <input class="address" readonly value=${address} onFocus=${(e) => e.target.select()} />
        <img class="qr" alt="设备地址二维码" src=${qr.createDataURL(4, 2)} />
        <div class="buttons"><button ref=${button} onClick=${onClose}>我已记下，关闭</button></div>
      </div>
    </div>`;
}

/** The kiosks (自助报到机): their areas, last contact and device token;
 * an administrator gives a new token (asked first when one is live) or
 * revokes it. */
function Kiosks({ kiosks, isAdmin, onIssued, say, reload }) {
  async function newToken(k) {
    if (k.has_token && !confirm(`为报到机 ${k.code} 发放新令牌？旧令牌立即失效，须在报到机上打开新地址后才能继续报到。`)) return;
    const r = await api("POST", `/kiosks/${k.code}/token`);
    if (r.ok) { onIssued({ screen: r.body.kiosk, url: r.body.url }); reload(); } else say(`${k.code}：${r.message}`, true);
  }
  async function revoke(k) {
    if (!confirm(`吊销报到机 ${k.code} 的设备令牌？这台报到机会立即停止报到。`)) return;
    const r = await api("DELETE", `/kiosks/${k.code}/token`);
    say(r.ok ? `${k.code} 的令牌已吊销` : `${k.code}：${r.message}`, !r.ok);
    reload();
  }
  return html`
    <h2>自助报到机</h2>
    <table aria-label="自助报到机">
      <thead><tr><th>编号</th><th>名称</th><th>办理科室</th><th>最后联系</th><th>设备令牌</th><th>操作</th></tr></thead>
      <tbody>${kiosks.map((k) => html`
        <tr key=${k.code} data-kiosk=${k.code}>
          <td>${k.code}</td><td>${k.name}</td><td>${k.departments.join("、")}</td>
          <td>${k.last_seen ? ago(k.last_seen) : "本次运行未联系"}</td>
          <td>${k.has_token ? "已发放" : "无"}</td>
          <td class="actions">${isAdmin ? html`
            <button onClick=${() => newToken(k)}>新令牌</button>
            ${k.has_token && html`<button onClick=${() => revoke(k)}>吊销令牌</button>`}` : "（由管理员管理）"}</td>
        </tr>`)}</tbody>
    </table>`;
}

function Devices({ session, onLogout }) {
  const [screens, setScreens] = useState(null);
  const [kiosks, setKiosks] = useState([]);
  const [rooms, setRooms] = useState([]);
  const [departments, setDepartments] = useState([]);
  const [dialog, setDialog] = useState(null);
  const [issued, setIssued] = useState(null);
  const [message, setMessage] = useState({ text: "", error: false });
  async function load() {
    const [s, r, d, k] = await Promise.all([api("GET", "/screens"), api("GET", "/rooms"), api("GET", "/departments"), api("GET", "/kiosks")]);
    if (k.ok) setKiosks(k.body.kiosks);
    if (s.status === 401) { onLogout(); return; }
    if (s.ok) setScreens(s.body.screens); else setMessage({ text: s.message, error: true });
    if (r.ok) setRooms(r.body.rooms);
    if (d.ok) setDepartments(d.body.departments);
  }
  useEffect(() => {
    load();
    const timer = setInterval(load, 10000);
    return () => clearInterval(timer);
  }, []);
  const roomName = (c) => rooms.find((r) => r.code === c)?.name || c;
  async function newToken(s) {
    // A new token ends the old one at once: a screen showing now goes dark
    // until the new address is opened on it. Ask first, as 吊销令牌 does.
    if (s.has_token && !confirm(`为 ${s.code} 发放新令牌？旧令牌立即失效，${s.online ? "这台正在显示的屏幕会停止显示，" : ""}须在屏幕上打开新地址后才恢复。`)) return;
    const r = await api("POST", `/screens/${s.code}/token`);
    if (r.ok) { setIssued(r.body); load(); } else setMessage({ text: `${s.code}：${r.message}`, error: true });
  }
  async function retire(s) {
    // Taken out of service: gone from this list, its token ended, the
    // screen wiped at once; a restart does not bring it back.
    if (!confirm(`停用屏幕 ${s.code}（${s.name}）？${s.online ? "它会立即停止显示，" : ""}令牌随之作废，列表中不再显示；重新注册同一编号可再次启用。`)) return;
    const r = await api("DELETE", `/screens/${encodeURIComponent(s.code)}`);
    setMessage(r.ok ? { text: `${s.code} 已停用`, error: false } : { text: `${s.code}：${r.message}`, error: true });
    load();
  }
  async function revoke(s) {
    if (!confirm(`吊销 ${s.code} 的设备令牌？这台屏幕会在几秒内停止显示。`)) return;
    const r = await api("DELETE", `/screens/${s.code}/token`);
    setMessage(r.ok ? { text: `${s.code} 的令牌已吊销`, error: false } : { text: `${s.code}：${r.message}`, error: true });
    load();
  }
  return html`
    <header class="bar">
      <h1>屏幕管理</h1>
      <span class="who">${session.staff.name}（${session.staff.code}）</span>
      <button onClick=${async () => { await api("DELETE", "/session"); onLogout(); }}>退出</button>
    </header>
    <main class="devices">
      <div class="toolbar">
        <button onClick=${() => setDialog({ screen: null })}>注册新屏幕</button>
        <p class=${message.error ? "error" : "ok"} role="status">${message.text}</p>
      </div>
      ${!screens ? html`<p class="loading">正在加载…</p>` : html`
      <table>
        <thead><tr><th>编号</th><th>名称</th><th>类型</th><th>显示的诊室</th><th>状态</th><th>最后联系</th><th>设备令牌</th><th>操作</th></tr></thead>
        <tbody>${screens.map((s) => html`
          <tr key=${s.code} data-screen=${s.code}>
            <td>${s.code}</td><td>${s.name}</td><td>${KINDS[s.kind] || s.kind}</td>
            <td class="rooms">${s.rooms.map(roomName).join("、")}</td>
            <td><span class=${s.online ? "online" : "offline"} data-state=${s.state}>${{ online: "在线", unauthorized: "未授权（令牌无效，请发放新令牌）", reconnecting: "重连中", offline: "离线", never_seen: "未连接过" }[s.state] || (s.online ? "在线" : "离线")}</span></td>
            <td>${ago(s.last_seen)}</td>
            <td>${s.has_token ? "已发放" : "无"}</td>
            <td class="actions">
              <button onClick=${() => setDialog({ screen: s })}>重新分配</button>
              <button onClick=${() => newToken(s)}>新令牌</button>
              ${s.has_token && html`<button onClick=${() => revoke(s)}>吊销令牌</button>`}
              <button class="danger" onClick=${() => retire(s)}>停用</button>
            </td>
          </tr>`)}</tbody>
      </table>`}
      <${Kiosks} kiosks=${kiosks} isAdmin=${session.staff.role === "admin"} onIssued=${setIssued} reload=${load}
        say=${(text, error = false) => setMessage({ text, error })} />
    </main>
    ${dialog && html`<${AssignDialog} screen=${dialog.screen} rooms=${rooms} departments=${departments}
      onClose=${() => setDialog(null)}
      onDone=${(t) => { setDialog(null); setMessage({ text: t, error: false }); load(); }} />`}
    ${issued && html`<${TokenDialog} issued=${issued} onClose=${() => setIssued(null)} />`}`;
}

mountStaffPage("屏幕管理登录", Devices);
