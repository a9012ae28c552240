// Logging in (工号 + 密码, and the authenticator code when the account has
// one) and the first-login password change, shared by every staff page.
import { html, render, useState, useEffect, useRef } from "./ui.js";
import { api, setCsrf, currentSession } from "./api.js";

/** The login form; calls onDone(session) once logged in. */
export function Login({ title, onDone }) {
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  useEffect(() => first.current?.focus(), []);
  async function submit(ev) {
    ev.preventDefault();
    setBusy(true);
    const r = await api("POST", "/session", { code, password, totp: needTotp ? totp : undefined });
    setBusy(false);
    if (r.ok) { setCsrf(r.body.csrf_token); onDone(r.body); return; }
    if (r.code === "totp_required") { setNeedTotp(true); setError("请输入动态口令（身份验证器中的6位数字）"); return; }
    setError(r.message);
  }
  return html`
    <main class="login">
      <form onSubmit=${submit} aria-label="登录">
        <h1>${title}</h1>
        <label>工号<input ref=${first} name="code" autocomplete="username" value=${code}
          onInput=${(e) => setCode(e.target.value)} required /></label>
        <label>密码<input name="password" type="password" autocomplete="current-password" value=${password}
          onInput=${(e) => setPassword(e.target.value)} required /></label>
        ${needTotp && html`<label>动态口令<input name="totp" inputmode="numeric" autocomplete="one-time-code"
          value=${totp} onInput=${(e) => setTotp(e.target.value)} required /></label>`}
        <p class="error" role="alert">${error}</p>
        <button type="submit" disabled=${busy}>登录</button>
      </form>
    </main>`;
}

/** The forced password change of a first login; calls onDone() after it. */
export function ChangePassword({ rule, onDone }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState("");
  async function submit(ev) {
    ev.preventDefault();
    if (next !== again) { setError("两次输入的新密码不一致"); return; }
    const r = await api("POST", "/session/password", { current_password: current, new_password: next });
    if (r.ok) { onDone(); return; }
    setError(r.message);
  }
  return html`
    <main class="login">
      <form onSubmit=${submit} aria-label="修改密码">
        <h1>首次登录，请修改密码</h1>
        <label>当前密码<input type="password" autocomplete="current-password" value=${current}
          onInput=${(e) => setCurrent(e.target.value)} required /></label>
        <label>新密码<input type="password" autocomplete="new-password" value=${next}
          onInput=${(e) => setNext(e.target.value)} required /></label>
        <label>再次输入新密码<input type="password" autocomplete="new-password" value=${again}
          onInput=${(e) => setAgain(e.target.value)} required /></label>
        <p class="hint">密码规则：${rule}。修改后即可继续使用，无需重新登录。</p>
        <p class="error" role="alert">${error}</p>
        <button type="submit">修改密码</button>
      </form>
    </main>`;
}

/** Mounts a staff page: the login (and the first-login password change)
 * until there is a session, then `Page` with `session` and `onLogout`. */
export function mountStaffPage(title, Page) {
  function App() {
    const [session, setSession] = useState(undefined);
    const load = () => currentSession().then(setSession).catch(() => setSession(null));
    useEffect(() => { load(); }, []);
    if (session === undefined) return html`<p class="loading">正在加载…</p>`;
    if (session === null) return html`<${Login} title=${title} onDone=${setSession} />`;
    if (session.must_change_password) return html`<${ChangePassword} rule=${session.password_rule} onDone=${load} />`;
    return html`<${Page} session=${session} onLogout=${() => setSession(null)} />`;
  }
  render(html`<${App} />`, document.getElementById("app"));
}
