//! Alerts and fault records (告警与故障工单): conditions watched by the
//! monitor become fault records (one open per condition), told to the
//! on-call list through a durable outbox (mail by SMTP, a group-robot
//! webhook), reminded and escalated until someone acknowledges, resolved
//! when the condition clears (or by hand), archived by hand.
//!
//! - [`policy`]: `[alerts]` of the configuration.
//! - [`store`]: faults, timelines, the outbox, screens' last contact.
//! - [`monitor`]: the rules, checked every second.
//! - [`sender`]: the outbox sender (lettre over SMTP, reqwest for webhooks),
//!   retried with backoff.

pub mod monitor;

pub mod sender;
pub mod store;

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use triage_ground::time::SharedClock;
use utoipa::ToSchema;

use crate::config::alerts::{self as policy, AlertPolicy};
use crate::config::Hospital;
use crate::db::columns::{Channel, FaultKind, FaultState, Severity};
use crate::db::Db;
use store::{Change, FaultEventRow, FaultRow, NewFault, NewMessage};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::time::{shanghai, utc};

/// A condition the monitor sees now: it opens a fault unless one is open
/// for its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// `kind:where`, e.g. `screen_offline:NK-01-DOOR`.
    pub key: String,
    pub kind: FaultKind,
    /// Critical (told at once, also in quiet hours) or a warning.
    pub severity: Severity,
    /// One line, Chinese: what.
    pub title: String,
    /// What is seen, with figures.
    pub detail: String,
    /// Where.
    pub place: String,
    /// Since when (the condition, not the record).
    pub since: DateTime<Utc>,
}

/// A fault record as staff and the API read it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FaultView {
    pub id: i64,
    /// `screen_offline`, `database`, `his_silent`, `error_rate`,
    /// `queue_wait`, `disk_low`, `backup_failed`, `backup_missing`,
    /// `reported`.
    #[schema(value_type = String)]
    pub kind: FaultKind,
    #[schema(value_type = String)]
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub place: String,
    /// `opened`, `acknowledged`, `resolved`, `archived`.
    #[schema(value_type = String)]
    pub state: FaultState,
    pub opened_at: DateTime<Utc>,
    pub reported_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    /// On-call people told so far.
    pub escalation: i32,
    /// Its timeline, oldest first (a single record only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineStep>>,
}

/// One step of a fault's timeline.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TimelineStep {
    pub at: DateTime<Utc>,
    /// `opened`, `notified`, `reminded`, `acknowledged`, `resolved`,
    /// `archived`.
    pub kind: String,
    pub actor: String,
    pub note: String,
}

impl FaultView {
    fn of(r: FaultRow, timeline: Option<Vec<FaultEventRow>>) -> FaultView {
        FaultView {
            id: r.id,
            kind: r.kind,
            severity: r.severity,
            title: r.title,
            detail: r.detail,
            place: r.place,
            state: r.state,
            opened_at: utc(r.opened_at),
            reported_by: r.reported_by,
            acknowledged_at: r.acknowledged_at.map(utc),
            acknowledged_by: r.acknowledged_by,
            resolved_at: r.resolved_at.map(utc),
            resolved_by: r.resolved_by,
            resolution: r.resolution,
            archived_at: r.archived_at.map(utc),
            escalation: r.escalation,
            timeline: timeline.map(|t| {
                t.into_iter()
                    .map(|e| TimelineStep {
                        at: utc(e.at),
                        kind: e.kind,
                        actor: e.actor,
                        note: e.note,
                    })
                    .collect()
            }),
        }
    }
}

/// A listing with its figures.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FaultList {
    pub faults: Vec<FaultView>,
    /// Mean time from opening to acknowledgement, seconds, of the faults
    /// listed that were acknowledged.
    pub mean_seconds_to_acknowledge: Option<i64>,
    /// Mean time from opening to resolution, seconds.
    pub mean_seconds_to_resolve: Option<i64>,
}

