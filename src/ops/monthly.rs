//! The monthly verification report (备份恢复月度报告): every day's
//! verifications of a month from the ledger beside the backups
//! (`ops::ledger`), the days without a good one, the backups kept now.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::ledger::{self, read, Entry, VERIFICATIONS};
use crate::report::Doc;

/// What a month's verifications came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Month {
    /// Days counted: from the month's first day (or the first day the
    /// ledger knows, if later) through its last (or today).
    pub days: usize,
    /// Days with at least one good verification.
    pub good_days: usize,
    /// Days with no good verification.
    pub missing: Vec<NaiveDate>,
    pub verifications: usize,
    pub failures: usize,
    pub unreadable_lines: usize,
}

impl Month {
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.days > 0
    }
}

fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&triage_ground::time::shanghai())
        .date_naive()
}

/// The monthly verification report of `month` (its first day) from the
/// ledger in `backup_dir`, as of `now`: every day's verifications, the
/// days without a good one, the backups kept now.
pub fn monthly(
    backup_dir: &Path,
    month: NaiveDate,
    now: DateTime<Utc>,
) -> std::io::Result<(Doc, Month)> {
    let (entries, bad) = read(&backup_dir.join(VERIFICATIONS))?;
    let first = NaiveDate::from_ymd_opt(month.year(), month.month(), 1).unwrap_or(month);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let today = local_day(now);
    let known_from = entries.first().map(|e| local_day(e.at));
    let start = match known_from {
        Some(k) if k > first => k,
        _ => first,
    };
    let end = (next - chrono::Duration::days(1)).min(today);
    let mut by_day: BTreeMap<NaiveDate, Vec<&Entry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == ledger::Kind::Verify) {
        let d = local_day(e.at);
        if d >= first && d < next {
            by_day.entry(d).or_default().push(e);
        }
    }
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    let mut days = 0;
    let mut d = start;
    while known_from.is_some() && d <= end {
        days += 1;
        let list = by_day.get(&d).cloned().unwrap_or_default();
        if !list.iter().any(|e| e.ok) {
            missing.push(d);
        }
        rows.push(day_row(d, &list));
        d += chrono::Duration::days(1);
    }
    let verifications = by_day.values().map(|v| v.len()).sum();
    let failures = by_day
        .values()
        .flat_map(|v| v.iter())
        .filter(|e| !e.ok)
        .count();
    let summary = Month {
        days,
        good_days: days - missing.len(),
        missing,
        verifications,
        failures,
        unreadable_lines: bad,
    };
    let doc = report(backup_dir, first, now, &summary, rows)?;
    Ok((doc, summary))
}

/// One day's row: its verifications, whether one was good, the files and
/// the failures.
fn day_row(d: NaiveDate, list: &[&Entry]) -> Vec<String> {
    let good = list.iter().filter(|e| e.ok).count();
    let files: Vec<String> = list
        .iter()
        .map(|e| {
            Path::new(&e.subject)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| e.subject.clone())
        })
        .collect();
    let failed: Vec<String> = list
        .iter()
        .filter(|e| !e.ok)
        .map(|e| e.summary.clone())
        .collect();
    vec![
        d.to_string(),
        list.len().to_string(),
        if good > 0 {
            "✓ 可恢复".into()
        } else {
            "✗ 无可用备份".into()
        },
        files.join(", "),
        failed.join("; "),
    ]
}

