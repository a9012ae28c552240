//! Background work has one home: [`Background`] starts every thread and task
//! that runs beside the requests — the database writer and the SQLite WAL
//! checkpointer (started by [`Db`](crate::db::Db) through it), the engine's
//! clock ticks (short-list refills of two-stage rooms, board refreshes when
//! time makes a patient callable, notices starting and ending on screens, the
//! day end), the wait forecasts, the patient webhooks, the daily backup,
//! the alert checks and the mail outbox, the
//! operations (timings and the run's heartbeat every minute; maintenance,
//! inspections and the monthly verification report when due) and the demo
//! simulation — and stops them in order.
//!
//! Shutting down ([`shutdown`]) on SIGTERM or Ctrl-C: stop the ticks and the
//! simulation (no new commands from inside), tell every screen that the
//! server restarts and close its socket (it shows so and reconnects by
//! itself), stop accepting and finish the requests in flight, flush the
//! writer (everything acknowledged is on disk), stop the threads. Bounded
//! by [`SHUTDOWN_BUDGET`].

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use triage_actors::queue::Refresh;
use triage_actors::room::Refill;

use crate::db::StopFlag;
use crate::engine::Engine;

/// How often a two-stage room checks that its short list is full.
pub const REFILL_EVERY: Duration = Duration::from_secs(5);
/// How often the patient webhooks look for queues that changed (N-ahead)
/// and send what is due.
pub const WEBHOOK_EVERY: Duration = Duration::from_millis(500);
/// How often the wait forecasts look for queues that changed.
pub const FORECAST_EVERY: Duration = Duration::from_millis(500);
/// How often a queue checks whether time changed what its board shows.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15);
/// How often audit records past their retention are removed and the
/// audit chain's head is written to the log.
pub const AUDIT_HEAD_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How often notices are checked for their start and end times (a notice
/// shows within this of its start).
pub const NOTICE_EVERY: Duration = Duration::from_secs(1);
/// How often the day end (日终) checks whether it is due.
pub const DAY_END_EVERY: Duration = Duration::from_secs(30);
/// How often the server looks whether a session started (出诊时段切换):
/// the door screens show the new session's doctors within this.
pub const SWITCH_EVERY: Duration = Duration::from_secs(5);
/// How often door screens' appointment lists are read again (a slot that
/// ended leaves them; changes by HIS are published at once).
pub const APPOINTMENTS_EVERY: Duration = Duration::from_secs(30);
/// How often the alert monitor looks and the outbox is sent.
pub const ALERT_EVERY: Duration = Duration::from_secs(1);
/// How often the daily backup checks whether it is due.
pub const BACKUP_EVERY: Duration = Duration::from_secs(60);
/// How often the server writes its timings and heartbeat, and looks
/// whether a maintenance, inspection or monthly report is due.
pub const OPERATIONS_EVERY: Duration = Duration::from_secs(60);
/// How long a shutdown may take in all (the process exits within it).
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(10);
/// How long requests in flight get to finish once the server stops
/// accepting (whole seconds: actix counts them so).
pub const DRAIN_SECONDS: u64 = 5;

/// The home of background work.
pub struct Background {
    stop: StopFlag,
    /// Wakes every timed task at once (after the clock was set: a test
    /// that moves its clock, a drill), counted so none misses one.
    wake: tokio::sync::watch::Sender<u64>,
    threads: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
    tasks: Mutex<Vec<(&'static str, actix_web::rt::task::JoinHandle<()>)>>,
    /// This server's row in `server_runs`.
    run: std::sync::OnceLock<i64>,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            stop: StopFlag::default(),
            wake: tokio::sync::watch::channel(0).0,
            threads: Mutex::default(),
            tasks: Mutex::default(),
            run: std::sync::OnceLock::new(),
        }
    }
}

/// A timed task's cadence: the next tick comes after `every`, or at once
/// when the background is woken.
pub struct Ticker {
    every: actix_web::rt::time::Interval,
    wake: tokio::sync::watch::Receiver<u64>,
}

impl Ticker {
    /// Waits for the next round.
    pub async fn tick(&mut self) {
        tokio::select! {
            _ = self.every.tick() => {}
            changed = self.wake.changed() => {
                if changed.is_err() {
                    // The background is gone: only the cadence is left.
                    self.every.tick().await;
                }
            }
        }
    }
}