/// Which message a fault change sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notice {
    Opened,
    Reminder,
    Escalated,
    Resolved,
}

/// The alerts service: opens, changes and lists fault records and writes
/// the messages telling of them.
#[derive(Clone)]
pub struct Alerts {
    pub db: Db,
    pub hospital: Arc<Hospital>,
    pub clock: SharedClock,
    /// This server's HTTP traffic as the monitor reads it (error rate, HIS
    /// silent): counted by the HTTP middleware of this server only.
    pub traffic: Arc<Traffic>,
    /// Signs acknowledgement links: derived from the server key, stored
    /// nowhere (ADR 0016).
    link_key: Arc<String>,
    /// Screens' last contact as last written (fewer writes).
    pub seen: Arc<dashmap::DashMap<String, DateTime<Utc>>>,
}

/// What the monitor watches of one server's HTTP traffic: answers, server
/// errors, and when a HIS client last called.
#[derive(Debug, Default)]
pub struct Traffic {
    answered: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
    /// Microseconds since the epoch on the server's clock; 0: not since
    /// the start.
    his_seen: std::sync::atomic::AtomicI64,
}

impl Traffic {
    /// Counts an answer. Server errors are 5xx but 503 (the database
    /// unavailable is its own alert); a socket's 101 is an answer.
    pub fn answered(&self, status: u16) {
        use std::sync::atomic::Ordering::Relaxed;
        self.answered.fetch_add(1, Relaxed);
        if status >= 500 && status != 503 {
            self.failed.fetch_add(1, Relaxed);
        }
    }

    /// Requests answered and those that were server errors, since the
    /// start.
    pub fn totals(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.answered.load(Relaxed), self.failed.load(Relaxed))
    }

    /// A HIS client called (authenticated) at `at`.
    pub fn his_called(&self, at: DateTime<Utc>) {
        self.his_seen
            .store(at.timestamp_micros(), std::sync::atomic::Ordering::Relaxed);
    }

    /// When a HIS client last called, if since the start.
    pub fn his_seen(&self) -> Option<DateTime<Utc>> {
        let at = self.his_seen.load(std::sync::atomic::Ordering::Relaxed);
        (at > 0)
            .then(|| DateTime::from_timestamp_micros(at))
            .flatten()
    }
}

pub(crate) fn how_to_check(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::ScreenOffline => "检查该屏幕的电源、网线或无线网络；在管理页“屏幕管理”(/devices) 查看其状态；屏幕重新连上后告警自动解除。",
        FaultKind::Database => "检查数据库服务（PostgreSQL 服务是否运行，或 SQLite 文件所在磁盘是否已满、是否可写）；见运维手册“告警”一章。数据库恢复后系统自动恢复，告警自动解除。",
        FaultKind::HisSilent => "工作时间内 HIS 长时间没有调用本系统：检查 HIS 接口服务与网络，询问挂号处是否正常挂号。",
        FaultKind::ErrorRate => "接口出错比例过高：查看服务器日志中的错误（按请求号 request_id），检查数据库与 HIS 调用。",
        FaultKind::QueueWait => "某队列最长等候时间过长：查看分诊台该队列与诊室是否开诊、是否有医生坐诊，必要时分流患者。",
        FaultKind::DiskLow => "服务器磁盘剩余空间不足：清理旧日志与过期备份（triage backup prune），或扩容磁盘。",
        FaultKind::BackupFailed => "每日备份失败或缺失：查看备份目录中的检查报告，手动执行 triage backup 与 triage backup verify。",
        FaultKind::BackupMissing => "应有的每日备份不存在：检查服务器日志中的 daily backup、备份目录与磁盘，手动执行 triage backup 与 triage backup verify。",
        FaultKind::Reported => "请到现场查看，并在分诊台“故障”中记录处理情况。",
        FaultKind::Operations => "查看告警中写明的报告与原因（报告目录中的维护或巡检报告），按运维手册处理后手动执行相应命令（triage db maintain、triage inspect、triage backup report）。",
        FaultKind::LoginFailures => "与该工号本人核实是否忘记密码（可由管理员重置：triage user passwd）；若非本人操作，按审计日志中的来源地址查找终端。该账号未被锁定，来自该地址的再次尝试会逐次延迟。",
    }
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The alert for a scheduled operation that failed, was left undone or
/// found a high risk (`kind`: maintain, inspect, monthly, doctors), with
/// why (Chinese).
pub fn operation_failed(kind: &str, why: &str, at: DateTime<Utc>) -> Condition {
    let what = match kind {
        "maintain" => "数据库维护",
        "inspect" => "巡检",
        "monthly" => "备份恢复月度报告",
        "doctors" => "医生信息完整性检查",
        _ => "定期运维任务",
    };
    Condition {
        key: format!(
            "operations:{kind}:{}",
            local(at).get(..10).unwrap_or_default()
        ),
        kind: FaultKind::Operations,
        severity: Severity::Warning,
        title: format!("{what}需要处理"),
        detail: format!("{}（{}）", why, local(at)),
        place: "服务器定期运维".into(),
        since: at,
    }
}

