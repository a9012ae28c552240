//! The monitor: every second it looks at what the server knows and turns
//! each condition into a fault record (once: one record open per
//! condition) or resolves the record when the condition clears.
//!
//! - a screen silent longer than `screen_offline_seconds` during working
//!   hours (only screens seen at least once: a screen not installed yet
//!   raises nothing);
//! - HIS silent longer than `his_silent_minutes` during working hours;
//! - more than `error_rate_percent` of the requests of the last 5 minutes
//!   answered 5xx (at least `error_rate_min_requests` requests);
//! - a queue whose longest wait passes `queue_wait_minutes` (one queue
//!   looked at per second, in turn);
//! - less than `disk_free_percent` and less than `disk_free_mb` free on
//!   the disks of the database, the backups and the working directory.
//!
//! - the database not answering or not taking writes: told directly
//!   (the outbox is in the database), recorded when it is back.
//!
//! Outside working hours a screen or HIS alert already open stays open
//! (it clears when the screen or HIS is back), none opens. Reminders and
//! escalations of unacknowledged faults run here too. Backups raise and
//! clear their own alert (`backup_failed`).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{Alerts, Condition};
use crate::db::columns::{FaultKind, Severity};
use crate::engine::Engine;
use triage_ground::error::Error;
use triage_ground::time::shanghai;

/// The kinds the monitor raises and clears by itself.
const WATCHED: [FaultKind; 6] = [
    FaultKind::ScreenOffline,
    FaultKind::HisSilent,
    FaultKind::ErrorRate,
    FaultKind::QueueWait,
    FaultKind::DiskLow,
    FaultKind::BackupMissing,
];

/// How long after `[backup] at` the day's backup must be there (taking
/// and verifying it runs first).
const BACKUP_GRACE_HOURS: i64 = 2;

/// A screen back after an alert counts as back after this long online.
const SCREEN_BACK_SECONDS: i64 = 10;
/// The error-rate window.
const ERROR_WINDOW_SECONDS: i64 = 300;

/// What the slower rules found last.
#[derive(Default)]
struct Slow {
    /// The queue looked at next (one a second: the queue actors are not
    /// all asked at once).
    next_queue: usize,
    /// Each queue's condition as last looked at.
    queues: std::collections::BTreeMap<String, Condition>,
    disks_at: Option<DateTime<Utc>>,
    disks: Vec<Condition>,
}

/// The longest the rest of a look (conditions, faults, reminders) may take.
const REST_OF_LOOK: std::time::Duration = std::time::Duration::from_secs(5);

/// Consecutive good looks, over at least this long, before the database
/// counts as back (a burst of late ticks is not three looks apart).
const DB_BACK_SECONDS: i64 = 2;

/// How often the disks are looked at: often enough that a disk filling up
/// is told before the database on it fails.
const DISKS_EVERY_SECONDS: i64 = 10;

/// Consecutive good looks before the database counts as back.
const DB_LOOKS: u32 = 3;
/// How long the database must fail, from the first failed look, before it
/// counts as gone (a slow moment under load is not an outage): an outage of
/// 10 s is told about 5 s after it began.
const DB_FAILING_SECONDS: i64 = 4;
/// The longest one look at the database may take: the monitor never waits
/// on the pool's or the driver's own, longer timeouts.
const DB_PROBE: std::time::Duration = std::time::Duration::from_secs(2);

/// The looks at the database since its state last changed.
#[derive(Default)]
struct Streak {
    oks: u32,
    /// When the first of the failed looks in a row began.
    first_fail: Option<DateTime<Utc>>,
    /// When the first of the good looks in a row began.
    first_ok: Option<DateTime<Utc>>,
}

impl Streak {
    /// One more look, begun at `now`: answers when the failed looks in a
    /// row began, when the good ones began, and how many good ones.
    fn look(
        &mut self,
        failed: bool,
        now: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>, u32) {
        if failed {
            self.oks = 0;
            self.first_ok = None;
            self.first_fail.get_or_insert(now);
        } else {
            self.oks += 1;
            self.first_fail = None;
            self.first_ok.get_or_insert(now);
        }
        (self.first_fail, self.first_ok, self.oks)
    }
}