/// The database starts its threads (writer, checkpointer) here.
impl crate::db::Spawner for Background {
    fn thread(&self, name: &'static str, work: Box<dyn FnOnce(StopFlag) + Send + 'static>) {
        Background::thread(self, name, work);
    }
}

impl Background {
    pub fn new() -> Arc<Background> {
        Arc::new(Background::default())
    }

    /// A cadence for a timed task (the first tick comes at once).
    pub fn ticker(&self, every: Duration) -> Ticker {
        Ticker {
            every: actix_web::rt::time::interval(every),
            wake: self.wake.subscribe(),
        }
    }

    /// Runs every timed task's next round now (the clock was set).
    pub fn wake(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Starts a named thread; `work` returns when the flag is set.
    pub fn thread(&self, name: &'static str, work: impl FnOnce(StopFlag) + Send + 'static) {
        let stop = self.stop.clone();
        match std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(stop))
        {
            Ok(handle) => self.lock_threads().push((name, handle)),
            Err(e) => {
                tracing::error!(thread = name, error = %e, "cannot start a background thread")
            }
        }
    }

    /// Starts a named task on the current actix system; it is aborted on
    /// shutdown.
    pub fn task(&self, name: &'static str, work: impl std::future::Future<Output = ()> + 'static) {
        let handle = actix_web::rt::spawn(work);
        self.lock_tasks().push((name, handle));
    }

    /// Keeps every queue's wait forecast current (issue 28): twice a
    /// second, the queues that changed (or whose forecast is stale) are
    /// forecast again, one after another on a blocking thread.
    pub fn forecasts(&self, engine: &Engine) {
        let engine = engine.clone();
        let mut every = self.ticker(FORECAST_EVERY);
        self.task("wait-forecasts", async move {
            loop {
                every.tick().await;
                // Rest as long as the pass took: at most half a core, also
                // when every queue changes at once.
                let began = std::time::Instant::now();
                engine.forecast_due().await;
                actix_web::rt::time::sleep(began.elapsed()).await;
            }
        });
    }

    /// Patient webhooks (issue 28): the N-ahead watch twice a second, and
    /// the sender of what is due, each its own task (a slow gateway holds
    /// up only the sending).
    pub fn webhooks(&self, engine: &Engine, sender: crate::webhooks::sender::Sender) {
        let watched = engine.clone();
        let mut every = self.ticker(WEBHOOK_EVERY);
        self.task("patient-ahead", async move {
            let mut watch = crate::webhooks::ahead::AheadWatch::default();
            loop {
                every.tick().await;
                watch.look(&watched).await;
            }
        });
        let mut every = self.ticker(WEBHOOK_EVERY);
        self.task("patient-webhooks", async move {
            loop {
                every.tick().await;
                sender.send_due().await;
            }
        });
    }

    /// Rebuilds the accounts' caches from the database every
    /// [`crate::auth::RELOAD`] (changes made from the command line).
    pub fn auth_reload(&self, auth: &crate::auth::Auth) {
        let auth = auth.clone();
        let mut every = self.ticker(crate::auth::RELOAD);
        self.task("auth-reload", async move {
            loop {
                every.tick().await;
                if let Err(e) = auth.reload().await {
                    tracing::warn!(error = %e, "could not reload accounts");
                }
            }
        });
    }

    /// Passes each wrong-password streak the accounts report on to the
    /// administrators as an alert (ADR 0017).
    pub fn login_alerts(&self, auth: &crate::auth::Auth, alerts: &crate::alerts::Alerts) {
        let Some(mut streaks) = auth.take_streaks() else {
            return;
        };
        let alerts = alerts.clone();
        self.task("login-alerts", async move {
            while let Some(s) = streaks.recv().await {
                let cond = crate::alerts::login_failures(&s.account, s.failures, &s.from, s.at);
                if let Err(e) = alerts.raise(cond, "system").await {
                    tracing::warn!(error = %e, "could not raise a login-failures alert");
                }
            }
        });
    }