/// The alert for a streak of wrong passwords on one account (the account's
/// code and client addresses only; never a password).
pub fn login_failures(account: &str, failures: i32, from: &str, at: DateTime<Utc>) -> Condition {
    Condition {
        key: format!("login_failures:{account}"),
        kind: FaultKind::LoginFailures,
        severity: Severity::Warning,
        title: format!("账号 {account} 连续登录失败"),
        detail: format!(
            "账号 {account} 连续 {failures} 次密码或动态口令错误，最近一次来自 {from}（{}）。",
            local(at)
        ),
        place: format!("账号 {account}"),
        since: at,
    }
}

impl Alerts {
    /// The service on `db`; its acknowledgement links are signed with a
    /// key derived from the server key. The link key versions before kept
    /// in the database is removed (links mailed before then no longer
    /// open: acknowledge those faults on the console).
    pub async fn start(
        db: Db,
        hospital: Arc<Hospital>,
        clock: SharedClock,
        server_key: &triage_ground::secret::ServerKey,
    ) -> Result<Alerts, Error> {
        let link_key = server_key.derive("alert-acknowledgement-links");
        db.write(|c| store::forget_secret(c, "ack_link_key"))
            .await?;
        let seen = db.read(store::last_seen).await?;
        let map = dashmap::DashMap::new();
        for (code, at) in seen {
            map.insert(code, utc(at));
        }
        Ok(Alerts {
            db,
            hospital,
            clock,
            link_key: Arc::new(link_key),
            seen: Arc::new(map),
            traffic: Arc::new(Traffic::default()),
        })
    }

    fn policy(&self) -> &AlertPolicy {
        &self.hospital.alerts
    }

    /// The signature of an acknowledgement link for fault `id` sent to
    /// `who`.
    fn signature(&self, id: i64, who: &str) -> String {
        triage_ground::secret::sign(&self.link_key, &format!("ack:{id}:{who}"))
    }

    /// Whether `sig` signs the acknowledgement of `id` by `who`.
    pub fn verify_link(&self, id: i64, who: &str, sig: &str) -> bool {
        triage_ground::secret::verify(&self.link_key, &format!("ack:{id}:{who}"), sig)
    }

    /// The acknowledgement link for `who` (none without `public_url`).
    fn link(&self, id: i64, who: &str) -> Option<String> {
        let base = self.policy().public_url.as_ref()?;
        let who_q: String = url_escape(who);
        Some(format!(
            "{base}/ack/{id}?who={who_q}&sig={}",
            self.signature(id, who)
        ))
    }