/// The database unavailable: since when, who was told (directly).
struct Outage {
    since: DateTime<Utc>,
    /// The last direct send.
    tried: DateTime<Utc>,
    detail: String,
    told: Vec<String>,
}

/// The monitor's state between ticks.
pub struct Monitor {
    alerts: Alerts,
    /// Sends the database alert directly (no outbox while it is down).
    direct: Option<super::sender::Sender>,
    outage: Mutex<Option<Outage>>,
    /// Consecutive failed and good looks at the database.
    streak: Mutex<Streak>,
    /// Screens online now, since when.
    online: dashmap::DashMap<String, DateTime<Utc>>,
    engine: Engine,
    /// Directories whose disks are watched.
    disks: Vec<PathBuf>,
    started: DateTime<Utc>,
    /// (when, requests, 5xx) samples of the last minutes.
    samples: Mutex<VecDeque<(DateTime<Utc>, u64, u64)>>,
    slow: Mutex<Slow>,
}

fn screen_title(kind: triage_actors::screen::ScreenKind) -> &'static str {
    match kind {
        triage_actors::screen::ScreenKind::Door => "门口屏",
        triage_actors::screen::ScreenKind::Overview => "候诊区综合屏",
    }
}

impl Monitor {
    pub fn new(alerts: Alerts, engine: Engine, disks: Vec<PathBuf>) -> Monitor {
        let started = alerts.clock.now();
        let direct =
            super::sender::Sender::new(alerts.db.clone(), alerts.hospital.alerts.clone()).ok();
        Monitor {
            direct,
            outage: Mutex::new(None),
            streak: Mutex::new(Streak::default()),
            online: dashmap::DashMap::new(),
            alerts,
            engine,
            disks,
            started,
            samples: Mutex::new(VecDeque::new()),
            slow: Mutex::new(Slow::default()),
        }
    }

