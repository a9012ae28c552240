//! The inspection's report (巡检报告) as a document, Markdown and
//! printable HTML: its title, then one section per area, risks first.

use super::model::{local, minutes, Inspection};
use crate::db;
use crate::ops::maintain::human_bytes;
use crate::report::Doc;

/// The report.
pub fn report(i: &Inspection, url: &str) -> Doc {
    let mut d = Doc::new(match i.holiday {
        Some(h) => format!("节前深度巡检报告（{h} 假期前） holiday inspection"),
        None => "巡检报告 (inspection report)".to_string(),
    });
    d.para(format!(
        "巡检时间 at: {}　统计期间 period: {} 至 {}　数据库 database: {}",
        i.at.with_timezone(&triage_ground::time::shanghai())
            .format("%Y-%m-%d %H:%M"),
        i.from,
        i.to,
        db::redact_url(url)
    ));
    risks(&mut d, i);
    uptime(&mut d, i);
    database(&mut d, i);
    backups(&mut d, i);
    screens(&mut d, i);
    faults(&mut d, i);
    slowest(&mut d, i);
    waits(&mut d, i);
    audit(&mut d, i);
    if let Some(deep) = &i.deep {
        super::render_deep::deep(&mut d, deep);
    }
    d
}

/// 一、The risks found and what to do.
fn risks(d: &mut Doc, i: &Inspection) {
    d.heading("一、风险与建议 Risks and recommendations");
    d.table(
        &["等级 level", "发现 finding", "建议 recommendation"],
        i.risks
            .iter()
            .map(|r| {
                vec![
                    r.level.label().into(),
                    r.finding.clone(),
                    r.recommendation.clone(),
                ]
            })
            .collect(),
    );
}

/// 二、The version and the server's runs.
fn uptime(d: &mut Doc, i: &Inspection) {
    d.heading("二、版本与运行 Version and uptime");
    let uptime = i.running_since.map(|s| {
        let h = minutes(s, i.at.naive_utc()) / 60.0;
        format!(
            "运行中，自 {} 起 {:.1} 小时 running for {h:.1} h",
            local(s),
            h
        )
    });
    d.list(vec![
        format!("版本 version: {}", i.version),
        uptime.unwrap_or_else(|| "服务器未在运行（或两分钟内无心跳） not running".into()),
        format!("期间启动次数 starts in the period: {}", i.restarts),
        format!("非正常停止 unclean stops: {}", i.unclean_stops),
    ]);
}

/// 三、The database's size, growth and rows.
fn database(d: &mut Doc, i: &Inspection) {
    d.heading("三、数据库 Database");
    let mut rows = vec![
        vec!["数据库大小 size".to_string(), human_bytes(i.bytes)],
        vec![
            "期间就诊数 visits in the period".into(),
            i.visits_in_period.to_string(),
        ],
        vec![
            "日增长（按备份大小） growth per day".into(),
            i.growth_per_day
                .map(|g| human_bytes(g.max(0.0) as u64))
                .unwrap_or_else(|| "（备份不足一天，无法计算）".into()),
        ],
    ];
    for t in ["visits", "events", "faults", "staff_accounts"] {
        rows.push(vec![
            format!("{t} 行数 rows"),
            i.rows.get(t).copied().unwrap_or(0).to_string(),
        ]);
    }
    d.table(&["项目 item", "值 value"], rows);
}

/// 四、Backups, verifications and maintenance.
fn backups(d: &mut Doc, i: &Inspection) {
    d.heading("四、备份与恢复校验 Backups and verification");
    let newest = i.backups.last();
    d.list(vec![
        format!("保留的备份 backups kept: {}", i.backups.len()),
        match newest {
            Some(b) => format!(
                "最新备份 newest: {}（{}，{} 小时前）",
                b.file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                b.taken_at
                    .with_timezone(&triage_ground::time::shanghai())
                    .format("%Y-%m-%d %H:%M"),
                (i.at - b.taken_at).num_hours()
            ),
            None => "最新备份 newest: 无 none".into(),
        },
        match &i.last_verification {
            Some(v) => format!(
                "最近校验 last verification: {}，{}（{}）",
                v.at.with_timezone(&triage_ground::time::shanghai())
                    .format("%Y-%m-%d %H:%M"),
                if v.ok { "通过 good" } else { "失败 FAILED" },
                v.summary
            ),
            None => "最近校验 last verification: 无 none".into(),
        },
        match &i.month {
            Some(m) => format!(
                "本月 this month: {} 天中 {} 天有经校验的备份",
                m.days, m.good_days
            ),
            None => "本月 this month: 无记录".into(),
        },
        format!("异地副本 second location: {}", i.second_location.said()),
        match &i.last_maintenance {
            Some(m) => format!(
                "上次数据库维护 last maintenance: {}",
                m.at.with_timezone(&triage_ground::time::shanghai())
                    .format("%Y-%m-%d %H:%M")
            ),
            None => "上次数据库维护 last maintenance: 无 none".into(),
        },
    ]);
}