    /// When a message of `severity` may go: now, or after quiet hours.
    fn not_before(&self, severity: Severity, now: DateTime<Utc>) -> NaiveDateTime {
        let Some(quiet) = self.policy().quiet_hours else {
            return now.naive_utc();
        };
        let t = now.with_timezone(&shanghai());
        if severity == Severity::Critical || !quiet.contains(t.time()) {
            return now.naive_utc();
        }
        // The next end of the quiet window.
        let mut end = t.date_naive().and_time(quiet.to);
        if end <= t.naive_local() {
            end += chrono::Duration::days(1);
        }
        end.and_local_timezone(shanghai())
            .single()
            .map_or(now.naive_utc(), |e| e.naive_utc())
    }

    /// The messages telling `to` (and the webhook) of `fault`.
    fn messages(
        &self,
        fault: &FaultRow,
        notice: Notice,
        to: &[String],
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        let p = self.policy();
        let tag = match notice {
            Notice::Opened => "告警",
            Notice::Reminder => "提醒：告警未确认",
            Notice::Escalated => "升级：告警未确认",
            Notice::Resolved => "已恢复",
        };
        let subject = format!("【{tag}】{}（工单 #{}）", fault.title, fault.id);
        let level = if fault.severity == Severity::Critical {
            "严重"
        } else {
            "警告"
        };
        let mut body = format!(
            "{tag}：{title}\n\n发生了什么：{detail}\n在哪里：{place}\n从何时起：{since}\n级别：{level}\n如何检查：{how}\n",
            title = fault.title,
            detail = fault.detail,
            place = fault.place,
            since = local(utc(fault.opened_at)),
            how = how_to_check(fault.kind),
        );
        if notice == Notice::Resolved {
            let at = fault.resolved_at.map(utc).unwrap_or(now);
            body.push_str(&format!(
                "恢复时间：{}\n处理：{}\n",
                local(at),
                fault
                    .resolution
                    .as_deref()
                    .unwrap_or("条件已消除，自动恢复")
            ));
        }
        body.push_str(&format!("工单号：#{}\n", fault.id));
        let not_before = if notice == Notice::Resolved {
            now.naive_utc()
        } else {
            self.not_before(fault.severity, now)
        };
        let mut out = Vec::new();
        if p.smtp.is_some() {
            for who in to {
                let mut text = body.clone();
                if notice != Notice::Resolved {
                    if let Some(link) = self.link(fault.id, who) {
                        text.push_str(&format!(
                            "\n确认已收到并在处理（确认后不再提醒、不再升级）：\n{link}\n"
                        ));
                    }
                }
                text.push_str(&format!("\n— {} 分诊叫号系统\n", self.hospital.name));
                out.push(NewMessage {
                    fault_id: Some(fault.id),
                    channel: Channel::Mail,
                    recipient: who.clone(),
                    subject: subject.clone(),
                    body: text,
                    created_at: now.naive_utc(),
                    attempts: 0,
                    next_attempt_at: not_before,
                    message_token: Some(triage_ground::secret::random(16)),
                });
            }
        }
        // The group robot hears of openings and resolutions (reminders go
        // to people).
        if let Some(w) = &p.webhook {
            if matches!(notice, Notice::Opened | Notice::Resolved) {
                out.push(NewMessage {
                    fault_id: Some(fault.id),
                    channel: Channel::Webhook,
                    recipient: match w.kind {
                        policy::WebhookKind::Wecom => "wecom".into(),
                        policy::WebhookKind::Dingtalk => "dingtalk".into(),
                    },
                    subject: subject.clone(),
                    body: format!("### {subject}\n{}", body.replace('\n', "\n> ")),
                    created_at: now.naive_utc(),
                    attempts: 0,
                    next_attempt_at: not_before,
                    message_token: Some(triage_ground::secret::random(16)),
                });
            }
        }
        out
    }

    /// The first `n` people on call.
    fn first(&self, n: i32) -> Vec<String> {
        self.policy()
            .mail_to
            .iter()
            .take(n.max(0) as usize)
            .cloned()
            .collect()
    }

