//! Operations (运维): what the server records about itself and the reports
//! built on it. [`timings`] keeps the server's own timings (requests by
//! route, slow SQL statements) and its runs (starts, graceful stops);
//! reports render through `crate::report` as Markdown and printable HTML;
//! [`inspect`] is the inspection report (巡检报告: gather, risks, render);
//! [`maintain`] the database maintenance (数据库维护); [`drill`] the
//! emergency drill (应急演练) on a scratch copy; [`ledger`] the record
//! of verifications, maintenances and inspections that outlives the pruned
//! backups; [`monthly`] the monthly verification report.

pub mod drill;
pub mod inspect;
pub mod ledger;
pub mod maintain;
pub mod monthly;
pub mod timings;

/// What the server should run now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// The monthly verification report of this month (its first day).
    pub monthly: Option<chrono::NaiveDate>,
    pub maintain: bool,
    /// An inspection; `Some(Some(h))` the deep one before holiday `h`.
    pub inspect: Option<Option<chrono::NaiveDate>>,
    /// The weekly doctors' integrity report.
    pub doctors: bool,
}

/// What is due at `now` by `[operations]` and the ledgers: nothing before
/// `at` (local time) or with `at = "off"`.
pub fn due(hospital: &crate::config::Hospital, now: chrono::DateTime<chrono::Utc>) -> Option<Due> {
    use chrono::Datelike;
    let p = &hospital.operations;
    let local = now.with_timezone(&triage_ground::time::shanghai());
    if local.time() < p.at? {
        return None;
    }
    let today = local.date_naive();
    let day_of = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&triage_ground::time::shanghai())
            .date_naive()
    };
    // A ledger that cannot be read is not an empty one: nothing is due
    // (running everything again every minute would be worse), and it is
    // said.
    let entries = match ledger::read(&p.reports_dir.join(ledger::OPERATIONS)) {
        Ok((e, _)) => e,
        Err(e) => {
            tracing::error!(error = %e, dir = %p.reports_dir.display(), "the operations ledger cannot be read; nothing scheduled runs until it can");
            return None;
        }
    };
    let last = |kind: ledger::Kind| entries.iter().rev().find(|e| e.kind == kind).map(|e| e.at);
    let mut due = Due::default();
    let this_month = chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1)?;
    let previous = this_month.checked_sub_months(chrono::Months::new(1))?;
    let monthly_file = p.reports_dir.join(format!(
        "backup-verification-{}.md",
        previous.format("%Y-%m")
    ));
    // Only for a month the ledger knows something of (a fresh install has
    // no month before it to report).
    let knows_previous = ledger::read(&hospital.backup.dir.join(ledger::VERIFICATIONS))
        .is_ok_and(|(e, _)| e.iter().any(|e| day_of(e.at) < this_month));
    if knows_previous && !monthly_file.exists() {
        due.monthly = Some(previous);
    }
    due.maintain = last(ledger::Kind::Maintain)
        .is_none_or(|at| (today - day_of(at)).num_days() >= i64::from(p.maintain_every_days));
    due.doctors = last(ledger::Kind::Doctors).is_none_or(|at| (today - day_of(at)).num_days() >= 7);
    let last_inspect = last(ledger::Kind::Inspect);
    let holiday = p.holidays.iter().copied().find(|h| {
        let from = *h - chrono::Duration::days(i64::from(p.inspect_days_before));
        today >= from && today < *h && last_inspect.is_none_or(|at| day_of(at) < from)
    });
    if holiday.is_some() {
        due.inspect = Some(holiday);
    } else if last_inspect
        .is_none_or(|at| (today - day_of(at)).num_days() >= i64::from(p.inspect_every_days))
    {
        due.inspect = Some(None);
    }
    (due != Due::default()).then_some(due)
}