    /// The earliest instant silence counts from: the server's start and
    /// today's working-hours start (a screen switched off overnight, or one
    /// that had no time to reconnect after a restart, is not offline yet).
    fn counting_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&shanghai());
        let opened = self.alerts.hospital.alerts.working_hours.and_then(|w| {
            let mut day = local.date_naive();
            if w.from > local.time() {
                // A window past midnight started yesterday.
                day = day.pred_opt()?;
            }
            day.and_time(w.from)
                .and_local_timezone(shanghai())
                .single()
                .map(|t| t.with_timezone(&Utc))
        });
        opened.map_or(self.started, |o| o.max(self.started))
    }

    fn working(&self, now: DateTime<Utc>) -> bool {
        let t = now.with_timezone(&shanghai()).time();
        self.alerts
            .hospital
            .alerts
            .working_hours
            .is_none_or(|w| w.contains(t))
    }

    /// Screens: conditions, and last contacts to write.
    /// Screens: conditions, the keys held (back for less than
    /// `SCREEN_BACK_SECONDS`: a flapping screen does not resolve and
    /// reopen), and last contacts to write — a screen's first contact ever
    /// and each time it goes silent (not every heartbeat: with thousands
    /// of screens that would be a write a second).
    fn screens(
        &self,
        now: DateTime<Utc>,
    ) -> (
        Vec<Condition>,
        HashSet<String>,
        Vec<(String, chrono::NaiveDateTime)>,
    ) {
        let p = &self.alerts.hospital.alerts;
        let mut conditions = Vec::new();
        let mut held = HashSet::new();
        let mut write = Vec::new();
        for s in self.engine.screens() {
            let presence = self.engine.directory().presence(&s.code);
            let stored = self.alerts.seen.get(s.code.as_str()).map(|t| *t);
            if presence.sessions > 0 {
                let since = *self.online.entry(s.code.to_string()).or_insert(now);
                if stored.is_none() {
                    self.alerts.seen.insert(s.code.to_string(), now);
                    write.push((s.code.to_string(), now.naive_utc()));
                }
                if (now - since).num_seconds() < SCREEN_BACK_SECONDS {
                    held.insert(format!("screen_offline:{}", s.code));
                }
                continue;
            }
            if self.online.remove(s.code.as_str()).is_some() {
                // Gone silent: its last contact is kept (across restarts).
                let at = presence.last_seen.unwrap_or(now);
                self.alerts.seen.insert(s.code.to_string(), at);
                write.push((s.code.to_string(), at.naive_utc()));
            }
            let last = match (presence.last_seen, stored) {
                (Some(a), Some(b)) => a.max(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    // Never seen: not installed yet.
                    None => continue,
                },
            };
            // A screen whose rooms are all closed today is not needed.
            let needed = s.rooms.is_empty()
                || s.rooms.iter().any(|r| {
                    self.engine
                        .directory()
                        .room_view(r, 0)
                        .is_some_and(|v| v.status != triage_actors::model::RoomStatus::Closed)
                });
            if !needed {
                continue;
            }
            let threshold = p.screen_offline_seconds as i64;
            let counted = last.max(self.counting_from(now));
            let silent = (now - counted).num_seconds();
            if silent < threshold {
                // Silent long enough, but counted only since this start or
                // the working day's: not offline yet, and not back either
                // (an open fault stays open until the screen is seen).
                if (now - last).num_seconds() >= threshold {
                    held.insert(format!("screen_offline:{}", s.code));
                }
                continue;
            }
            let last = counted;
            let what = screen_title(s.kind);
            let rooms: Vec<String> = s
                .rooms
                .iter()
                .filter_map(|r| self.alerts.hospital.room(r).map(|d| d.name.clone()))
                .collect();
            let place = if rooms.is_empty() {
                s.code.to_string()
            } else {
                format!("{}（{}）", rooms.join("、"), s.code)
            };
            conditions.push(Condition {
                key: format!("screen_offline:{}", s.code),
                kind: FaultKind::ScreenOffline,
                severity: Severity::Warning,
                // The screen by its own name (a hall screen is no room's).
                title: if s.name.contains('屏') {
                    format!("{}离线", s.name)
                } else {
                    format!("{}（{what}）离线", s.name)
                },
                detail: format!(
                    "屏幕 {}（{}）已 {} 秒没有连接服务器（阈值 {} 秒），患者看不到叫号。",
                    s.name, s.code, silent, p.screen_offline_seconds
                ),
                place,
                since: last,
            });
        }
        (conditions, held, write)
    }

    fn his(&self, now: DateTime<Utc>) -> Option<Condition> {
        let p = &self.alerts.hospital.alerts;
        if p.his_silent_minutes == 0 {
            return None;
        }
        let last = self
            .alerts
            .traffic
            .his_seen()
            .unwrap_or(self.started)
            .max(self.counting_from(now));
        let silent = (now - last).num_minutes();
        (silent >= p.his_silent_minutes as i64).then(|| Condition {
            key: "his_silent".into(),
            kind: FaultKind::HisSilent,
            severity: Severity::Warning,
            title: "HIS 长时间没有调用分诊系统".into(),
            detail: format!(
                "工作时间内已 {silent} 分钟没有收到 HIS 的任何调用（阈值 {} 分钟），挂号与报到可能没有到达分诊系统。",
                p.his_silent_minutes
            ),
            place: "HIS 接口".into(),
            since: last,
        })
    }

    fn error_rate(&self, now: DateTime<Utc>) -> Option<Condition> {
        let p = &self.alerts.hospital.alerts;
        let (total, errors) = self.alerts.traffic.totals();
        let mut samples = self.samples.lock().ok()?;
        samples.push_back((now, total, errors));
        while samples
            .front()
            .is_some_and(|(t, _, _)| (now - *t).num_seconds() > ERROR_WINDOW_SECONDS)
        {
            samples.pop_front();
        }
        let (t0, total0, errors0) = *samples.front()?;
        let requests = total.saturating_sub(total0);
        let failed = errors.saturating_sub(errors0);
        if requests < p.error_rate_min_requests.max(1) {
            return None;
        }
        let percent = failed * 100 / requests;
        (percent > p.error_rate_percent as u64).then(|| Condition {
            key: "error_rate".into(),
            kind: FaultKind::ErrorRate,
            severity: Severity::Warning,
            title: "接口出错比例过高".into(),
            detail: format!(
                "最近 {} 秒 {requests} 次请求中 {failed} 次服务器错误（{percent}%，阈值 {}%）。",
                (now - t0).num_seconds(),
                p.error_rate_percent
            ),
            place: "服务器".into(),
            since: t0,
        })
    }

    /// Queue `q`'s longest wait, if past the threshold.
    async fn queue(&self, q: &crate::config::QueueDef, now: DateTime<Utc>) -> Option<Condition> {
        let p = &self.alerts.hospital.alerts;
        if p.queue_wait_minutes == 0 {
            return None;
        }
        {
            let code = triage_ground::ids::QueueCode::parse(&q.code).ok()?;
            let list = self.engine.list_queue(&code).await.ok()?;
            let first = list.entries.iter().map(|e| e.checked_in_at).min()?;
            let waited = (now - first).num_minutes();
            if waited >= p.queue_wait_minutes as i64 {
                return Some(Condition {
                    key: format!("queue_wait:{}", q.code),
                    kind: FaultKind::QueueWait,
                    severity: Severity::Warning,
                    title: format!("{}等候时间过长", q.name),
                    detail: format!(
                        "{} 最久的患者已等候 {waited} 分钟（阈值 {} 分钟），候诊 {} 人。",
                        q.name,
                        p.queue_wait_minutes,
                        list.entries.len()
                    ),
                    place: q.name.clone(),
                    since: first + chrono::Duration::minutes(p.queue_wait_minutes as i64),
                });
            }
        }
        None
    }

    /// With a daily backup configured: the newest backup is older than the
    /// last time one was due (`at`, two hours ago or more). Not in the
    /// first 30 minutes after the start (a missed backup is taken then).
    fn backup_missing(&self, now: DateTime<Utc>) -> Option<Condition> {
        let policy = &self.alerts.hospital.backup;
        let newest = crate::backups::list(&policy.dir)
            .ok()
            .and_then(|kept| kept.last().map(|k| k.taken_at));
        let last_due = backup_overdue(policy.at?, now, self.started, newest)?;
        let tz = triage_ground::time::shanghai();
        Some(Condition {
            key: "backup_missing:daily".into(),
            kind: FaultKind::BackupMissing,
            severity: Severity::Critical,
            title: "每日备份缺失".into(),
            detail: match newest {
                Some(t) => format!(
                    "最新的备份是 {}，应在 {} 生成的备份不存在（{}）。",
                    t.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    last_due.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    policy.dir.display()
                ),
                None => format!(
                    "备份目录 {} 中没有任何备份，应在 {} 生成。",
                    policy.dir.display(),
                    last_due.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ),
            },
            place: format!("服务器 {}", policy.dir.display()),
            since: last_due + chrono::Duration::hours(BACKUP_GRACE_HOURS),
        })
    }

    fn disks(&self, now: DateTime<Utc>) -> Vec<Condition> {
        let p = &self.alerts.hospital.alerts;
        let mut out = Vec::new();
        if p.disk_free_percent == 0 {
            return out;
        }
        let mut seen = HashSet::new();
        for dir in &self.disks {
            use std::os::unix::fs::MetadataExt;
            // One look per file system (by its device).
            let Ok(meta) = std::fs::metadata(dir) else {
                continue;
            };
            if !seen.insert(meta.dev()) {
                continue;
            }
            let Ok(stats) = fs4::statvfs(dir) else {
                continue;
            };
            let total = stats.total_space();
            if total == 0 {
                continue;
            }
            let free = stats.available_space() * 100 / total;
            let free_mb = stats.available_space() / (1024 * 1024);
            if free < p.disk_free_percent as u64 && free_mb < p.disk_free_mb {
                out.push(Condition {
                    key: format!("disk_low:{}", dir.display()),
                    kind: FaultKind::DiskLow,
                    severity: Severity::Critical,
                    title: "服务器磁盘空间不足".into(),
                    detail: format!(
                        "{} 所在磁盘仅剩 {free}%（{free_mb} MB，阈值 {}% 且 {} MB）；磁盘写满后无法保存叫号与备份。",
                        dir.display(),
                        p.disk_free_percent,
                        p.disk_free_mb
                    ),
                    place: format!("服务器 {}", dir.display()),
                    since: now,
                });
            }
        }
        out
    }

    /// Whether the database answers and takes writes. While the writer's
    /// last commit failed, a small write tells when it takes them again.
    async fn database_ok(&self) -> Result<(), String> {
        let db = &self.alerts.db;
        let at = self.alerts.clock.now().to_rfc3339();
        let read = tokio::time::timeout(
            DB_PROBE,
            db.read_probe(|c| {
                use diesel::connection::SimpleConnection;
                c.batch_execute("SELECT 1")?;
                Ok(())
            }),
        )
        .await;
        match read {
            Err(_) => return Err(format!("数据库 {} 秒内无响应", DB_PROBE.as_secs())),
            Ok(Err(e)) => return Err(format!("数据库无法连接：{e}")),
            Ok(Ok(())) => {}
        }
        if db.writer_failing() {
            let probe = tokio::time::timeout(
                DB_PROBE,
                db.write_probe(move |c| {
                    use crate::db::schema::server_secrets;
                    use diesel::prelude::*;
                    let n = diesel::update(server_secrets::table.find("write_probe"))
                        .set(server_secrets::value.eq(&at))
                        .execute(c)?;
                    if n == 0 {
                        diesel::insert_into(server_secrets::table)
                            .values((
                                server_secrets::name.eq("write_probe"),
                                server_secrets::value.eq(&at),
                            ))
                            .execute(c)?;
                    }
                    Ok(())
                }),
            )
            .await;
            match probe {
                Err(_) => return Err(format!("数据库 {} 秒内未能写入", DB_PROBE.as_secs())),
                Ok(Err(e)) => return Err(format!("数据库无法写入（磁盘已满或文件不可写？）：{e}")),
                Ok(Ok(())) => {}
            }
        }
        Ok(())
    }

    /// The database alert: told directly when the database stops answering
    /// or taking writes (critical: every on-call person and the robot at
    /// once); recorded as a fault, resolved, when it is back. Answers
    /// whether the database is usable now.
    async fn database(&self, now: DateTime<Utc>) -> Result<bool, Error> {
        let problem = self.database_ok().await.err();
        self.alerts.db.note_health(problem.is_none());
        let (first_fail, first_ok, oks) = self
            .streak
            .lock()
            .map_err(|_| Error::internal())?
            .look(problem.is_some(), now);
        let mut outage = self.outage.lock().map_err(|_| Error::internal())?.take();
        // Not yet agreed: as before. Gone once it has failed for a while
        // (timed from the first failed look), back after a few good looks.
        let failing_for = first_fail.map_or(0, |f| (now - f).num_seconds());
        let back_for = first_ok.map_or(0, |f| (now - f).num_seconds());
        let problem = match (&problem, outage.is_some()) {
            (Some(_), false) if failing_for < DB_FAILING_SECONDS => None,
            (None, true) if oks < DB_LOOKS || back_for < DB_BACK_SECONDS => Some(String::new()),
            _ => problem,
        };
        // The outage began at the first failed look.
        let since = first_fail.unwrap_or(now);
        match (problem, outage.as_ref()) {
            (Some(detail), None) => {
                tracing::error!(detail = %detail, "database unavailable: on-call staff told directly");
                let subject = "【告警】数据库不可用（严重）".to_string();
                let body = format!(
                    "告警：数据库不可用\n\n发生了什么：{detail}。叫号、签到与登记都无法保存（接口答复 503），\n屏幕保留最后的状态。\n在哪里：{} 的数据库\n从何时起：{}\n级别：严重\n如何检查：{}\n数据库恢复后系统自动恢复，并记入故障工单。\n\n— {} 分诊叫号系统\n",
                    self.alerts.hospital.name,
                    since.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M:%S"),
                    super::how_to_check(FaultKind::Database),
                    self.alerts.hospital.name,
                );
                let told = match &self.direct {
                    Some(d) => d.send_now(&subject, &body, now).await,
                    None => Vec::new(),
                };
                outage = Some(Outage {
                    since,
                    tried: now,
                    detail,
                    told,
                });
            }
            (Some(_), Some(o)) => {
                // Told nobody yet (SMTP down too): tried again every 30 s.
                let missing = o.told.len() < self.alerts.hospital.alerts.mail_to.len();
                if missing && (now - o.tried).num_seconds() >= 30 {
                    if let (Some(d), Some(o)) = (&self.direct, outage.as_mut()) {
                        let subject = "【告警】数据库不可用（严重）";
                        let body = format!(
                            "告警：数据库不可用\n\n发生了什么：{}\n从何时起：{}\n级别：严重\n如何检查：{}\n",
                            o.detail,
                            o.since.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M:%S"),
                            super::how_to_check(FaultKind::Database),
                        );
                        let told = d.send_now(subject, &body, now).await;
                        for t in told {
                            if !o.told.contains(&t) {
                                o.told.push(t);
                            }
                        }
                        o.tried = now;
                    }
                }
            }
            (None, Some(_)) => {
                if let Some(o) = outage.take() {
                    // Back since the first of the good looks.
                    let until = first_ok.unwrap_or(now);
                    let seconds = (until - o.since).num_seconds();
                    let detail = format!("{}；持续 {seconds} 秒后恢复。", o.detail);
                    if let Err(e) = self
                        .alerts
                        .record_outage(o.since, until, detail, o.told.clone())
                        .await
                    {
                        // Not written yet: kept for the next look.
                        outage = Some(o);
                        *self.outage.lock().map_err(|_| Error::internal())? = outage;
                        return Err(e);
                    }
                    tracing::info!(seconds, "database available again");
                }
            }
            (None, None) => {}
        }
        let usable = outage.is_none();
        *self.outage.lock().map_err(|_| Error::internal())? = outage;
        Ok(usable)
    }

    /// One look: faults opened for new conditions, resolved for cleared
    /// ones; reminders due sent.
    pub async fn tick(self: &std::sync::Arc<Self>, now: DateTime<Utc>) -> Result<(), Error> {
        if !self.database(now).await? {
            // Nothing else can be recorded while the database is down.
            return Ok(());
        }
        // The rest reads and writes the database too: a database that hangs
        // right after a good look holds the monitor for this long at most,
        // and the next look finds it.
        match tokio::time::timeout(REST_OF_LOOK, self.conditions(now)).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(
                    "alert monitor: the database did not answer in time; looked again next second"
                );
                Ok(())
            }
        }
    }

    /// Faults opened for new conditions, resolved for cleared ones;
    /// reminders due sent (the database answered this second's look).
    async fn conditions(self: &std::sync::Arc<Self>, now: DateTime<Utc>) -> Result<(), Error> {
        let working = self.working(now);
        // Thousands of screens: looked at on a blocking thread, not on the
        // thread the queue and room actors run on (a call waits for none
        // of it).
        let me = self.clone();
        let (screens, screens_back, seen) = tokio::task::spawn_blocking(move || me.screens(now))
            .await
            .map_err(|_| Error::internal())?;
        if !seen.is_empty() {
            self.alerts
                .db
                .write(move |c| super::store::record_seen(c, &seen))
                .await?;
        }
        let his = self.his(now);
        let errors = self.error_rate(now);
        let (next_queue, disks_due) = {
            let slow = self.slow.lock().map_err(|_| Error::internal())?;
            (
                slow.next_queue,
                slow.disks_at
                    .is_none_or(|t| (now - t).num_seconds() >= DISKS_EVERY_SECONDS),
            )
        };
        let all = &self.alerts.hospital.queues;
        let looked = match all.get(next_queue % all.len().max(1)) {
            Some(q) => Some((q.code.clone(), self.queue(q, now).await)),
            None => None,
        };
        let disks = disks_due.then(|| {
            let mut found = self.disks(now);
            found.extend(self.backup_missing(now));
            found
        });
        let (queues, disks) = {
            let mut slow = self.slow.lock().map_err(|_| Error::internal())?;
            slow.next_queue = next_queue.wrapping_add(1);
            if let Some((code, found)) = looked {
                match found {
                    Some(c) => {
                        slow.queues.insert(code.to_string(), c);
                    }
                    None => {
                        slow.queues.remove(code.as_str());
                    }
                }
            }
            if let Some(d) = disks {
                slow.disks = d;
                slow.disks_at = Some(now);
            }
            (
                slow.queues.values().cloned().collect::<Vec<_>>(),
                slow.disks.clone(),
            )
        };
        let open = self.alerts.db.read(super::store::open_faults).await?;
        let open_keys: HashSet<String> = open.iter().map(|f| f.fault_key.clone()).collect();
        // Screens and HIS matter in working hours; outside them an alert
        // already open is held (neither raised nor cleared).
        let mut active = Vec::new();
        let mut held = screens_back;
        for c in screens.into_iter().chain(his) {
            if working {
                active.push(c);
            } else {
                held.insert(c.key);
            }
        }
        active.extend(errors);
        active.extend(queues);
        active.extend(disks);
        let keys: HashSet<String> = active.iter().map(|c| c.key.clone()).collect();
        for c in active {
            if !open_keys.contains(&c.key) {
                self.alerts.raise(c, "system").await?;
            }
        }
        for f in open {
            let watched = WATCHED.contains(&f.kind);
            if watched && !keys.contains(&f.fault_key) && !held.contains(&f.fault_key) {
                self.alerts
                    .resolve(f.id, "system", "条件已消除，自动恢复".into())
                    .await?;
            }
        }
        self.alerts.remind_due(now).await?;
        Ok(())
    }
}