    /// When an unacknowledged fault is reminded: `ack_seconds` after its
    /// message may go (a warning in quiet hours waits for their end first:
    /// nobody is escalated past before anyone could answer).
    fn next_reminder(&self, severity: Severity, now: DateTime<Utc>) -> NaiveDateTime {
        self.not_before(severity, now) + chrono::Duration::seconds(self.policy().ack_seconds as i64)
    }

    /// Opens a fault for `cond` unless one is open for its key; the first
    /// person on call (and the webhook) is told in the same commit.
    pub async fn raise(&self, cond: Condition, actor: &str) -> Result<Option<FaultView>, Error> {
        let now = self.clock.now();
        let new = NewFault {
            fault_key: cond.key.clone(),
            kind: cond.kind,
            severity: cond.severity,
            title: cond.title.clone(),
            detail: cond.detail.clone(),
            place: cond.place.clone(),
            state: FaultState::Opened,
            opened_at: cond.since.naive_utc(),
            reported_by: (cond.kind == FaultKind::Reported).then(|| actor.to_string()),
            escalation: 1,
            next_reminder_at: Some(self.next_reminder(cond.severity, now)),
            updated_at: now.naive_utc(),
        };
        let me = self.clone();
        let actor = actor.to_string();
        let opened = self
            .db
            .write(move |c| {
                let to = me.first(1);
                store::open(c, new.clone(), &actor, |id| {
                    let row = FaultRow {
                        id,
                        fault_key: new.fault_key.clone(),
                        kind: new.kind,
                        severity: new.severity,
                        title: new.title.clone(),
                        detail: new.detail.clone(),
                        place: new.place.clone(),
                        state: new.state,
                        opened_at: new.opened_at,
                        reported_by: new.reported_by.clone(),
                        acknowledged_at: None,
                        acknowledged_by: None,
                        resolved_at: None,
                        resolved_by: None,
                        resolution: None,
                        archived_at: None,
                        escalation: 1,
                        next_reminder_at: new.next_reminder_at,
                        updated_at: new.updated_at,
                    };
                    me.messages(&row, Notice::Opened, &to, now)
                })
            })
            .await?;
        if let Some(f) = &opened {
            tracing::warn!(fault = f.id, kind = %f.kind, key = %f.fault_key, "fault opened");
        }
        Ok(opened.map(|f| FaultView::of(f, None)))
    }

    async fn change(
        &self,
        id: i64,
        change: Change,
        actor: &str,
        notice: Option<(Notice, Vec<String>)>,
    ) -> Result<(FaultView, bool), Error> {
        let now = self.clock.now();
        let me = self.clone();
        let actor = actor.to_string();
        let result = self
            .db
            .write(move |c| {
                let Some(row) = store::get(c, id)? else {
                    return Ok(None);
                };
                // The messages describe the fault as it will be.
                let mut after = row.clone();
                if let Change::Resolve { note, .. } = &change {
                    after.resolved_at = Some(now.naive_utc());
                    after.resolution = Some(note.clone());
                }
                let messages = match &notice {
                    Some((n, to)) => me.messages(&after, *n, to, now),
                    None => Vec::new(),
                };
                store::change(c, id, change, &actor, now.naive_utc(), messages).map(Some)
            })
            .await
            .map_err(|e| match e {
                crate::db::DbError::Conflict(why) => {
                    Error::new(ErrorCode::FaultState, why.to_string())
                }
                other => other.into(),
            })?;
        let (row, changed) = result.ok_or_else(|| {
            Error::new(ErrorCode::FaultNotFound, format!("no fault record #{id}"))
        })?;
        Ok((FaultView::of(row, None), changed))
    }