    /// Starts the engine's clock ticks: two-stage rooms refill their short
    /// lists, queues refresh their boards as time passes, and once an hour
    /// names kept for staff pages that are days old are forgotten.
    pub fn ticks(&self, engine: &Engine) {
        let (names, clock) = (engine.names().clone(), engine.clock().clone());
        let mut every = self.ticker(Duration::from_secs(3600));
        self.task("names-upkeep", async move {
            loop {
                every.tick().await;
                let forgotten = names.forget_old(clock.now());
                if forgotten > 0 {
                    tracing::debug!(forgotten, kept = names.len(), "old names forgotten");
                }
            }
        });
        let rooms = engine.directory().clone();
        let two_stage: Vec<triage_ground::ids::RoomCode> = engine
            .hospital()
            .rooms
            .iter()
            .filter(|r| r.waiting_cap > 0)
            .map(|r| r.code.clone())
            .collect();
        let mut every = self.ticker(REFILL_EVERY);
        self.task("refill-ticks", async move {
            loop {
                every.tick().await;
                for code in &two_stage {
                    if let Some(room) = rooms.rooms.get(code) {
                        room.do_send(Refill);
                    }
                }
            }
        });
        let (notices, clock) = (engine.directory().clone(), engine.clock().clone());
        let mut every = self.ticker(NOTICE_EVERY);
        self.task("notice-ticks", async move {
            loop {
                every.tick().await;
                let (started, ended) = notices.notice_tick(clock.now());
                if started + ended > 0 {
                    tracing::info!(started, ended, "notices started or ended on the screens");
                }
            }
        });
        let day = engine.clone();
        let mut every = self.ticker(DAY_END_EVERY);
        self.task("day-end", async move {
            loop {
                every.tick().await;
                let now = day.now();
                let Some(due) = day.day_end_due(now) else {
                    continue;
                };
                let audit = crate::engine::Acting::new("system", "day-end").because("日终");
                if let Err(e) = day.close_day(due, audit).await {
                    // Tried again at the next tick.
                    tracing::error!(day = %due, error = %e, "day end failed");
                }
            }
        });
        let switch = engine.clone();
        let mut every = self.ticker(SWITCH_EVERY);
        self.task("session-switch", async move {
            loop {
                every.tick().await;
                if let Err(e) = switch.schedule_tick().await {
                    // Tried again at the next tick.
                    tracing::error!(error = %e, "session switch failed");
                }
            }
        });
        let lists = engine.clone();
        let mut every = self.ticker(APPOINTMENTS_EVERY);
        self.task("appointment-lists", async move {
            loop {
                every.tick().await;
                lists.publish_appointments().await;
            }
        });
        let queues = engine.directory().clone();
        let mut every = self.ticker(REFRESH_EVERY);
        self.task("board-ticks", async move {
            loop {
                every.tick().await;
                for q in queues.queues.iter() {
                    q.do_send(Refresh);
                }
            }
        });
    }

