// The admin pages (系统管理): staff accounts and roles, HIS clients, each
// queue's rules with the validation errors shown beside the field, and the
// day end (日终) with a preview of what it closes. Accounts
// and clients are for administrators; a nurse may open the rules of her
// departments' queues. A new password or API key is shown once.
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";
import { mountStaffPage } from "./login.js";

const ROLES = { admin: "管理员", nurse: "护士", doctor: "医生" };
const RULE_LABELS = {
  base_order: "排序依据", return_interval: "复诊插入间隔（普通患者数）", return_ratio: "复诊比例",
  recall_interval: "过号召回间隔", recall_mode: "过号召回方式", fairness_cap: "连续优先上限",
  max_overtaken: "最多被越过次数", max_misses: "过号次数上限", locked_head: "锁定前几位",
  appointment_mode: "预约排序方式", early_check_in: "提前签到", late_arrival: "迟到处理",
  special_levels: "特殊人群级别", elderly_min_age: "高龄年龄（岁）", child_max_age: "幼儿年龄（岁）",
  day: "门诊时段", slot_minutes: "号源时段（分钟）", return_as_normal: "复诊按普通排队",
  early_check_in_minutes: "提前签到（分钟）", late_arrival_interval: "迟到插入间隔", sessions: "门诊时段",
};
const SCOPES = { registrations: "挂号与预约", master_data: "医生资料", calling: "叫号（代医生）", read: "只读", results: "检查结果" };

// The integrity report's kinds (医生信息完整性检查), in the report's order.
const FINDING_LABELS = {
  room_doctor_unknown: "诊室医生不在医生资料中",
  unknown_department: "科室不存在",
  duplicate_name: "同名医生",
  missing_title: "缺职称",
  missing_photo: "缺照片",
  missing_introduction: "缺简介",
};

/** The day end (日终): what it would close now, then the close itself,
 * with a reason and a confirmation; the answer says what it did. */
function DayClose({ say }) {
  const [preview, setPreview] = useState(null);
  const [reason, setReason] = useState("门诊结束");
  const [done, setDone] = useState(null);
  const load = async () => {
    const r = await api("GET", "/day/preview");
    if (r.ok) setPreview(r.body); else say(r.message, true);
  };
  useEffect(() => { load(); }, []);
  async function close(ev) {
    ev.preventDefault();
    if (!confirm(`办理 ${preview.day} 日终？仍在候诊、就诊、过号和检查中的患者将全部关闭，不能撤销。`)) return;
    const r = await api("POST", "/day/close", { reason });
    if (!r.ok) { say(r.message, true); return; }
    setDone(r.body);
    say(`${r.body.day} 日终已办理`);
    load();
  }
  if (!preview) return html`<p class="loading">正在加载…</p>`;
  return html`
    <section class="day-close" aria-label="日终">
      <h2>日终（${preview.day}）${preview.closed ? html` <small class="ok">今日已办理过日终</small>` : ""}</h2>
      <p>日终会关闭今天仍未结束的就诊，让所有屏幕和分诊台以干净的状态开始第二天：</p>
      <table class="preview"><tbody>
        <tr data-row="not_seen"><th>未就诊（候诊、就诊中）</th><td>${preview.not_seen} 人</td></tr>
        <tr data-row="missed"><th>过号未回</th><td>${preview.missed} 人</td></tr>
        <tr data-row="exam"><th>检查未回</th><td>${preview.exam} 人</td></tr>
        <tr data-row="rooms"><th>重新开诊的诊室（今日暂停或停诊）</th><td>${preview.rooms_to_reopen.join("、") || "无"}</td></tr>
        <tr data-row="notices"><th>撤下的当日通知（含停诊通知）</th><td>${preview.notices_to_withdraw.length === 0 ? "无"
          : html`<ul>${preview.notices_to_withdraw.map((n) => html`<li>${n}</li>`)}</ul>`}</td></tr>
        <tr><th>坐诊医生</th><td>恢复为配置的医生（医生第二天重新签到）</td></tr>
      </tbody></table>
      <form onSubmit=${close}>
        <label>原因<input value=${reason} maxlength="200" onInput=${(e) => setReason(e.target.value)} required /></label>
        <button type="submit" class="danger">办理日终</button>
      </form>
      ${done && html`<p class="ok" data-done="true">已关闭：未就诊 ${done.not_seen} 人、过号未回 ${done.missed_unreturned} 人、检查未回 ${done.exam_unreturned} 人。</p>`}
      <p class="hint">每天到配置的时间（<code>[calling] day_end</code>）会自动办理；服务器停止时也可在服务器上运行 <code>triage day close --day 今天日期 --reason 原因</code>（<code>--preview</code> 只显示）。</p>
    </section>`;
}

