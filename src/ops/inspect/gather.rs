//! Gathering an inspection's figures: the period, the server's runs, the
//! database, the backups and ledgers, faults and screens, timings, queue
//! waits and the audit chain, each read in a phase of its own.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{mean, minutes, FaultStats, Inspection, ScreenHistory, SecondCopy, Waits};
use super::risks::risks;
use crate::config::Hospital;
use crate::db::columns::{FaultKind, FaultState, Severity};
use crate::db::schema::{faults, screen_presence, visits};
use crate::db::{self, AnyConnection, DbError};
use crate::ops::ledger::{self, Entry};
use crate::ops::maintain::database_bytes;
use crate::ops::monthly::{self, Month};
use crate::ops::timings::{self, Agg, Run};

/// The period inspected: its first and last service days, and its start
/// as a UTC time.
struct Period {
    from: NaiveDate,
    to: NaiveDate,
    since: NaiveDateTime,
}

/// The server's runs and what they tell.
struct Uptime {
    runs: Vec<Run>,
    running_since: Option<NaiveDateTime>,
    restarts: usize,
    unclean_stops: usize,
}

/// The database's size, its tables' rows and the visits of the period.
struct Contents {
    bytes: u64,
    rows: BTreeMap<String, i64>,
    visits_in_period: i64,
}

/// The kept backups and what the ledgers say of them and of maintenance.
struct Backups {
    backups: Vec<crate::backups::Kept>,
    growth_per_day: Option<f64>,
    last_verification: Option<Entry>,
    unreadable: Vec<String>,
    month: Option<Month>,
    last_maintenance: Option<Entry>,
}