/// 五、Each screen's contact and offline history.
fn screens(d: &mut Doc, i: &Inspection) {
    d.heading("五、屏幕 Screens");
    d.table(
        &[
            "屏幕 screen",
            "名称 name",
            "最后连接 last contact",
            "离线次数 offline",
            "离线分钟 minutes",
        ],
        i.screens
            .iter()
            .map(|s| {
                vec![
                    s.code.clone(),
                    s.name.clone(),
                    s.last_seen
                        .map(local)
                        .unwrap_or_else(|| "从未 never".into()),
                    s.offline_times.to_string(),
                    format!("{:.0}", s.offline_minutes),
                ]
            })
            .collect(),
    );
}

/// 六、Alerts and faults.
fn faults(d: &mut Doc, i: &Inspection) {
    d.heading("六、告警与故障 Alerts and faults");
    let f = &i.faults;
    d.list(vec![
        format!(
            "故障总数 faults: {}（严重 critical {}）",
            f.total, f.critical
        ),
        format!("仍未解决 open now: {}", f.open_now),
        format!(
            "平均响应 mean time to acknowledge: {}",
            f.mean_ack_minutes
                .map(|m| format!("{m:.1} 分钟 min"))
                .unwrap_or_else(|| "—".into())
        ),
        format!(
            "平均解决 mean time to resolve: {}",
            f.mean_resolve_minutes
                .map(|m| format!("{m:.1} 分钟 min"))
                .unwrap_or_else(|| "—".into())
        ),
    ]);
    d.table(
        &["类型 kind", "次数 count"],
        f.by_kind
            .iter()
            .map(|(k, n)| vec![k.clone(), n.to_string()])
            .collect(),
    );
}

/// 七、The slowest endpoints and statements.
fn slowest(d: &mut Doc, i: &Inspection) {
    d.heading("七、最慢的接口 Slowest endpoints");
    d.table(
        &["接口 endpoint", "次数 calls", "平均 mean ms", "最长 max ms"],
        i.endpoints
            .iter()
            .map(|(n, a)| {
                vec![
                    n.clone(),
                    a.calls.to_string(),
                    format!("{:.1}", a.total_ms / a.calls.max(1) as f64),
                    format!("{:.1}", a.max_ms),
                ]
            })
            .collect(),
    );
    d.heading("最慢的语句 Slowest statements (≥ 10 ms)");
    d.table(
        &["语句 statement", "次数 calls", "最长 max ms"],
        i.statements
            .iter()
            .map(|(n, a)| vec![n.clone(), a.calls.to_string(), format!("{:.1}", a.max_ms)])
            .collect(),
    );
}

/// 八、Queue waits by department.
fn waits(d: &mut Doc, i: &Inspection) {
    d.heading("八、候诊等候 Queue waits (check-in to call)");
    d.table(
        &[
            "科室 department",
            "叫号人次 called",
            "平均 mean min",
            "90% min",
            "最长 max min",
        ],
        i.waits
            .iter()
            .map(|w| {
                vec![
                    w.department.clone(),
                    w.called.to_string(),
                    format!("{:.1}", w.mean_minutes),
                    format!("{:.1}", w.p90_minutes),
                    format!("{:.1}", w.max_minutes),
                ]
            })
            .collect(),
    );
}

/// 九、The audit chain's verdict.
fn audit(d: &mut Doc, i: &Inspection) {
    d.heading("九、审计链 Audit chain");
    d.para(i.audit.clone());
}
