// Workload statistics (工作量统计) for administrators, nurses and doctors
// (each sees their departments): a date range and a department; calls per
// hour, waits and workload per performer as charts (uPlot, vendored), the
// figures per performer and the two performance indicators as tables, the
// export to Excel (CSV with the same figures), and how well the wait ranges
// held on the latest backtest (`triage wait backtest`).
import { html, useState, useEffect, useRef } from "./ui.js";
import { api } from "./api.js";
import { mountStaffPage } from "./login.js";
import uPlot from "../vendor/uplot-1.6.32/uPlot.esm.js";

// Service days are Beijing days (as the server counts them), whatever
// the PC's time zone.
const day = (d) => new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
const fmt = (x) => (x === null || x === undefined ? "—" : Number(x).toFixed(1));

/** A bar chart of `series` ({ label, values, color }) over `labels`. */
function Bars({ title, labels, series, unit }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current || labels.length === 0) return undefined;
    // One series: a bar centred on each label; two: side by side.
    const align = (i) => (series.length === 1 ? 0 : i === 0 ? -1 : 1);
    const size = series.length === 1 ? 0.6 : 0.35;
    const width = Math.max(320, box.current.clientWidth || 600);
    const plot = new uPlot({
      title, width, height: 240, legend: { live: false },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { values: (u, vals) => vals.map((i) => (Number.isInteger(i) ? labels[i] ?? "" : "")), incrs: [1], font: "12px sans-serif" },
        { label: unit, font: "12px sans-serif" },
      ],
      series: [{ label: "" }, ...series.map((s, i) => ({
        label: s.label, stroke: s.color, fill: `${s.color}99`, width: 1,
        paths: uPlot.paths.bars({ size: [size, 60], align: align(i) }),
        points: { show: false },
      }))],
    }, [labels.map((_, i) => i), ...series.map((s) => s.values)], box.current);
    return () => plot.destroy();
  }, [JSON.stringify(labels), JSON.stringify(series)]);
  return html`<figure class="chart" data-chart=${title}>
    <div ref=${box}></div>
    ${labels.length === 0 && html`<p class="empty">（所选期间没有数据）</p>`}
  </figure>`;
}

const pct = (x) => `${Math.round(x * 100)}%`;

/** How well the wait ranges held on the latest backtest. */
function Calibration({ calibration, departments }) {
  if (calibration === undefined) return null;
  if (calibration?.error) {
    return html`<section aria-label="候诊时间预测准确度"><h2>候诊时间预测准确度</h2>
      <p class="error" role="status">${calibration.error}</p></section>`;
  }
  if (calibration === null) {
    return html`<section aria-label="候诊时间预测准确度"><h2>候诊时间预测准确度</h2>
      <p class="empty">尚未回测：信息科运行 triage wait backtest 后在此显示（见运维手册）。</p></section>`;
  }
  const c = calibration;
  // Nothing scored: no figures, not zeros.
  const some = (s, x) => (s.scored > 0 ? x : "—");
  const row = (label, s, key) => html`<tr data-calibration=${key}>
    <td>${label}</td><td>${s.scored}</td><td>${some(s, pct(s.p90_coverage))}</td><td>${some(s, pct(s.p50_coverage))}</td>
    <td>${some(s, fmt(s.p50_error_minutes))}</td><td>${some(s, fmt(s.old_error_minutes))}</td></tr>`;
  return html`<section aria-label="候诊时间预测准确度">
    <h2>候诊时间预测准确度（最近一次回测：${c.from} 至 ${c.to}）</h2>
    <p>患者页面和小票上的“约 P50–P90 分钟”：按当时已知情况重放每次签到，看实际在 P90 之前被叫到的比例（目标 ≥ 90%）、在 P50 之前的比例（约 50%），以及误差。</p>
    <table aria-label="预测准确度">
      <thead><tr><th></th><th>评分人次</th><th>P90 覆盖</th><th>P50 覆盖</th><th>P50 误差中位数（分）</th><th>旧公式误差中位数（分）</th></tr></thead>
      <tbody>${c.overall && row("全院", c.overall, "overall")}
        ${c.departments.map((d) => row(departments.find((x) => x.code === d.department)?.name || d.department, d.score, d.department))}</tbody>
    </table></section>`;
}