/** The doctors' master data check: counts by kind, then what to fix. */
function DoctorsCheck({ say }) {
  const [report, setReport] = useState(null);
  const load = async () => {
    const r = await api("GET", "/doctors/integrity");
    if (r.ok) setReport(r.body); else say(r.message, true);
  };
  useEffect(() => { load(); }, []);
  if (!report) return html`<section aria-label="医生信息检查"><p>正在检查……</p></section>`;
  const total = report.findings.length;
  return html`
    <section aria-label="医生信息检查">
      <p class="summary">共 ${report.doctors} 位医生；${total === 0 ? "未发现问题" : `发现 ${total} 项待处理`}
        （检查时间 ${new Date(report.checked_at).toLocaleString("zh-CN", { hour12: false })}；每周自动检查一次，也可在 HIS 更新后重新检查）
        <button onClick=${load}>重新检查</button></p>
      <table class="counts">
        <thead><tr><th>问题</th><th>数量</th></tr></thead>
        <tbody>${Object.entries(FINDING_LABELS).map(([k, v]) => html`
          <tr key=${k} data-kind=${k} class=${report.counts[k] ? "has" : ""}><td>${v}</td><td>${report.counts[k] ?? 0}</td></tr>`)}</tbody>
      </table>
      ${total > 0 && html`<table class="findings">
        <thead><tr><th>问题</th><th>医生</th><th>诊室</th><th>说明</th></tr></thead>
        <tbody>${report.findings.map((f, i) => html`
          <tr key=${i} data-kind=${f.kind}><td>${FINDING_LABELS[f.kind] || f.kind}</td><td>${f.doctor_code || ""}</td>
            <td>${f.room_code || ""}</td><td>${f.detail}</td></tr>`)}</tbody>
      </table>`}
      <p class="hint">医生资料由 HIS 同步（PUT /api/v1/doctors）；请在 HIS 中补全后重新检查。</p>
    </section>`;
}