    /// Alerts (告警): the monitor looks every second (faults opened,
    /// resolved, reminded); the sender sends the outbox every second.
    pub fn alerts(
        &self,
        alerts: &crate::alerts::Alerts,
        engine: &Engine,
        disks: Vec<std::path::PathBuf>,
    ) {
        let monitor = std::sync::Arc::new(crate::alerts::monitor::Monitor::new(
            alerts.clone(),
            engine.clone(),
            disks,
        ));
        let clock = alerts.clock.clone();
        let mut every = self.ticker(ALERT_EVERY);
        self.task("alert-monitor", async move {
            loop {
                every.tick().await;
                if let Err(e) = monitor.tick(clock.now()).await {
                    tracing::error!(error = %e, "alert monitor: tried again next second");
                }
            }
        });
        let sender = match crate::alerts::sender::Sender::new(
            alerts.db.clone(),
            alerts.hospital.alerts.clone(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "alert sender not started");
                return;
            }
        };
        let clock = alerts.clock.clone();
        let mut every = self.ticker(ALERT_EVERY);
        self.task("alert-sender", async move {
            loop {
                every.tick().await;
                if let Err(e) = sender.round(clock.now()).await {
                    tracing::error!(error = %e, "alert sender: tried again next second");
                }
            }
        });
    }

    /// The daily backup (备份): when the configured time has passed and no
    /// backup of today was taken after it (also at start, for one missed
    /// while the server was down), take one, verify it (its report lies
    /// beside it) and remove the old ones. Off when `[backup] at = "off"`.
    pub fn backups(
        &self,
        engine: &Engine,
        database_url: String,
        alerts: Option<crate::alerts::Alerts>,
    ) {
        let policy = engine.hospital().backup.clone();
        let Some(at) = policy.at else {
            return;
        };
        let clock = engine.clock().clone();
        let mut every = self.ticker(BACKUP_EVERY);
        self.task("daily-backup", async move {
            loop {
                every.tick().await;
                let now = clock.now();
                if crate::backups::due(&policy, at, now).is_none() {
                    continue;
                }
                let (url, policy) = (database_url.clone(), policy.clone());
                let done =
                    tokio::task::spawn_blocking(move || crate::backups::daily(&url, &policy, now))
                        .await;
                let failure = match done {
                    Ok(Ok(outcome)) => {
                        tracing::info!(
                            file = %outcome.file.display(),
                            verified = outcome.verified,
                            pruned = outcome.pruned,
                            "daily backup taken"
                        );
                        (!outcome.verified)
                            .then(|| "备份已生成，但检查未通过（见备份旁的检查报告）".to_string())
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "daily backup failed");
                        // The cause itself, not the error's kind.
                        let cause = match e {
                            crate::db::DbError::Unavailable(why) => why,
                            other => other.to_string(),
                        };
                        Some(format!("每日备份失败：{cause}"))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "daily backup stopped");
                        Some("每日备份中断".to_string())
                    }
                };
                if let Some(a) = &alerts {
                    if let Err(e) = a.backup_outcome(failure).await {
                        tracing::error!(error = %e, "backup alert not recorded");
                    }
                }
            }
        });
    }

    /// Once at start and then once a day: removes audit records past
    /// their retention (`audit_retention_days`, in batches through the
    /// writer, so the calling path waits at most one batch), then writes
    /// the chain's head to the log, so that a copy of it lives outside the
    /// database (`triage audit verify --head` checks the chain ends there).
    pub fn audit_upkeep(&self, engine: &Engine) {
        let db = engine.db().clone();
        let clock = engine.clock().clone();
        let days = i64::from(engine.hospital().security.audit_retention_days);
        let archive = engine.hospital().operations.archive_dir.clone();
        let mut every = self.ticker(AUDIT_HEAD_EVERY);
        self.task("audit-upkeep", async move {
            loop {
                every.tick().await;
                let now = clock.now().naive_utc();
                let cutoff = now - chrono::Duration::days(days);
                // Exported (gzip JSON lines, synced) before they are
                // deleted; on a pooled connection in its own write
                // transactions, a batch at a time.
                let dir = archive.clone();
                let removed = match db
                    .read(move |c| crate::ops::maintain::archive_expired(c, cutoff, now, &dir))
                    .await
                {
                    Ok(a) => {
                        if let Some(f) = &a.file {
                            tracing::info!(file = %f.display(), records = a.records, "audit records past their retention archived");
                        }
                        a.removed
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "audit records past their retention could not be archived and removed");
                        0
                    }
                };
                if removed > 0 {
                    tracing::info!(records = removed, retention_days = days, "audit records past their retention removed");
                }
                match db.read(crate::db::audit::head).await {
                    Ok(head) => tracing::info!(audit.head = %head, "audit chain head"),
                    Err(e) => tracing::error!(error = %e, "audit chain head unreadable"),
                }
            }
        });
    }

    /// Every minute: writes the timings gathered (requests, slow SQL) and
    /// the run's heartbeat. After `[operations] at` (local time), runs what
    /// is due: the monthly verification report of the month before (from
    /// the 1st), a maintenance every `maintain_every_days`, an inspection
    /// every `inspect_every_days` and a deep one `inspect_days_before` days
    /// before each holiday — each on a blocking thread, on its own
    /// connection, its report in `reports_dir`.
    pub fn operations(
        &self,
        engine: &Engine,
        alerts: &crate::alerts::Alerts,
        run: i64,
        database_url: String,
    ) {
        let _ = self.run.set(run);
        let alerts = alerts.clone();
        let db = engine.db().clone();
        let clock = engine.clock().clone();
        let hospital = engine.hospital().clone();
        let mut every = self.ticker(OPERATIONS_EVERY);
        self.task("operations", async move {
            let mut tried: Vec<(&'static str, chrono::NaiveDate)> = Vec::new();
            every.tick().await;
            loop {
                every.tick().await;
                let rows = db.timings().take();
                let now = clock.now();
                let kept = rows.clone();
                let at = now.naive_utc();
                if let Err(e) = db
                    .write(move |c| crate::ops::timings::flush(c, &rows, Some(run), at, false))
                    .await
                {
                    tracing::warn!(error = %e, "timings not written (kept for the next minute)");
                    db.timings().restore(kept);
                }
                let Some(mut due) = crate::ops::due(&hospital, now) else {
                    continue;
                };
                // What failed today is tried again tomorrow, not every
                // minute (its ledger line was not written).
                let today = triage_ground::time::service_date(now);
                tried.retain(|(_, day)| *day == today);
                let was_tried = |kind: &str| tried.iter().any(|(k, _)| *k == kind);
                if was_tried("monthly") {
                    due.monthly = None;
                }
                if was_tried("maintain") {
                    due.maintain = false;
                }
                if was_tried("doctors") {
                    due.doctors = false;
                }
                if was_tried("inspect") {
                    due.inspect = None;
                }
                if due == crate::ops::Due::default() {
                    continue;
                }
                for (kind, is_due) in [
                    ("monthly", due.monthly.is_some()),
                    ("maintain", due.maintain),
                    ("doctors", due.doctors),
                    ("inspect", due.inspect.is_some()),
                ] {
                    if is_due {
                        tried.push((kind, today));
                    }
                }
                let (url, h) = (database_url.clone(), hospital.clone());
                let done =
                    tokio::task::spawn_blocking(move || crate::ops::run_due(&url, &h, now, &due))
                        .await;
                match done {
                    Ok((reports, failed)) => {
                        for r in reports {
                            tracing::info!(report = %r.display(), "operations report written");
                        }
                        for (kind, why) in failed {
                            tracing::error!(kind, error = %why, "scheduled operation failed or needs a person");
                            let cond = crate::alerts::operation_failed(kind, &why, now);
                            if let Err(e) = alerts.raise(cond, "system").await {
                                tracing::warn!(error = %e, "could not raise a scheduled-operation alert");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "scheduled operations stopped");
                        let cond = crate::alerts::operation_failed(
                            "operations",
                            "定期运维任务意外中止（见服务器日志）",
                            now,
                        );
                        if let Err(e) = alerts.raise(cond, "system").await {
                            tracing::warn!(error = %e, "could not raise a scheduled-operation alert");
                        }
                    }
                }
            }
        });
    }

    /// This server's row in `server_runs`, once started.
    pub fn run_id(&self) -> Option<i64> {
        self.run.get().copied()
    }

    /// Stops the tasks (ticks, simulation) at once.
    pub fn stop_tasks(&self) {
        for (name, task) in self.lock_tasks().drain(..) {
            task.abort();
            tracing::debug!(task = name, "background task stopped");
        }
    }

    /// Sets the stop flag and waits for every thread.
    pub fn stop_threads(&self) {
        self.stop.set();
        for (name, handle) in self.lock_threads().drain(..) {
            if handle.join().is_err() {
                tracing::error!(thread = name, "background thread panicked");
            }
        }
    }

    fn lock_threads(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, JoinHandle<()>)>> {
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_tasks(
        &self,
    ) -> std::sync::MutexGuard<'_, Vec<(&'static str, actix_web::rt::task::JoinHandle<()>)>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Shuts the server down on purpose: nothing acknowledged is lost, every
/// screen is told and reconnects by itself. See the module's documentation
/// for the order.
pub async fn shutdown(engine: &Engine, server: &ServerHandle, background: &Arc<Background>) {
    tracing::info!("shutting down");
    background.stop_tasks();
    let screens = engine.directory().restarting();
    tracing::info!(screens, "screens told the server restarts");
    // No new connections; requests in flight finish (bounded by the
    // server's shutdown timeout).
    server.stop(true).await;
    // The last timings and the run's graceful end, before the writer stops.
    if let Some(run) = background.run_id() {
        let rows = engine.db().timings().take();
        let at = engine.now().naive_utc();
        if let Err(e) = engine
            .db()
            .write(move |c| crate::ops::timings::flush(c, &rows, Some(run), at, true))
            .await
        {
            tracing::warn!(error = %e, "the run's end not recorded");
        }
    }
    match engine.db().flush().await {
        Ok(()) => tracing::info!("database writer flushed"),
        Err(e) => tracing::error!(error = %e, "database writer could not be flushed"),
    }
    engine.db().stop_writer().await;
    // Joining threads blocks: off the runtime's thread, so that the
    // shutdown budget still bounds it.
    let joined = tokio::task::spawn_blocking({
        let background = background.clone();
        move || background.stop_threads()
    })
    .await;
    if joined.is_err() {
        tracing::error!("background threads could not be joined");
    }
    tracing::info!("stopped");
}