/// Runs what `due` names, each on its own (one failing does not keep the
/// others from running); answers the reports written and the failures.
pub fn run_due(
    url: &str,
    hospital: &crate::config::Hospital,
    now: chrono::DateTime<chrono::Utc>,
    due: &Due,
) -> (Vec<std::path::PathBuf>, Vec<(&'static str, String)>) {
    let p = &hospital.operations;
    let (mut out, mut failed) = (Vec::new(), Vec::new());
    let io = |e: std::io::Error| {
        crate::db::DbError::Unavailable(format!("cannot write the report: {e}"))
    };
    // What failed or needs a person, said in Chinese (it becomes the
    // on-call staff's alert).
    let mut done = |kind: &'static str, r: Result<std::path::PathBuf, String>| match r {
        Ok(path) => out.push(path),
        Err(e) => failed.push((kind, e)),
    };
    let failed_because = |e: crate::db::DbError| format!("执行失败：{e}");
    if let Some(month) = due.monthly {
        done(
            "monthly",
            (|| {
                let (md, m) =
                    monthly::write_monthly(&hospital.backup.dir, &p.reports_dir, month, now)
                        .map_err(io)?;
                ledger::append(
                    &p.reports_dir.join(ledger::OPERATIONS),
                    &ledger::Entry {
                        kind: ledger::Kind::Monthly,
                        at: now,
                        ok: m.ok(),
                        subject: md.display().to_string(),
                        summary: format!("{} of {} days with a good backup", m.good_days, m.days),
                    },
                )
                .map_err(io)?;
                Ok(md)
            })()
            .map_err(failed_because),
        );
    }
    if due.maintain {
        done(
            "maintain",
            maintain::run(url, hospital, now, true)
                .map_err(failed_because)
                .and_then(|m| {
                    // Written and kept in the ledger; steps left undone are
                    // told as a failure is (a warning to the on-call staff).
                    let left = m.skipped();
                    if left.is_empty() {
                        Ok(m.report)
                    } else {
                        Err(format!(
                            "数据库维护未全部完成（报告 {}）：{}",
                            m.report.display(),
                            left.join("；")
                        ))
                    }
                }),
        );
    }
    if due.doctors {
        done(
            "doctors",
            doctors_check(url, hospital, now)
                .map(|d| d.1)
                .map_err(failed_because),
        );
    }
    if let Some(holiday) = due.inspect {
        done(
            "inspect",
            inspect::run(url, hospital, now, p.inspect_every_days, holiday)
                .map_err(failed_because)
                .and_then(|i| {
                    // A holiday inspection's high risks are told before the
                    // holiday, not only written.
                    let high: Vec<&str> = i
                        .risks
                        .iter()
                        .filter(|r| i.deep.is_some() && r.level == inspect::Level::High)
                        .map(|r| r.finding.as_str())
                        .collect();
                    if high.is_empty() {
                        Ok(i.report)
                    } else {
                        Err(format!(
                            "节前深度巡检发现高风险（报告 {}）：{}",
                            i.report.display(),
                            high.join("；")
                        ))
                    }
                }),
        );
    }
    (out, failed)
}