function Secret({ title, value, onClose }) {
  const button = useRef(null);
  useEffect(() => {
    button.current?.focus();
    const esc = (e) => { if (e.key === "Escape") onClose(); };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  return html`
    <div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-label=${title}>
        <h2>${title}（只显示这一次）</h2>
        <input class="address secret" readonly value=${value} onFocus=${(e) => e.target.select()} />
        <p>请立即交给本人或写入 HIS 配置；系统不保存明文，之后无法再查看。</p>
        <div class="buttons"><button ref=${button} onClick=${onClose}>我已记下，关闭</button></div>
      </div>
    </div>`;
}

function Accounts({ departments, rooms, say }) {
  const [list, setList] = useState([]);
  const [form, setForm] = useState({ code: "", name: "", role: "nurse", scope: [] });
  const [secret, setSecret] = useState(null);
  const load = async () => { const r = await api("GET", "/accounts"); if (r.ok) setList(r.body.accounts); else say(r.message, true); };
  useEffect(() => { load(); }, []);
  const options = form.role === "nurse" ? departments.map((d) => [d.code, d.name]) : form.role === "doctor" ? rooms.map((r) => [r.code, r.name]) : [];
  async function add(ev) {
    ev.preventDefault();
    const r = await api("POST", "/accounts", form);
    if (!r.ok) { say(r.message, true); return; }
    setSecret({ title: `${r.body.code} 的初始密码`, value: r.body.password });
    setForm({ code: "", name: "", role: form.role, scope: [] });
    load();
  }
  async function act(a, path, label) {
    const r = await api("POST", `/accounts/${a.code}/${path}`);
    if (!r.ok) { say(`${a.code}：${r.message}`, true); return; }
    if (r.body.password) setSecret({ title: `${a.code} 的新密码`, value: r.body.password });
    say(`${a.code}：${label}`);
    load();
  }
  return html`
    <section aria-label="账号">
      <form class="inline" onSubmit=${add} aria-label="新建账号">
        <label>工号<input value=${form.code} onInput=${(e) => setForm({ ...form, code: e.target.value })} required maxlength="32" /></label>
        <label>姓名<input value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} required maxlength="40" /></label>
        <label>角色<select value=${form.role} onChange=${(e) => setForm({ ...form, role: e.target.value, scope: [] })}>
          ${Object.entries(ROLES).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
        ${options.length > 0 && html`<label>${form.role === "nurse" ? "科室" : "诊室"}<select multiple size="4"
          onChange=${(e) => setForm({ ...form, scope: [...e.target.selectedOptions].map((o) => o.value) })}>
          ${options.map(([c, n]) => html`<option value=${c} selected=${form.scope.includes(c)}>${n}</option>`)}</select></label>`}
        <button type="submit">新建账号</button>
      </form>
      <table>
        <thead><tr><th>工号</th><th>姓名</th><th>角色</th><th>范围</th><th>状态</th><th>操作</th></tr></thead>
        <tbody>${list.map((a) => html`
          <tr key=${a.code} data-account=${a.code}>
            <td>${a.code}</td><td>${a.name}</td><td>${ROLES[a.role] || a.role}</td><td>${a.scope.join("、")}</td>
            <td>${a.disabled ? "已停用" : a.must_change_password ? "待改密码" : "正常"}${a.totp ? " · 双因素" : ""}</td>
            <td class="actions">
              <button onClick=${() => act(a, "password", "已重置密码")}>重置密码</button>
              ${a.disabled
                ? html`<button onClick=${() => act(a, "enable", "已启用")}>启用</button>`
                : html`<button onClick=${() => act(a, "disable", "已停用")}>停用</button>`}
            </td>
          </tr>`)}</tbody>
      </table>
      ${secret && html`<${Secret} ...${secret} onClose=${() => setSecret(null)} />`}
    </section>`;
}

function Clients({ say }) {
  const [list, setList] = useState([]);
  const [form, setForm] = useState({ name: "", scopes: ["registrations"], signed: true, rate_per_minute: 600 });
  const [secret, setSecret] = useState(null);
  const load = async () => { const r = await api("GET", "/clients"); if (r.ok) setList(r.body.clients); else say(r.message, true); };
  useEffect(() => { load(); }, []);
  async function add(ev) {
    ev.preventDefault();
    const r = await api("POST", "/clients", { ...form, rate_per_minute: Number(form.rate_per_minute) });
    if (!r.ok) { say(r.message, true); return; }
    setSecret({ title: `${r.body.name} 的接口密钥`, value: r.body.key });
    load();
  }
  async function revoke(c) {
    if (!confirm(`吊销 ${c.name}？该系统的请求将被拒绝。`)) return;
    const r = await api("DELETE", `/clients/${encodeURIComponent(c.name)}`);
    say(r.ok ? `${c.name} 已吊销` : r.message, !r.ok);
    load();
  }
  const toggle = (s) => setForm({ ...form, scopes: form.scopes.includes(s) ? form.scopes.filter((x) => x !== s) : [...form.scopes, s] });
  return html`
    <section aria-label="接口客户端">
      <form class="inline" onSubmit=${add} aria-label="新建接口客户端">
        <label>名称<input value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} required /></label>
        <fieldset><legend>权限</legend>${Object.entries(SCOPES).map(([k, v]) => html`
          <label class="check"><input type="checkbox" checked=${form.scopes.includes(k)} onChange=${() => toggle(k)} />${v}</label>`)}</fieldset>
        <label class="check"><input type="checkbox" checked=${form.signed} onChange=${(e) => setForm({ ...form, signed: e.target.checked })} />必须签名</label>
        <label>每分钟请求上限<input type="number" min="1" value=${form.rate_per_minute} onInput=${(e) => setForm({ ...form, rate_per_minute: e.target.value })} /></label>
        <button type="submit">新建客户端</button>
      </form>
      <table>
        <thead><tr><th>名称</th><th>密钥编号</th><th>权限</th><th>签名</th><th>上限/分钟</th><th>状态</th><th>操作</th></tr></thead>
        <tbody>${list.map((c) => html`
          <tr key=${c.name} data-client=${c.name}>
            <td>${c.name}</td><td>tk_${c.key_id}</td><td>${c.scopes.map((s) => SCOPES[s] || s).join("、")}</td>
            <td>${c.signed ? "是" : "否"}</td><td>${c.rate_per_minute}</td><td>${c.revoked_at ? "已吊销" : "有效"}</td>
            <td class="actions">${!c.revoked_at && html`<button onClick=${() => revoke(c)}>吊销</button>`}</td>
          </tr>`)}</tbody>
      </table>
      ${secret && html`<${Secret} ...${secret} onClose=${() => setSecret(null)} />`}
    </section>`;
}

/** How each rule is edited: the control, its choices (Chinese labels of
 * the API's codes) and a hint; in the order the form shows them. */
const RULE_FIELDS = [
  ["排序", [
    ["base_order", "select", { check_in: "签到顺序", his_sequence: "HIS 挂号序号" }],
    ["return_as_normal", "check", "复诊患者按普通患者排队（不插入）"],
    ["return_interval", "number", "每 N 位普通患者后插入一位复诊（0–50）"],
    ["return_ratio", "number", "按比例：每 K 次叫号一位复诊（2–20；0 = 不用比例）"],
    ["recall_mode", "select", { interval: "间隔插入", end_of_slot: "排到当前号源时段末尾", end_of_session: "排到当前门诊时段末尾" }],
    ["recall_interval", "number", "召回患者前先叫 N 位普通患者（0–50）"],
    ["fairness_cap", "number", "连续 K 位优先/插入后先叫普通患者（1–50；0 = 不限）"],
    ["max_overtaken", "number", "普通患者被越过 M 次后不再被越过（1–50；0 = 不限）"],
    ["max_misses", "number", "过号几次视为未到（1–9）"],
    ["locked_head", "number", "已通知准备的前几位不再被插队（0–10；0 = 不锁定）"],
  ]],
  ["预约", [
    ["appointment_mode", "select", { merged: "预约与现场统一排序", always_first: "预约患者全部优先", slot: "按号源时段" }],
    ["early_check_in_minutes", "number", "可提前签到的分钟数（-1 = 任何时间，0 = 不可提前，最多 720）"],
    ["late_arrival", "select", { interval: "间隔插入", as_on_time: "按准时处理", end_of_session: "排到门诊时段末尾", end_of_slot: "排到号源时段末尾" }],
    ["late_arrival_interval", "number", "迟到患者前先叫 N 位普通患者（0–50）"],
  ]],
  ["特殊人群", [
    ["special_levels", "levels", "级别：1 最先；留空 = 不优先"],
    ["elderly_min_age", "number", "高龄老人：年满多少岁（50–120；不能关闭）"],
    ["child_max_age", "number", "幼儿：不满多少岁（1–18；不能关闭）"],
  ]],
  ["门诊时段", [
    ["slot_minutes", "number", "每个号源时段的分钟数（5–240）"],
    ["sessions", "sessions", "门诊时段（1–6 个，按时间顺序，不重叠）"],
  ]],
];
const GROUP_LABELS = { military: "军人", elderly: "高龄老人", disabled: "残疾人", pregnant: "孕妇", child: "幼儿" };

/** The changed fields of a rules form, as the PUT takes them. */
function changes(form, edited) {
  const body = {};
  for (const [k, v] of Object.entries(edited)) {
    // An emptied number keeps its value: no rule is switched off by
    // clearing it (0 or -1 say "off" where a rule has one).
    if (v === null || v === undefined) continue;
    if (JSON.stringify(v) !== JSON.stringify(form[k] ?? null)) body[k] = v;
  }
  // Pairs that only mean something together.
  if ("late_arrival" in body && edited.late_arrival === "interval") body.late_arrival_interval = edited.late_arrival_interval ?? 3;
  if (edited.late_arrival !== "interval") delete body.late_arrival_interval;
  if (body.return_as_normal === false) body.return_interval = edited.return_interval ?? 3;
  if (edited.return_as_normal) delete body.return_interval;
  return body;
}

/** One queue's rules: a control each (choices, numbers, the special-group
 * levels, the sessions); the server's validation error beside its field. */
function Rules({ queues, say }) {
  const [code, setCode] = useState(queues[0]?.code || "");
  const [form, setForm] = useState(null);
  const [edited, setEdited] = useState(null);
  const [errors, setErrors] = useState({});
  const [reason, setReason] = useState("");
  const load = async (c) => {
    const r = await api("GET", `/queues/${c}/rules`);
    if (r.ok) { setForm(r.body.form); setEdited(structuredClone(r.body.form)); setErrors({}); } else say(r.message, true);
  };
  useEffect(() => { if (code) load(code); }, [code]);
  const set = (key, value) => setEdited({ ...edited, [key]: value });
  const number = (v) => (v === "" ? null : Number(v));
  async function save(ev) {
    ev.preventDefault();
    const body = changes(form, edited);
    if (Object.keys(body).length === 0) { say("没有修改"); return; }
    const r = await api("PUT", `/queues/${code}/rules`, { ...body, reason });
    if (r.ok) { say(`${code} 的规则已保存，立即生效`); setReason(""); load(code); return; }
    setErrors(r.field ? { [r.field]: r.message } : { _: r.message });
  }
  const err = (f) => errors[f] && html`<span class="error" role="alert">${errors[f]}</span>`;
  // An error on a nested field (special_levels.x, sessions[0].end) shows
  // beside that control; the top-level key marks the field.
  const top = (k) => Object.keys(errors).some((f) => f === k || f.startsWith(`${k}.`) || f.startsWith(`${k}[`));
  function control(k, kind, extra) {
    const v = edited[k];
    const id = `rule-${k}`;
    if (kind === "select") {
      return html`<select id=${id} value=${v} onChange=${(e) => set(k, e.target.value)}>
        ${Object.entries(extra).map(([c, l]) => html`<option value=${c}>${l}</option>`)}</select>`;
    }
    if (kind === "check") {
      return html`<label class="check"><input id=${id} type="checkbox" checked=${!!v} onChange=${(e) => set(k, e.target.checked)} />${extra}</label>`;
    }
    if (kind === "number") {
      const disabled = (k === "return_interval" && edited.return_as_normal) || (k === "late_arrival_interval" && edited.late_arrival !== "interval");
      return html`<input id=${id} type="number" disabled=${disabled} value=${v ?? ""} onInput=${(e) => set(k, number(e.target.value))} />
        <small>${extra}</small>`;
    }
    if (kind === "levels") {
      const levels = v || {};
      return html`<div class="levels">${Object.entries(GROUP_LABELS).map(([tag, label]) => html`
        <label>${label}<input type="number" min="1" max="9" data-level=${tag} value=${levels[tag] ?? ""}
          onInput=${(e) => { const next = { ...levels }; if (e.target.value === "") delete next[tag]; else next[tag] = Number(e.target.value); set(k, next); }} />
          ${err(`special_levels.${tag}`)}</label>`)}</div><small>${extra}</small>`;
    }
    const list = v || [];
    const put = (i, field, value) => set(k, list.map((x, j) => (j === i ? { ...x, [field]: value } : x)));
    return html`<div class="sessions">${list.map((x, i) => html`
      <div class="session" data-session=${i}>
        <input aria-label="名称" value=${x.name} onInput=${(e) => put(i, "name", e.target.value)} />
        <input aria-label="开始" type="time" value=${x.start} onInput=${(e) => put(i, "start", e.target.value)} />–<input
          aria-label="结束" type="time" value=${x.end} onInput=${(e) => put(i, "end", e.target.value)} />
        <button type="button" onClick=${() => set(k, list.filter((_, j) => j !== i))}>删除</button>
        ${err(`sessions[${i}].name`)}${err(`sessions[${i}].start`)}${err(`sessions[${i}].end`)}
      </div>`)}
      <button type="button" disabled=${list.length >= 6} onClick=${() => set(k, [...list, { name: "", start: "", end: "" }])}>添加时段</button>
      <small>${extra}</small></div>`;
  }
  return html`
    <section aria-label="队列规则">
      <label>队列<select value=${code} onChange=${(e) => setCode(e.target.value)}>
        ${queues.map((q) => html`<option value=${q.code}>${q.name}（${q.code}）</option>`)}</select></label>
      ${edited && html`
      <form class="rules" onSubmit=${save} aria-label="规则">
        ${RULE_FIELDS.map(([group, fields]) => html`
          <fieldset><legend>${group}</legend>
            ${fields.map(([k, kind, extra]) => html`
              <div class=${`field${top(k) ? " invalid" : ""}`} data-field=${k}>
                <label for=${`rule-${k}`} title=${`API: ${k}`}>${RULE_LABELS[k] || k}</label>
                ${control(k, kind, extra)}
                ${err(k)}
              </div>`)}
          </fieldset>`)}
        <div class="field"><label for="rule-reason">修改原因</label>
          <input id="rule-reason" value=${reason} onInput=${(e) => setReason(e.target.value)} required maxlength="200" /></div>
        ${errors._ && html`<p class="error" role="alert">${errors._}</p>`}
        <button type="submit" disabled=${Object.keys(changes(form, edited)).length === 0}>保存（立即生效）</button>
      </form>`}
    </section>`;
}

function Admin({ session, onLogout }) {
  const isAdmin = session.staff.role === "admin";
  const [tab, setTab] = useState(isAdmin ? "accounts" : "rules");
  const [message, setMessage] = useState({ text: "", error: false });
  const [departments, setDepartments] = useState([]);
  const [rooms, setRooms] = useState([]);
  const [queues, setQueues] = useState([]);
  useEffect(() => {
    api("GET", "/departments").then((r) => r.ok && setDepartments(r.body.departments));
    api("GET", "/rooms").then((r) => r.ok && setRooms(r.body.rooms));
    api("GET", "/queues").then((r) => r.ok && setQueues(r.body.queues));
  }, []);
  const say = (text, error = false) => setMessage({ text, error });
  const tabs = [...(isAdmin ? [["accounts", "账号"], ["clients", "接口客户端"]] : []), ["rules", "队列规则"], ["doctors", "医生信息检查"],
    ...(isAdmin ? [["day", "日终"]] : [])];
  return html`
    <header class="bar">
      <h1>系统管理</h1>
      <nav role="tablist">${tabs.map(([k, v]) => html`
        <button role="tab" aria-selected=${tab === k} class=${tab === k ? "current" : ""} onClick=${() => setTab(k)}>${v}</button>`)}</nav>
      <span class="who">${session.staff.name}（${session.staff.code}）</span>
      <button onClick=${async () => { await api("DELETE", "/session"); onLogout(); }}>退出</button>
    </header>
    <main class="admin">
      <p class=${message.error ? "error" : "ok"} role="status">${message.text}</p>
      ${tab === "accounts" && html`<${Accounts} departments=${departments} rooms=${rooms} say=${say} />`}
      ${tab === "clients" && html`<${Clients} say=${say} />`}
      ${tab === "rules" && queues.length > 0 && html`<${Rules} queues=${queues} say=${say} />`}
      ${tab === "doctors" && html`<${DoctorsCheck} say=${say} />`}
      ${tab === "day" && html`<${DayClose} say=${say} />`}
    </main>`;
}

mountStaffPage("系统管理登录", Admin);