/// The report: the summary, each day's row, the backups kept now.
fn report(
    backup_dir: &Path,
    first: NaiveDate,
    now: DateTime<Utc>,
    summary: &Month,
    rows: Vec<Vec<String>>,
) -> std::io::Result<Doc> {
    let bad = summary.unreadable_lines;
    let mut doc = Doc::new(format!(
        "备份恢复月度报告 {}年{}月 (monthly backup verification)",
        first.year(),
        first.month()
    ));
    doc.para(format!(
        "备份目录 backup directory: {}　生成时间 made: {}",
        backup_dir.display(),
        now.with_timezone(&triage_ground::time::shanghai())
            .format("%Y-%m-%d %H:%M")
    ));
    doc.heading("结论 Summary").list(vec![
        format!(
            "统计天数 days: {}，有可恢复备份 days with a good verified backup: {}",
            summary.days, summary.good_days
        ),
        format!(
            "校验次数 verifications: {}，失败 failed: {}",
            summary.verifications, summary.failures
        ),
        if summary.days == 0 {
            "本月没有任何校验记录（校验台账中没有这个月）no verification recorded for this month"
                .to_string()
        } else if summary.missing.is_empty() {
            "每天都有经恢复校验的备份 every day has a backup that restored".to_string()
        } else {
            format!(
                "无可用备份的日期 days without a good backup: {}",
                summary
                    .missing
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        format!("无法读取的记录行 unreadable ledger lines: {bad}"),
    ]);
    doc.heading("每日校验 Each day").table(
        &[
            "日期 day",
            "校验次数 runs",
            "结果 result",
            "备份文件 files",
            "失败原因 failures",
        ],
        rows,
    );
    kept_section(&mut doc, backup_dir)?;
    Ok(doc)
}

/// The backups kept now, with their last verification.
fn kept_section(doc: &mut Doc, backup_dir: &Path) -> std::io::Result<()> {
    let kept = crate::backups::list(backup_dir).map_err(std::io::Error::other)?;
    doc.heading("当前保留的备份 Backups kept now").table(
        &["备份 backup", "时间 taken", "最近校验 last verification"],
        kept.iter()
            .map(|k| {
                vec![
                    k.file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    k.taken_at
                        .with_timezone(&triage_ground::time::shanghai())
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    match k.verified_ok {
                        Some(true) => "通过".into(),
                        Some(false) => "失败".into(),
                        None => "未校验".into(),
                    },
                ]
            })
            .collect(),
    );
    Ok(())
}

/// Writes the monthly report of `month` into `reports_dir`
/// (`backup-verification-YYYY-MM.md` / `.html`).
pub fn write_monthly(
    backup_dir: &Path,
    reports_dir: &Path,
    month: NaiveDate,
    now: DateTime<Utc>,
) -> std::io::Result<(PathBuf, Month)> {
    let (doc, m) = monthly(backup_dir, month, now)?;
    let (md, _) = doc.write(
        reports_dir,
        &format!("backup-verification-{}", month.format("%Y-%m")),
    )?;
    Ok((md, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::ledger::append;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn a_month_counts_good_days_and_names_the_days_without_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ledger = dir.path().join(VERIFICATIONS);
        for (when, ok) in [
            ("2026-10-31T19:00:00Z", true), // 11-01 in Beijing
            ("2026-11-01T19:00:00Z", false),
            ("2026-11-02T19:00:00Z", true),
            // 11-04 (Beijing): nothing
        ] {
            append(
                &ledger,
                &Entry {
                    kind: ledger::Kind::Verify,
                    at: at(when),
                    ok,
                    subject: "b.sqlite".into(),
                    summary: if ok { "ok".into() } else { "checksum".into() },
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(
            &ledger,
            std::fs::read_to_string(&ledger).unwrap_or_default() + "{not json\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let month = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
        let (doc, m) = monthly(dir.path(), month, at("2026-11-04T04:00:00Z"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (m.days, m.good_days, m.verifications, m.failures),
            (4, 2, 3, 1)
        );
        assert_eq!(
            m.missing,
            vec![
                NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
                NaiveDate::from_ymd_opt(2026, 11, 4).unwrap_or_default()
            ]
        );
        assert_eq!(m.unreadable_lines, 1);
        assert!(!m.ok());
        assert!(doc.markdown().contains("2026-11-02, 2026-11-04"));
    }

    /// Issue 27: a month with no record says so, not "every day has a
    /// backup that restored" beside "0 days".
    #[test]
    fn a_month_without_records_says_it_has_none() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let month = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default();
        let (doc, m) = monthly(dir.path(), month, at("2026-11-04T04:00:00Z"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.days, 0);
        assert!(!m.ok());
        let md = doc.markdown();
        assert!(md.contains("本月没有任何校验记录"), "{md}");
        assert!(!md.contains("every day has a backup"), "{md}");
    }
}