    /// Someone acknowledges a fault (from the console, the API or the
    /// mail's link): no more reminders or escalations.
    pub async fn acknowledge(&self, id: i64, by: &str) -> Result<FaultView, Error> {
        let (f, changed) = self.change(id, Change::Acknowledge, by, None).await?;
        if changed {
            tracing::info!(fault = id, "fault acknowledged");
        }
        Ok(f)
    }

    /// The fault open for `key`, if any, resolves (its cause was taken
    /// away, e.g. a retired screen); answers whether one was open.
    pub async fn resolve_key(&self, key: &str, by: &str, note: String) -> Result<bool, Error> {
        let k = key.to_string();
        let Some(open) = self.db.read(move |c| store::open_for(c, &k)).await? else {
            return Ok(false);
        };
        self.resolve(open.id, by, note).await?;
        Ok(true)
    }

    /// A fault resolves: by hand with a note, or when its condition clears
    /// (`by` "system"); everyone told of it hears.
    pub async fn resolve(&self, id: i64, by: &str, note: String) -> Result<FaultView, Error> {
        let told = {
            let row = self
                .db
                .read(move |c| store::get(c, id))
                .await?
                .ok_or_else(|| {
                    Error::new(ErrorCode::FaultNotFound, format!("no fault record #{id}"))
                })?;
            self.first(row.escalation)
        };
        let (f, changed) = self
            .change(
                id,
                Change::Resolve {
                    note,
                    always: false,
                },
                by,
                Some((Notice::Resolved, told)),
            )
            .await?;
        if changed {
            tracing::info!(fault = id, "fault resolved");
        }
        Ok(f)
    }

    /// A resolved fault is archived (归档).
    pub async fn archive(&self, id: i64, by: &str) -> Result<FaultView, Error> {
        Ok(self.change(id, Change::Archive, by, None).await?.0)
    }

    /// Faults unacknowledged past their time: a reminder to those told,
    /// and the next person on call is told (once the list is done, no more).
    pub async fn remind_due(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let open = self.db.read(store::open_faults).await?;
        let mut n = 0;
        for f in open {
            let due = f.state == FaultState::Opened
                && f.next_reminder_at.is_some_and(|t| t <= now.naive_utc());
            if !due {
                continue;
            }
            let people = self.policy().mail_to.len() as i32;
            let escalation = (f.escalation + 1).min(people.max(1));
            let next = (escalation < people).then(|| self.next_reminder(f.severity, now));
            let mut to = self.first(f.escalation);
            let notice = if escalation > f.escalation {
                to.extend(
                    self.first(escalation)
                        .into_iter()
                        .skip(f.escalation as usize),
                );
                Notice::Escalated
            } else {
                Notice::Reminder
            };
            self.change(
                f.id,
                Change::Remind { escalation, next },
                "system",
                Some((notice, to)),
            )
            .await?;
            tracing::warn!(fault = f.id, escalation, "fault unacknowledged: reminded");
            n += 1;
        }
        Ok(n)
    }

