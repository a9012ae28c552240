//! The inspection report (巡检报告): quarterly, and a deep one before each
//! configured holiday. Everything it states is read from the database, the
//! backup directory and the ledgers: the version and the server's runs,
//! the database's size and growth, backups and their verifications,
//! screens' offline history, alerts and faults with the times to
//! acknowledge and resolve, the slowest endpoints and statements, queue
//! waits, the audit chain, and the risks found with a recommendation each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::ledger::{self, Entry};
use super::maintain::{database_bytes, human_bytes};
use super::monthly::{self, Month};
use super::timings::{self, Agg, Run};
use crate::db::schema::{faults, screen_presence, visits};
use crate::db::{self, DbError};
use crate::report::Doc;

/// How serious a risk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::High => "高 high",
            Level::Medium => "中 medium",
            Level::Low => "低 low",
        }
    }
}

/// A risk found, with what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Risk {
    pub level: Level,
    pub finding: String,
    pub recommendation: String,
}

/// One screen's history in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenHistory {
    pub code: String,
    pub name: String,
    pub last_seen: Option<NaiveDateTime>,
    pub offline_times: usize,
    pub offline_minutes: f64,
}

/// Faults in the period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultStats {
    pub total: usize,
    pub by_kind: BTreeMap<String, usize>,
    pub critical: usize,
    pub open_now: usize,
    /// Mean minutes from opened to acknowledged (of those acknowledged).
    pub mean_ack_minutes: Option<f64>,
    /// Mean minutes from opened to resolved (of those resolved).
    pub mean_resolve_minutes: Option<f64>,
}

/// A department's waits (check-in to first call) in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct Waits {
    pub department: String,
    pub called: usize,
    pub mean_minutes: f64,
    pub p90_minutes: f64,
    pub max_minutes: f64,
}

/// Everything an inspection found.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub at: DateTime<Utc>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Before a holiday (its first day).
    pub holiday: Option<NaiveDate>,
    pub version: String,
    pub runs: Vec<Run>,
    /// The run still going (heartbeat within two minutes) and since when.
    pub running_since: Option<NaiveDateTime>,
    pub restarts: usize,
    pub unclean_stops: usize,
    pub bytes: u64,
    pub rows: BTreeMap<String, i64>,
    pub visits_in_period: i64,
    /// From the kept backups' sizes: bytes per day.
    pub growth_per_day: Option<f64>,
    pub backups: Vec<crate::backups::Kept>,
    pub last_verification: Option<Entry>,
    pub month: Option<Month>,
    pub second_location: bool,
    pub last_maintenance: Option<Entry>,
    pub screens: Vec<ScreenHistory>,
    pub faults: FaultStats,
    pub endpoints: Vec<(String, Agg)>,
    pub statements: Vec<(String, Agg)>,
    pub waits: Vec<Waits>,
    pub audit: String,
    pub audit_intact: bool,
    /// Ledgers that could not be read whole (their figures above are
    /// incomplete).
    pub unreadable_ledgers: Vec<String>,
    pub risks: Vec<Risk>,
    pub report: PathBuf,
}