function Stats({ session, onLogout }) {
  const today = new Date();
  const [from, setFrom] = useState(day(new Date(today.getTime() - 6 * 86400000)));
  const [to, setTo] = useState(day(today));
  const [department, setDepartment] = useState("");
  const [departments, setDepartments] = useState([]);
  const [data, setData] = useState(null);
  const [error, setError] = useState("");
  const query = (extra) => {
    const q = new URLSearchParams({ from, to, ...extra });
    if (department) q.set("department", department);
    return q.toString();
  };
  async function load(ev) {
    ev?.preventDefault();
    setError("");
    const [byPerformer, byHour, indicators] = await Promise.all([
      api("GET", `/stats/workload?${query({ group_by: "performer" })}`),
      api("GET", `/stats/workload?${query({ group_by: "hour" })}`),
      api("GET", `/stats/indicators?${query({ by: "department" })}`),
    ]);
    if (byPerformer.status === 401) { onLogout(); return; }
    const bad = [byPerformer, byHour, indicators].find((r) => !r.ok);
    if (bad) { setError(bad.message); return; }
    setData({ performers: byPerformer.body, hours: byHour.body, indicators: indicators.body });
  }
  // Names beside codes: the doctors, and (for an administrator) every
  // staff account.
  const [names, setNames] = useState({});
  const [calibration, setCalibration] = useState(undefined);
  useEffect(() => {
    api("GET", "/stats/wait-calibration").then((r) => setCalibration(r.ok ? r.body.calibration : { error: r.message }));
    api("GET", "/departments").then((r) => { if (r.ok) setDepartments(r.body.departments); });
    Promise.all([api("GET", "/doctors"), api("GET", "/accounts")]).then(([d, a]) => {
      const known = {};
      if (a.ok) for (const x of a.body.accounts) known[x.code] = x.name;
      if (d.ok) for (const x of d.body.doctors) known[x.code] = x.name;
      setNames(known);
    });
    load();
  }, []);
  const performers = data?.performers.groups || [];
  const hours = data?.hours.groups || [];
  const total = data?.performers.total;
  const code = (g) => g.key.performer;
  const named = (g) => (names[code(g)] ? `${names[code(g)]}（${code(g)}）` : code(g) === "（无）" ? "（未记录）" : code(g));
  return html`
    <header class="bar">
      <h1>工作量统计</h1>
      <span class="who">${session.staff.name}（${session.staff.code}）</span>
      <button onClick=${async () => { await api("DELETE", "/session"); onLogout(); }}>退出</button>
    </header>
    <main class="stats">
      <form class="toolbar" aria-label="统计条件" onSubmit=${load}>
        <label>开始日期<input type="date" name="from" value=${from} onInput=${(e) => setFrom(e.target.value)} required /></label>
        <label>结束日期<input type="date" name="to" value=${to} onInput=${(e) => setTo(e.target.value)} required /></label>
        <label>科室<select name="department" value=${department} onChange=${(e) => setDepartment(e.target.value)}>
          <option value="">全部（我可查看的）</option>
          ${departments.map((d) => html`<option value=${d.code}>${d.name}</option>`)}</select></label>
        <button type="submit">查询</button>
        <a class="export" href=${`/api/v1/stats/workload?${query({ group_by: "performer,day", format: "csv" })}`} download>导出 Excel（CSV）</a>
        <p class="error" role="status">${error}</p>
      </form>
      ${!data ? html`<p class="loading">正在统计…</p>` : html`
        <p class="summary" aria-label="合计">
          就诊 <b data-total="visits">${total.visits}</b> 人次，已叫号 <b data-total="called">${total.called}</b>，
          完成 <b data-total="finished">${total.finished}</b>，未到 <b>${total.no_shows}</b>，重呼 <b>${total.recalls}</b>；
          平均等候 <b>${fmt(total.wait_minutes.mean)}</b> 分钟（90% 在 ${fmt(total.wait_minutes.p90)} 分钟内），
          平均诊疗 <b>${fmt(total.service_minutes.mean)}</b> 分钟
        </p>
        <div class="charts">
          <${Bars} title="每小时叫号" unit="人次" labels=${hours.map((g) => `${g.key.hour}时`)}
            series=${[{ label: "叫号", values: hours.map((g) => g.called), color: "#1f6feb" }]} />
          <${Bars} title="各医生等候时间" unit="分钟" labels=${performers.map(named)}
            series=${[{ label: "平均", values: performers.map((g) => g.wait_minutes.mean ?? 0), color: "#2da44e" },
                      { label: "90%", values: performers.map((g) => g.wait_minutes.p90 ?? 0), color: "#bf8700" }]} />
          <${Bars} title="各医生工作量" unit="人次" labels=${performers.map(named)}
            series=${[{ label: "完成", values: performers.map((g) => g.finished), color: "#8250df" }]} />
        </div>
        <h2>按医生</h2>
        <table aria-label="按医生">
          <thead><tr><th>医生</th><th>就诊</th><th>叫号</th><th>完成</th><th>未到</th><th>重呼</th>
            <th>等候 平均/中位/90%（分）</th><th>诊疗 平均/中位/90%（分）</th></tr></thead>
          <tbody>${performers.map((g) => html`<tr data-performer=${code(g)}>
            <td>${named(g)}</td><td>${g.visits}</td><td>${g.called}</td><td>${g.finished}</td><td>${g.no_shows}</td><td>${g.recalls}</td>
            <td>${fmt(g.wait_minutes.mean)} / ${fmt(g.wait_minutes.median)} / ${fmt(g.wait_minutes.p90)}</td>
            <td>${fmt(g.service_minutes.mean)} / ${fmt(g.service_minutes.median)} / ${fmt(g.service_minutes.p90)}</td></tr>`)}</tbody>
        </table>
        <h2>绩效指标（国家三级公立医院绩效考核）</h2>
        <table aria-label="绩效指标">
          <thead><tr><th>科室</th><th>就诊</th><th>预约</th><th>预约诊疗率</th><th>预约后平均等待（分）</th></tr></thead>
          <tbody>${data.indicators.groups.map((g) => html`<tr data-department=${g.key}>
            <td>${departments.find((d) => d.code === g.key)?.name || g.key}</td><td>${g.visits}</td><td>${g.appointments}</td>
            <td>${g.appointment_rate_percent === null ? "—" : `${g.appointment_rate_percent.toFixed(1)}%`}</td>
            <td>${fmt(g.mean_wait_after_appointment_minutes)}</td></tr>`)}</tbody>
        </table>`}
      <${Calibration} calibration=${calibration} departments=${departments} />
    </main>`;
}

mountStaffPage("工作量统计登录", Stats);