/// The last contact of a screen as the API shows it.
pub fn last_seen_of(
    alerts: &Alerts,
    code: &str,
    live: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let stored = alerts.seen.get(code).map(|t| *t);
    match (live, stored) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The time a daily backup (at `at`, local) was last due, when none was
/// taken since: it counts once two hours have passed, and not in the first
/// 30 minutes after `started` (a missed backup is taken at the start).
pub fn backup_overdue(
    at: chrono::NaiveTime,
    now: DateTime<Utc>,
    started: DateTime<Utc>,
    newest: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if (now - started).num_minutes() < 30 {
        return None;
    }
    let tz = triage_ground::time::shanghai();
    let local = now.with_timezone(&tz);
    let due_on = |d: chrono::NaiveDate| {
        d.and_time(at)
            .and_local_timezone(tz)
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    let today = due_on(local.date_naive())?;
    let last_due = if now - today >= chrono::Duration::hours(BACKUP_GRACE_HOURS) {
        today
    } else {
        due_on(local.date_naive() - chrono::Duration::days(1))?
    };
    newest.is_none_or(|t| t < last_due).then_some(last_due)
}

#[cfg(test)]
mod backup_tests {
    use super::backup_overdue;
    use chrono::{DateTime, NaiveTime, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn a_daily_backup_is_missing_two_hours_after_it_was_due() {
        let two_thirty = NaiveTime::from_hms_opt(2, 30, 0).unwrap_or_default();
        let start = at("2026-11-28T00:00:00Z");
        // 02:30 Beijing = 18:30 UTC the day before.
        let taken = Some(at("2026-11-28T18:31:00Z"));
        assert_eq!(
            backup_overdue(two_thirty, at("2026-11-29T02:00:00Z"), start, taken),
            None
        );
        // The next one is due 2026-11-29T18:30Z; at 20:29 not yet counted,
        // at 20:31 missing.
        assert_eq!(
            backup_overdue(two_thirty, at("2026-11-29T20:29:00Z"), start, taken),
            None
        );
        assert_eq!(
            backup_overdue(two_thirty, at("2026-11-29T20:31:00Z"), start, taken),
            Some(at("2026-11-29T18:30:00Z"))
        );
        // Taken: fine again.
        assert_eq!(
            backup_overdue(
                two_thirty,
                at("2026-11-29T20:31:00Z"),
                start,
                Some(at("2026-11-29T18:35:00Z"))
            ),
            None
        );
        // None at all; but not in the first half hour after the start.
        assert!(backup_overdue(two_thirty, at("2026-11-29T20:31:00Z"), start, None).is_some());
        assert_eq!(
            backup_overdue(
                two_thirty,
                at("2026-11-29T20:31:00Z"),
                at("2026-11-29T20:10:00Z"),
                None
            ),
            None
        );
    }
}