fn minutes(a: NaiveDateTime, b: NaiveDateTime) -> f64 {
    (b - a).num_seconds() as f64 / 60.0
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn local(t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&triage_ground::time::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Gathers an inspection of the database at `url` over the `days` before
/// `now` (its figures only; [`run`] also writes it).
pub fn gather(
    url: &str,
    hospital: &crate::config::Hospital,
    now: DateTime<Utc>,
    days: u32,
    holiday: Option<NaiveDate>,
) -> Result<Inspection, DbError> {
    let mut c = db::connect_raw(url)?;
    let to = triage_ground::time::service_date(now);
    let from = to - chrono::Duration::days(i64::from(days.max(1)) - 1);
    let since = from
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_local_timezone(triage_ground::time::shanghai())
        .single()
        .map(|t| t.naive_utc())
        .unwrap_or_default();
    let now_naive = now.naive_utc();

    // The server's runs.
    let runs = timings::runs(&mut c, since)?;
    let running_since = runs
        .last()
        .filter(|r| r.stopped_at.is_none() && minutes(r.seen_at, now_naive) <= 2.0)
        .map(|r| r.started_at);
    let in_period: Vec<&Run> = runs.iter().filter(|r| r.started_at >= since).collect();
    let restarts = in_period.len();
    let unclean_stops = runs
        .iter()
        .enumerate()
        .filter(|(i, r)| r.stopped_at.is_none() && *i + 1 < runs.len())
        .count();

    // The database.
    let bytes = database_bytes(&mut c, url)?;
    let contents = crate::backups::contents(&mut c)?;
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let visits_in_period: i64 = visits::table
        .filter(visits::service_date.ge(&from_s))
        .filter(visits::service_date.le(&to_s))
        .count()
        .get_result(&mut c)?;

    // Backups.
    let backup_dir = &hospital.backup.dir;
    let backups = crate::backups::list(backup_dir)?;
    let growth_per_day = {
        let sized: Vec<(DateTime<Utc>, u64)> = backups
            .iter()
            .filter_map(|k| {
                std::fs::metadata(&k.file)
                    .ok()
                    .map(|m| (k.taken_at, m.len()))
            })
            .collect();
        match (sized.first(), sized.last()) {
            (Some(a), Some(b)) if (b.0 - a.0).num_hours() >= 20 => {
                Some((b.1 as f64 - a.1 as f64) / ((b.0 - a.0).num_seconds() as f64 / 86_400.0))
            }
            _ => None,
        }
    };
    let last_verification = ledger::last(&backup_dir.join(ledger::VERIFICATIONS), "verify");
    let mut unreadable = Vec::new();
    for file in [
        backup_dir.join(ledger::VERIFICATIONS),
        hospital.operations.reports_dir.join(ledger::OPERATIONS),
    ] {
        match ledger::read(&file) {
            Ok((_, 0)) => {}
            Ok((_, bad)) => unreadable.push(format!("{}（{bad} 行无法读取）", file.display())),
            Err(e) => unreadable.push(format!("{}（{e}）", file.display())),
        }
    }
    let month = monthly::monthly(backup_dir, to, now).ok().map(|(_, m)| m);
    let last_maintenance = ledger::last(
        &hospital.operations.reports_dir.join(ledger::OPERATIONS),
        "maintain",
    );

    // Faults in the period.
    type FaultRow = (
        String,
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<FaultRow> = faults::table
        .filter(faults::opened_at.ge(since))
        .select((
            faults::fault_key,
            faults::kind,
            faults::severity,
            faults::state,
            faults::opened_at,
            faults::acknowledged_at,
            faults::resolved_at,
        ))
        .load(&mut c)?;
    let mut fs = FaultStats {
        total: rows.len(),
        ..FaultStats::default()
    };
    let (mut acks, mut fixes) = (Vec::new(), Vec::new());
    let mut offline: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (key, kind, severity, state, opened, acked, resolved) in &rows {
        *fs.by_kind.entry(kind.clone()).or_default() += 1;
        if severity == "critical" {
            fs.critical += 1;
        }
        if state == "opened" || state == "acknowledged" {
            fs.open_now += 1;
        }
        if let Some(a) = acked {
            acks.push(minutes(*opened, *a));
        }
        if let Some(r) = resolved {
            fixes.push(minutes(*opened, *r));
        }
        if let Some(code) = key.strip_prefix("screen_offline:") {
            let e = offline.entry(code.to_string()).or_default();
            e.0 += 1;
            e.1 += minutes(*opened, resolved.unwrap_or(now_naive));
        }
    }
    fs.mean_ack_minutes = mean(&acks);
    fs.mean_resolve_minutes = mean(&fixes);

    // Screens.
    let seen: BTreeMap<String, NaiveDateTime> = screen_presence::table
        .select((screen_presence::code, screen_presence::last_seen))
        .load::<(String, NaiveDateTime)>(&mut c)?
        .into_iter()
        .collect();
    let screens = hospital
        .screens
        .iter()
        .map(|s| {
            let (times, mins) = offline.get(s.code.as_str()).copied().unwrap_or((0, 0.0));
            ScreenHistory {
                code: s.code.to_string(),
                name: s.name.clone(),
                last_seen: seen.get(s.code.as_str()).copied(),
                offline_times: times,
                offline_minutes: mins,
            }
        })
        .collect();

    // Timings.
    let mut endpoints = timings::between(&mut c, "http", from, to)?;
    endpoints.sort_by(|a, b| {
        let m = |x: &Agg| x.total_ms / x.calls.max(1) as f64;
        m(&b.1).total_cmp(&m(&a.1))
    });
    endpoints.truncate(10);
    let mut statements = timings::between(&mut c, "sql", from, to)?;
    statements.sort_by(|a, b| b.1.max_ms.total_cmp(&a.1.max_ms));
    statements.truncate(10);

    // Queue waits: check-in to first call.
    let called: Vec<(String, NaiveDateTime, NaiveDateTime)> = visits::table
        .filter(visits::service_date.ge(&from_s))
        .filter(visits::service_date.le(&to_s))
        .filter(visits::checked_in_at.is_not_null())
        .filter(visits::called_at.is_not_null())
        .select((
            visits::department_code,
            visits::checked_in_at.assume_not_null(),
            visits::called_at.assume_not_null(),
        ))
        .load(&mut c)?;
    let mut by_dept: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (d, checked, call) in called {
        by_dept
            .entry(d)
            .or_default()
            .push(minutes(checked, call).max(0.0));
    }
    let waits = by_dept
        .into_iter()
        .map(|(department, mut w)| {
            w.sort_by(|a, b| a.total_cmp(b));
            let p90 = w[((w.len() as f64 * 0.9).ceil() as usize).clamp(1, w.len()) - 1];
            Waits {
                department,
                called: w.len(),
                mean_minutes: mean(&w).unwrap_or(0.0),
                p90_minutes: p90,
                max_minutes: w.last().copied().unwrap_or(0.0),
            }
        })
        .collect();

    // The audit chain, walked whole.
    let verdict = db::audit::verify(&mut c)?;
    let audit_intact = matches!(verdict, db::audit::Verdict::Intact { .. });

    let mut i = Inspection {
        at: now,
        from,
        to,
        holiday,
        version: crate::VERSION.to_string(),
        runs,
        running_since,
        restarts,
        unclean_stops,
        bytes,
        rows: contents.tables,
        visits_in_period,
        growth_per_day,
        backups,
        last_verification,
        month,
        second_location: hospital.backup.second_dir.is_some(),
        last_maintenance,
        screens,
        faults: fs,
        endpoints,
        statements,
        waits,
        audit: verdict.to_string(),
        audit_intact,
        unreadable_ledgers: unreadable,
        risks: Vec::new(),
        report: PathBuf::new(),
    };
    i.risks = risks(&i, hospital);
    Ok(i)
}

/// The risks the figures show, most serious first.
pub fn risks(i: &Inspection, hospital: &crate::config::Hospital) -> Vec<Risk> {
    let mut out = Vec::new();
    let mut risk = |level, finding: String, recommendation: &str| {
        out.push(Risk {
            level,
            finding,
            recommendation: recommendation.to_string(),
        })
    };
    let now = i.at;
    match i.backups.last() {
        None => risk(
            Level::High,
            "没有任何备份 no backup at all".into(),
            "检查 [backup] at 与备份目录权限，立即执行 triage backup 并校验。",
        ),
        Some(b) if (now - b.taken_at).num_hours() > 26 => risk(
            Level::High,
            format!(
                "最新备份已 {} 小时 the newest backup is {} hours old",
                (now - b.taken_at).num_hours(),
                (now - b.taken_at).num_hours()
            ),
            "检查每日备份任务（服务器日志 daily backup），立即手动备份。",
        ),
        Some(_) => {}
    }
    match &i.last_verification {
        Some(v) if !v.ok => risk(
            Level::High,
            format!(
                "最近一次备份校验失败 the last verification failed: {}",
                v.summary
            ),
            "按运维手册重新备份并校验；保留失败的备份以便分析。",
        ),
        None => risk(
            Level::High,
            "没有备份校验记录 no verification on record".into(),
            "执行 triage backup verify，并确认每日备份后的自动校验在运行。",
        ),
        _ => {}
    }
    if let Some(m) = &i.month {
        if !m.missing.is_empty() {
            risk(
                Level::Medium,
                format!(
                    "本月 {} 天没有经校验的备份 {} days this month without a verified backup",
                    m.missing.len(),
                    m.missing.len()
                ),
                "查看月度校验报告中缺失的日期及当日服务器日志。",
            );
        }
    }
    if !i.second_location {
        risk(
            Level::Medium,
            "备份只在本机磁盘 backups are on this server's disk only".into(),
            "在 [backup] second_dir 配置一个挂载的网络存储（NAS）。",
        );
    }
    match &i.last_maintenance {
        None => risk(
            Level::Medium,
            "没有数据库维护记录 no database maintenance on record".into(),
            "在维护窗口执行 triage db maintain（每季度至少一次）。",
        ),
        Some(m)
            if (now - m.at).num_days() > i64::from(hospital.operations.maintain_every_days) + 7 =>
        {
            risk(
                Level::Medium,
                format!(
                    "上次数据库维护在 {} 天前 the last maintenance was {} days ago",
                    (now - m.at).num_days(),
                    (now - m.at).num_days()
                ),
                "在维护窗口执行 triage db maintain。",
            )
        }
        _ => {}
    }
    if !i.unreadable_ledgers.is_empty() {
        risk(
            Level::Medium,
            format!(
                "台账无法完整读取 ledgers not read whole: {}",
                i.unreadable_ledgers.join("; ")
            ),
            "检查文件权限与磁盘；本报告中的校验与维护记录可能不全。",
        );
    }
    if i.last_maintenance.as_ref().is_some_and(|m| !m.ok) {
        risk(
            Level::Medium,
            "上次数据库维护有步骤失败 a step of the last maintenance failed".into(),
            "查看该次维护报告中失败的步骤，处理后重新执行 triage db maintain。",
        );
    }
    if !i.audit_intact {
        risk(
            Level::High,
            format!("审计链异常 the audit chain is not intact: {}", i.audit),
            "立即保全数据库与备份，按安全手册核查被修改或删除的记录。",
        );
    }
    if i.faults.open_now > 0 {
        risk(
            Level::Medium,
            format!("{} 个故障仍未解决 faults still open", i.faults.open_now),
            "在控制台“故障”中处理并关闭。",
        );
    }
    if i.faults.mean_ack_minutes.is_some_and(|m| m > 10.0) {
        risk(
            Level::Medium,
            format!(
                "平均响应 {:.0} 分钟，超过 10 分钟 mean time to acknowledge above 10 minutes",
                i.faults.mean_ack_minutes.unwrap_or(0.0)
            ),
            "检查值班名单、邮件与机器人通知是否送达（[alerts]）。",
        );
    }
    if i.unclean_stops > 0 {
        risk(
            Level::Medium,
            format!(
                "{} 次非正常停止（断电或强制结束） unclean stops",
                i.unclean_stops
            ),
            "检查服务器电源（UPS）与系统日志；用 systemctl stop 停止服务。",
        );
    }
    let flaky: Vec<&ScreenHistory> = i.screens.iter().filter(|s| s.offline_times >= 3).collect();
    if !flaky.is_empty() {
        risk(
            Level::Low,
            format!(
                "屏幕多次离线 screens often offline: {}",
                flaky
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "检查这些屏幕的网线、交换机端口与电源设置（关闭休眠）。",
        );
    }
    let never: Vec<&ScreenHistory> = i.screens.iter().filter(|s| s.last_seen.is_none()).collect();
    if !never.is_empty() {
        risk(
            Level::Low,
            format!(
                "{} 块屏幕从未连接 screens never connected: {}",
                never.len(),
                never
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "为这些屏幕签发设备令牌并在屏幕上打开地址，或从配置中删除。",
        );
    }
    for w in &i.waits {
        if w.p90_minutes > hospital.alerts.queue_wait_minutes as f64
            && hospital.alerts.queue_wait_minutes > 0
        {
            risk(
                Level::Low,
                format!(
                    "{} 科室 90% 患者等候 {:.0} 分钟以内，超过告警阈值 {} 分钟",
                    w.department, w.p90_minutes, hospital.alerts.queue_wait_minutes
                ),
                "结合排班与诊室数量评估是否增开诊室。",
            );
        }
    }
    if let Some((name, a)) = i.endpoints.first() {
        let m = a.total_ms / a.calls.max(1) as f64;
        if m > 500.0 {
            risk(
                Level::Low,
                format!("接口平均耗时 {m:.0} ms: {name}"),
                "执行 triage db maintain；若仍慢，请联系开发方分析。",
            );
        }
    }
    if let (Some(g), Some(free)) = (i.growth_per_day, disk_free(&hospital.backup.dir)) {
        if g > 0.0 && free as f64 / g < 180.0 {
            risk(
                Level::High,
                format!(
                    "按每天增长 {} 计算，备份磁盘约 {:.0} 天后写满",
                    human_bytes(g as u64),
                    free as f64 / g
                ),
                "扩容磁盘或缩短备份保留天数（不少于 7 天）。",
            );
        }
    }
    out.sort_by_key(|r| r.level);
    out
}

fn disk_free(dir: &std::path::Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}

/// Gathers, writes the report (Markdown and HTML) into the reports
/// directory and its ledger line.
pub fn run(
    url: &str,
    hospital: &crate::config::Hospital,
    now: DateTime<Utc>,
    days: u32,
    holiday: Option<NaiveDate>,
) -> Result<Inspection, DbError> {
    let mut i = gather(url, hospital, now, days, holiday)?;
    let stem = format!(
        "inspection-{}",
        now.with_timezone(&triage_ground::time::shanghai())
            .format("%Y%m%d-%H%M%S")
    );
    let fail = |e: std::io::Error| DbError::Unavailable(format!("cannot write the report: {e}"));
    let (md, _) = report(&i, url)
        .write(&hospital.operations.reports_dir, &stem)
        .map_err(fail)?;
    i.report = md.clone();
    ledger::append(
        &hospital.operations.reports_dir.join(ledger::OPERATIONS),
        &Entry {
            kind: "inspect".into(),
            at: now,
            ok: !i.risks.iter().any(|r| r.level == Level::High),
            subject: md.display().to_string(),
            summary: format!("{} risks", i.risks.len()),
        },
    )
    .map_err(fail)?;
    Ok(i)
}

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
        format!(
            "异地副本 second location: {}",
            if i.second_location {
                "已配置 yes"
            } else {
                "未配置 no"
            }
        ),
        match &i.last_maintenance {
            Some(m) => format!(
                "上次数据库维护 last maintenance: {}",
                m.at.with_timezone(&triage_ground::time::shanghai())
                    .format("%Y-%m-%d %H:%M")
            ),
            None => "上次数据库维护 last maintenance: 无 none".into(),
        },
    ]);

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

    d.heading("九、审计链 Audit chain");
    d.para(i.audit.clone());
    d
}