    /// The daily backup's outcome: a failure opens (or keeps) the backup
    /// alert, a success resolves it.
    pub async fn backup_outcome(&self, failure: Option<String>) -> Result<(), Error> {
        let key = "backup_failed:daily";
        match failure {
            Some(detail) => {
                let cond = Condition {
                    key: key.into(),
                    kind: FaultKind::BackupFailed,
                    severity: Severity::Critical,
                    title: "每日备份失败".into(),
                    detail,
                    place: "服务器备份".into(),
                    since: self.clock.now(),
                };
                self.raise(cond, "system").await?;
            }
            None => {
                let open = self.db.read(move |c| store::open_for(c, key)).await?;
                if let Some(f) = open {
                    self.resolve(f.id, "system", "之后的备份成功并通过检查".into())
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The database was unavailable from `since` to `until` (it is back):
    /// the fault record is written now, opened at `since`, told to `told`
    /// directly during the outage (no outbox then), and resolved — those
    /// told hear of the recovery through the outbox.
    pub async fn record_outage(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        detail: String,
        told: Vec<String>,
    ) -> Result<FaultView, Error> {
        let now = self.clock.now();
        let key = format!("database:{}", since.timestamp_micros());
        let new = NewFault {
            fault_key: key,
            kind: FaultKind::Database,
            severity: Severity::Critical,
            title: "数据库不可用".into(),
            detail,
            place: "数据库".into(),
            state: FaultState::Opened,
            opened_at: since.naive_utc(),
            reported_by: None,
            escalation: self.policy().mail_to.len() as i32,
            next_reminder_at: None,
            updated_at: now.naive_utc(),
        };
        let note = format!("数据库不可用期间已直接通知 {} 人", told.len());
        let me = self.clone();
        // One transaction: opened (as of `since`), the direct notice,
        // resolved with its mail; a failure leaves nothing to trip over.
        let row = self
            .db
            .write(move |c| {
                let Some(opened) = store::open(c, new, "system", |_| Vec::new())? else {
                    return Ok(None);
                };
                store::note(c, opened.id, since.naive_utc(), "notified", &note)?;
                let mut after = opened.clone();
                after.resolved_at = Some(until.naive_utc());
                after.resolution = Some("数据库恢复，系统自动恢复".into());
                let messages = me.messages(&after, Notice::Resolved, &told, now);
                store::change(
                    c,
                    opened.id,
                    Change::Resolve {
                        note: "数据库恢复，系统自动恢复".into(),
                        always: true,
                    },
                    "system",
                    // Resolved as of the first good look.
                    until.naive_utc(),
                    messages,
                )
                .map(|(r, _)| Some(r))
            })
            .await?
            .ok_or_else(|| Error::new(ErrorCode::StateConflict, "outage recorded twice"))?;
        tracing::warn!(fault = row.id, "database outage recorded");
        Ok(FaultView::of(row, None))
    }

    /// A nurse reports a fault (报障) from the console.
    pub async fn report(
        &self,
        by: &str,
        title: &str,
        detail: &str,
        place: &str,
    ) -> Result<FaultView, Error> {
        let now = self.clock.now();
        let key = format!("reported:{by}:{}", now.timestamp_micros());
        let cond = Condition {
            key,
            kind: FaultKind::Reported,
            severity: Severity::Warning,
            title: title.to_string(),
            detail: detail.to_string(),
            place: place.to_string(),
            since: now,
        };
        self.raise(cond, by)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::StateConflict, "reported twice at once"))
    }

    /// One fault with its timeline.
    pub async fn fault(&self, id: i64) -> Result<FaultView, Error> {
        let (row, events) = self
            .db
            .read(move |c| Ok((store::get(c, id)?, store::events_of(c, id)?)))
            .await?;
        let row = row.ok_or_else(|| {
            Error::new(ErrorCode::FaultNotFound, format!("no fault record #{id}"))
        })?;
        Ok(FaultView::of(row, Some(events)))
    }

    /// Faults by filter, newest first, with mean times to acknowledge and
    /// to resolve.
    pub async fn list(&self, filter: store::Filter) -> Result<FaultList, Error> {
        let rows = self.db.read(move |c| store::list(c, &filter)).await?;
        let mean = |f: &dyn Fn(&FaultRow) -> Option<NaiveDateTime>| {
            let spans: Vec<i64> = rows
                .iter()
                .filter_map(|r| f(r).map(|t| (t - r.opened_at).num_seconds().max(0)))
                .collect();
            (!spans.is_empty()).then(|| spans.iter().sum::<i64>() / spans.len() as i64)
        };
        let mtta = mean(&|r| r.acknowledged_at);
        let mttr = mean(&|r| r.resolved_at);
        Ok(FaultList {
            faults: rows.into_iter().map(|r| FaultView::of(r, None)).collect(),
            mean_seconds_to_acknowledge: mtta,
            mean_seconds_to_resolve: mttr,
        })
    }
}

/// Percent-encodes a query value.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