/// The doctors' integrity report now, written into the reports directory
/// (`doctors-integrity-…`) with its ledger line (weekly by the server,
/// or `triage doctors check`).
pub fn doctors_check(
    url: &str,
    hospital: &crate::config::Hospital,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(crate::engine::doctors::Integrity, std::path::PathBuf), crate::db::DbError> {
    let mut c = crate::db::connect_raw(url)?;
    let report = crate::engine::doctors::integrity(&mut c, hospital, now)?;
    let p = &hospital.operations;
    let io = |e: std::io::Error| {
        crate::db::DbError::Unavailable(format!("cannot write the report: {e}"))
    };
    let stem = format!(
        "doctors-integrity-{}",
        now.with_timezone(&triage_ground::time::shanghai())
            .format("%Y%m%d-%H%M%S")
    );
    let (md, _) = report.doc().write(&p.reports_dir, &stem).map_err(io)?;
    ledger::append(
        &p.reports_dir.join(ledger::OPERATIONS),
        &ledger::Entry {
            kind: ledger::Kind::Doctors,
            at: now,
            ok: report.findings.is_empty(),
            subject: md.display().to_string(),
            summary: format!(
                "{} doctors, {} findings",
                report.doctors,
                report.findings.len()
            ),
        },
    )
    .map_err(io)?;
    Ok((report, md))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default()
    }

    fn entry(kind: ledger::Kind, when: &str) -> ledger::Entry {
        ledger::Entry {
            kind,
            at: at(when),
            ok: true,
            subject: String::new(),
            summary: String::new(),
        }
    }

    /// What is due besides the weekly doctors' check.
    fn sans_doctors(
        h: &crate::config::Hospital,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Due> {
        due(h, now)
            .map(|d| Due {
                doctors: false,
                ..d
            })
            .filter(|d| *d != Due::default())
    }

    #[test]
    fn maintenance_inspection_and_the_holiday_inspection_fall_due_after_their_time() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut h = crate::config::Hospital::demo();
        h.operations.reports_dir = dir.path().join("reports");
        h.backup.dir = dir.path().join("backups");
        h.operations.at = chrono::NaiveTime::from_hms_opt(3, 30, 0);
        h.operations.holidays =
            vec![chrono::NaiveDate::from_ymd_opt(2027, 2, 6).unwrap_or_default()];
        // Before 03:30 Beijing nothing; after it, a fresh install runs
        // both (no monthly report without any verification).
        assert_eq!(sans_doctors(&h, at("2026-11-29T19:00:00Z")), None);
        assert_eq!(
            sans_doctors(&h, at("2026-11-29T20:00:00Z")),
            Some(Due {
                monthly: None,
                maintain: true,
                inspect: Some(None),
                doctors: false,
            })
        );
        let ops = h.operations.reports_dir.join(ledger::OPERATIONS);
        for e in [
            entry(ledger::Kind::Maintain, "2026-11-29T20:00:00Z"),
            entry(ledger::Kind::Inspect, "2026-11-29T20:00:00Z"),
        ] {
            ledger::append(&ops, &e).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            sans_doctors(&h, at("2026-12-01T20:00:00Z")),
            None,
            "done two days ago"
        );
        // 89 days later: not yet; 90: both.
        assert_eq!(
            sans_doctors(&h, at("2027-02-26T20:00:00Z")),
            None,
            "89 days"
        );
        let d = sans_doctors(&h, at("2027-02-28T20:00:00Z")).unwrap_or_default();
        assert!(d.maintain && d.inspect == Some(None));
        // Seven days before the Spring Festival: the deep inspection, once.
        assert_eq!(
            sans_doctors(&h, at("2027-01-30T20:00:00Z")).and_then(|d| d.inspect),
            Some(h.operations.holidays.first().copied())
        );
        ledger::append(&ops, &entry(ledger::Kind::Inspect, "2027-01-30T20:00:00Z"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sans_doctors(&h, at("2027-01-31T20:00:00Z")), None);
        // The monthly report: not for a month before the ledger began
        // (a verification of February only: nothing to say of January)…
        let verifications = h.backup.dir.join(ledger::VERIFICATIONS);
        ledger::append(
            &verifications,
            &entry(ledger::Kind::Verify, "2027-01-31T18:00:00Z"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sans_doctors(&h, at("2027-02-01T20:00:00Z")).and_then(|d| d.monthly),
            None
        );
        // …but once January has one, until it is written.
        ledger::append(
            &verifications,
            &entry(ledger::Kind::Verify, "2027-01-31T10:00:00Z"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let d = sans_doctors(&h, at("2027-02-01T20:00:00Z")).unwrap_or_default();
        assert_eq!(d.monthly, chrono::NaiveDate::from_ymd_opt(2027, 1, 1));
        // The doctors' check: weekly.
        assert!(due(&h, at("2027-02-01T20:00:00Z")).is_some_and(|d| d.doctors));
        ledger::append(&ops, &entry(ledger::Kind::Doctors, "2027-02-01T20:00:00Z"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(due(&h, at("2027-02-07T20:00:00Z")).is_none_or(|d| !d.doctors));
        assert!(due(&h, at("2027-02-08T20:00:00Z")).is_some_and(|d| d.doctors));
        h.operations.at = None;
        assert_eq!(
            sans_doctors(&h, at("2027-02-01T20:00:00Z")),
            None,
            "\"off\""
        );
    }
}