/// A fault row: key, kind, severity, state, opened, acknowledged, resolved.
type FaultRow = (
    String,
    FaultKind,
    Severity,
    FaultState,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// Each screen's times offline and minutes offline, from its faults.
type Offline = BTreeMap<String, (usize, f64)>;

/// Gathers an inspection of the database at `url` over the `days` before
/// `now` (its figures only; [`super::run`] also writes it).
pub fn gather(
    url: &str,
    hospital: &Hospital,
    now: DateTime<Utc>,
    days: u32,
    holiday: Option<NaiveDate>,
) -> Result<Inspection, DbError> {
    let mut c = db::connect_raw(url)?;
    let period = period(now, days);
    let now_naive = now.naive_utc();
    let uptime = uptime(&mut c, period.since, now_naive)?;
    let contents = contents(&mut c, url, &period)?;
    let kept = backups(hospital, period.to, now)?;
    let (faults, offline) = faults(&mut c, period.since, now_naive)?;
    let screens = screens(&mut c, hospital, &offline)?;
    let kiosks_seen: BTreeMap<String, NaiveDateTime> =
        db::accounts::kiosks_seen(&mut c)?.into_iter().collect();
    let (endpoints, statements) = slowest(&mut c, &period)?;
    let waits = waits(&mut c, &period)?;
    // The audit chain, walked whole.
    let verdict = db::audit::verify(&mut c)?;
    let audit_intact = matches!(verdict, db::audit::Verdict::Intact { .. });
    let second_location = second_copy(hospital, kept.backups.last());

    let mut i = Inspection {
        at: now,
        from: period.from,
        to: period.to,
        holiday,
        version: crate::VERSION.to_string(),
        runs: uptime.runs,
        running_since: uptime.running_since,
        restarts: uptime.restarts,
        unclean_stops: uptime.unclean_stops,
        bytes: contents.bytes,
        rows: contents.rows,
        visits_in_period: contents.visits_in_period,
        growth_per_day: kept.growth_per_day,
        backups: kept.backups,
        last_verification: kept.last_verification,
        month: kept.month,
        second_location,
        last_maintenance: kept.last_maintenance,
        screens,
        faults,
        endpoints,
        statements,
        waits,
        audit: verdict.to_string(),
        audit_intact,
        unreadable_ledgers: kept.unreadable,
        risks: Vec::new(),
        report: PathBuf::new(),
        kiosks_seen,
        deep: None,
    };
    i.risks = risks(&i, hospital);
    Ok(i)
}

/// The `days` service days up to `now`'s, starting at Beijing midnight.
fn period(now: DateTime<Utc>, days: u32) -> Period {
    let to = triage_ground::time::service_date(now);
    let from = to - chrono::Duration::days(i64::from(days.max(1)) - 1);
    let since = from
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_local_timezone(triage_ground::time::shanghai())
        .single()
        .map(|t| t.naive_utc())
        .unwrap_or_default();
    Period { from, to, since }
}

/// The server's runs since `since`: the one still going (heartbeat within
/// two minutes), the starts in the period, the stops never recorded.
fn uptime(
    c: &mut AnyConnection,
    since: NaiveDateTime,
    now_naive: NaiveDateTime,
) -> Result<Uptime, DbError> {
    let runs = timings::runs(c, since)?;
    let running_since = runs
        .last()
        .filter(|r| r.stopped_at.is_none() && minutes(r.seen_at, now_naive) <= 2.0)
        .map(|r| r.started_at);
    let restarts = runs.iter().filter(|r| r.started_at >= since).count();
    let unclean_stops = runs
        .iter()
        .enumerate()
        .filter(|(i, r)| r.stopped_at.is_none() && *i + 1 < runs.len())
        .count();
    Ok(Uptime {
        runs,
        running_since,
        restarts,
        unclean_stops,
    })
}

/// The database's size, its tables' rows and the period's visits.
fn contents(c: &mut AnyConnection, url: &str, period: &Period) -> Result<Contents, DbError> {
    let bytes = database_bytes(c, url)?;
    let contents = crate::backups::contents(c)?;
    let (from_s, to_s) = (period.from.to_string(), period.to.to_string());
    let visits_in_period: i64 = visits::table
        .filter(visits::service_date.ge(&from_s))
        .filter(visits::service_date.le(&to_s))
        .count()
        .get_result(c)?;
    Ok(Contents {
        bytes,
        rows: contents.tables,
        visits_in_period,
    })
}

/// The kept backups, their growth, the last verification and maintenance,
/// the month's verifications and the ledgers not read whole.
fn backups(hospital: &Hospital, to: NaiveDate, now: DateTime<Utc>) -> Result<Backups, DbError> {
    let backup_dir = &hospital.backup.dir;
    let backups = crate::backups::list(backup_dir)?;
    let growth_per_day = growth_per_day(&backups);
    let last_verification = ledger::last(
        &backup_dir.join(ledger::VERIFICATIONS),
        ledger::Kind::Verify,
    );
    let unreadable = unreadable_ledgers(hospital);
    let month = monthly::monthly(backup_dir, to, now).ok().map(|(_, m)| m);
    let last_maintenance = ledger::last(
        &hospital.operations.reports_dir.join(ledger::OPERATIONS),
        ledger::Kind::Maintain,
    );
    Ok(Backups {
        backups,
        growth_per_day,
        last_verification,
        unreadable,
        month,
        last_maintenance,
    })
}

/// From the kept backups' sizes: bytes per day (over at least 20 hours).
fn growth_per_day(backups: &[crate::backups::Kept]) -> Option<f64> {
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
}

/// The verification and operations ledgers that could not be read whole.
fn unreadable_ledgers(hospital: &Hospital) -> Vec<String> {
    let mut unreadable = Vec::new();
    for file in [
        hospital.backup.dir.join(ledger::VERIFICATIONS),
        hospital.operations.reports_dir.join(ledger::OPERATIONS),
    ] {
        match ledger::read(&file) {
            Ok((_, 0)) => {}
            Ok((_, bad)) => unreadable.push(format!("{}（{bad} 行无法读取）", file.display())),
            Err(e) => unreadable.push(format!("{}（{e}）", file.display())),
        }
    }
    unreadable
}

/// The faults opened since `since`, counted, with each screen's offline
/// history.
fn faults(
    c: &mut AnyConnection,
    since: NaiveDateTime,
    now_naive: NaiveDateTime,
) -> Result<(FaultStats, Offline), DbError> {
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
        .load(c)?;
    let mut fs = FaultStats {
        total: rows.len(),
        ..FaultStats::default()
    };
    let (mut acks, mut fixes) = (Vec::new(), Vec::new());
    let mut offline = Offline::new();
    for (key, kind, severity, state, opened, acked, resolved) in &rows {
        *fs.by_kind.entry(kind.to_string()).or_default() += 1;
        if *severity == Severity::Critical {
            fs.critical += 1;
        }
        if matches!(state, FaultState::Opened | FaultState::Acknowledged) {
            fs.open_now += 1;
        }
        if let Some(a) = acked {
            acks.push(minutes(*opened, *a));
        }
        if let Some(r) = resolved {
            fixes.push(minutes(*opened, *r));
        }
        // A screen's fault key is `screen_offline:<screen code>`.
        let screen = (*kind == FaultKind::ScreenOffline)
            .then(|| key.split_once(':').map(|(_, code)| code))
            .flatten();
        if let Some(code) = screen {
            let e = offline.entry(code.to_string()).or_default();
            e.0 += 1;
            e.1 += minutes(*opened, resolved.unwrap_or(now_naive));
        }
    }
    fs.mean_ack_minutes = mean(&acks);
    fs.mean_resolve_minutes = mean(&fixes);
    Ok((fs, offline))
}

/// The second location as found now: the newest backup's copy there read
/// and checked against its manifest.
fn second_copy(hospital: &Hospital, newest: Option<&crate::backups::Kept>) -> SecondCopy {
    let Some(dir) = &hospital.backup.second_dir else {
        return SecondCopy::NotConfigured;
    };
    if !dir.is_dir() {
        return SecondCopy::FolderMissing(dir.display().to_string());
    }
    let Some(name) = newest.and_then(|k| k.file.file_name()) else {
        return SecondCopy::NoCopy(dir.display().to_string());
    };
    let copy = dir.join(name);
    let label = copy.display().to_string();
    let expected = std::fs::read_to_string(crate::backups::manifest_path(&copy))
        .ok()
        .and_then(|t| serde_json::from_str::<crate::backups::Manifest>(&t).ok())
        .map(|m| m.sha256);
    match (copy.exists(), expected) {
        (false, _) | (_, None) => SecondCopy::NoCopy(label),
        (true, Some(sha)) => match crate::backups::file_sha256(&copy) {
            Ok((got, _)) if got == sha => SecondCopy::Verified(label),
            _ => SecondCopy::Differs(label),
        },
    }
}

/// Every screen in service: its last contact and its offline history.
fn screens(
    c: &mut AnyConnection,
    hospital: &Hospital,
    offline: &Offline,
) -> Result<Vec<ScreenHistory>, DbError> {
    let seen: BTreeMap<String, NaiveDateTime> = screen_presence::table
        .select((screen_presence::code, screen_presence::last_seen))
        .load::<(String, NaiveDateTime)>(c)?
        .into_iter()
        .collect();
    // The screens in service: the configuration's, as registered or
    // reassigned since, without the retired ones (停用).
    let stored = crate::db::store::load_screens(c)?;
    let mut list: Vec<(String, String)> = hospital
        .screens
        .iter()
        .map(|s| (s.code.to_string(), s.name.clone()))
        .collect();
    for r in &stored {
        list.retain(|(code, _)| *code != r.code);
        if r.retired_at.is_none() {
            list.push((r.code.clone(), r.name.clone()));
        }
    }
    list.sort();
    Ok(list
        .into_iter()
        .map(|(code, name)| {
            let (times, mins) = offline.get(code.as_str()).copied().unwrap_or((0, 0.0));
            ScreenHistory {
                last_seen: seen.get(code.as_str()).copied(),
                code,
                name,
                offline_times: times,
                offline_minutes: mins,
            }
        })
        .collect())
}

/// The ten slowest endpoints (by mean) and statements (by maximum).
type Slowest = (Vec<(String, Agg)>, Vec<(String, Agg)>);

/// The period's ten slowest endpoints and statements.
fn slowest(c: &mut AnyConnection, period: &Period) -> Result<Slowest, DbError> {
    let mut endpoints = timings::between(c, "http", period.from, period.to)?;
    endpoints.sort_by(|a, b| {
        let m = |x: &Agg| x.total_ms / x.calls.max(1) as f64;
        m(&b.1).total_cmp(&m(&a.1))
    });
    endpoints.truncate(10);
    let mut statements = timings::between(c, "sql", period.from, period.to)?;
    statements.sort_by(|a, b| b.1.max_ms.total_cmp(&a.1.max_ms));
    statements.truncate(10);
    Ok((endpoints, statements))
}

/// Queue waits by department: check-in to first call.
fn waits(c: &mut AnyConnection, period: &Period) -> Result<Vec<Waits>, DbError> {
    let (from_s, to_s) = (period.from.to_string(), period.to.to_string());
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
        .load(c)?;
    let mut by_dept: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (d, checked, call) in called {
        by_dept
            .entry(d)
            .or_default()
            .push(minutes(checked, call).max(0.0));
    }
    Ok(by_dept
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
        .collect())
}
