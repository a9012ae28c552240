//! `triage backup`: take a backup into the backup directory (with its
//! manifest and a copy in the second location), or `verify`, `prune`,
//! `report` on and `list` the kept backups.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;

use super::target::load_hospital;
use crate::backups;
use crate::config::{BackupPolicy, OperationsPolicy};
use crate::db::redact_url;

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Restore a backup into a scratch place and check it against its
    /// manifest (checksum, integrity, audit chain, row counts, the last
    /// event); writes a report (.verify.md, .verify.html) beside it. Exits
    /// 1 when anything is wrong. Without FILE: the newest backup.
    Verify {
        file: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
        /// PostgreSQL backups: a server where a scratch database may be
        /// created (and is dropped after), e.g. the production server's URL.
        #[arg(long, env = "TRIAGE_DATABASE_URL")]
        scratch_url: Option<String>,
    },
    /// Remove backups older than the kept days, never the newest good one.
    Prune {
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        /// Days kept, at least 7 (default: the configuration's `[backup]
        /// keep_days`, else 7).
        #[arg(long)]
        keep_days: Option<u32>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// The monthly verification report (备份恢复月度报告) from the ledger
    /// of every verification: each day's results and the days without a
    /// good backup. Exits 1 when a day had none.
    Report {
        /// YYYY-MM (default: the month before this one).
        #[arg(long)]
        month: Option<String>,
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// The kept backups, oldest first, with their last verification.
    List {
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// `triage backup` and its subcommands.
pub fn run(
    command: Option<BackupCommand>,
    database_url: &str,
    dir: Option<PathBuf>,
    second_dir: Option<PathBuf>,
    config: Option<PathBuf>,
) -> ExitCode {
    let now = triage_ground::time::program_now();
    let (base, operations) = match policies(&command, config) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match command {
        Some(BackupCommand::Report { month, dir, .. }) => report(
            &dir.unwrap_or(base.dir),
            &operations.reports_dir,
            month,
            now,
        ),
        None => {
            let policy = BackupPolicy {
                dir: dir.unwrap_or(base.dir),
                second_dir: second_dir.or(base.second_dir),
                ..base
            };
            take(database_url, &policy, now)
        }
        Some(BackupCommand::Verify {
            file,
            dir,
            scratch_url,
            ..
        }) => verify(file, &dir.unwrap_or(base.dir), scratch_url.as_deref(), now),
        Some(BackupCommand::Prune { dir, keep_days, .. }) => prune(
            &dir.unwrap_or(base.dir),
            now,
            keep_days.unwrap_or(base.keep_days),
        ),
        Some(BackupCommand::List { dir, .. }) => list(&dir.unwrap_or(base.dir)),
    }
}

/// Where the package installs the hospital's configuration.
const INSTALLED_CONFIG: &str = "/etc/triage/hospital.toml";

/// The configuration's `[backup]` and `[operations]` (when given; the
/// subcommand's `--config` over the command's), else the defaults; exit 2
/// when the configuration cannot be read.
fn policies(
    command: &Option<BackupCommand>,
    config: Option<PathBuf>,
) -> Result<(BackupPolicy, OperationsPolicy), ExitCode> {
    let config = match command {
        Some(BackupCommand::Verify { config: c, .. })
        | Some(BackupCommand::Prune { config: c, .. })
        | Some(BackupCommand::Report { config: c, .. })
        | Some(BackupCommand::List { config: c, .. }) => c.clone().or(config),
        None => config,
    };
    // None given: the installed package's configuration, when there is one
    // (a bare `triage backup verify` on the server reads its backup
    // directory, not ./backups).
    let config = config.or_else(|| {
        let installed = PathBuf::from(INSTALLED_CONFIG);
        installed.exists().then(|| {
            eprintln!("使用配置 {INSTALLED_CONFIG}（using the installed configuration）");
            installed
        })
    });
    match config {
        Some(p) => match load_hospital(Some(p), false) {
            Ok(h) => Ok((h.backup, h.operations)),
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::from(2))
            }
        },
        None => Ok((BackupPolicy::default(), OperationsPolicy::default())),
    }
}

/// The first day of `--month YYYY-MM`, by default of the month before
/// this one; exit 2 when it cannot be read.
fn month_of(month: Option<String>, now: DateTime<Utc>) -> Result<NaiveDate, ExitCode> {
    match month {
        Some(m) => match NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d") {
            Ok(d) => Ok(d),
            Err(_) => {
                eprintln!("error: --month YYYY-MM, e.g. 2026-11");
                Err(ExitCode::from(2))
            }
        },
        None => {
            use chrono::Datelike;
            let today = triage_ground::time::service_date(now);
            Ok(NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
                .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
                .unwrap_or(today))
        }
    }
}

/// `triage backup report`: the monthly verification report; exit 1 when a
/// day had no good backup.
fn report(dir: &Path, reports_dir: &Path, month: Option<String>, now: DateTime<Utc>) -> ExitCode {
    let month = match month_of(month, now) {
        Ok(m) => m,
        Err(code) => return code,
    };
    match crate::ops::monthly::write_monthly(dir, reports_dir, month, now) {
        Ok((md, m)) if m.days == 0 => {
            println!(
                "{}：没有任何校验记录（{} 的校验台账中没有这个月）；报告：{}",
                month.format("%Y-%m"),
                dir.display(),
                md.display()
            );
            ExitCode::from(1)
        }
        Ok((md, m)) => {
            println!(
                "{}: {} of {} days with a backup that restored; {} verifications, {} failed",
                month.format("%Y-%m"),
                m.good_days,
                m.days,
                m.verifications,
                m.failures
            );
            if !m.missing.is_empty() {
                let days: Vec<String> = m.missing.iter().map(|d| d.to_string()).collect();
                println!("days without a good backup: {}", days.join(", "));
            }
            if m.unreadable_lines > 0 {
                println!("unreadable ledger lines: {}", m.unreadable_lines);
            }
            println!("report: {} (and .html)", md.display());
            if m.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `triage backup`: takes one.
fn take(database_url: &str, policy: &BackupPolicy, now: DateTime<Utc>) -> ExitCode {
    let mut progress = |step: &str| eprintln!("backup: {step}");
    match backups::take(database_url, policy, now, &mut progress) {
        Ok((file, m)) => {
            let rows: i64 = m.tables.values().sum();
            println!(
                "{} backup of {} written to {} ({} bytes, {rows} rows, SHA-256 {})",
                m.backend,
                redact_url(database_url),
                file.display(),
                m.bytes,
                m.sha256
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `triage backup verify`: `file`, else the newest backup in `dir`; exit 1
/// when anything is wrong.
fn verify(
    file: Option<PathBuf>,
    dir: &Path,
    scratch_url: Option<&str>,
    now: DateTime<Utc>,
) -> ExitCode {
    let file = match file {
        Some(f) => f,
        None => match backups::list(dir).map(|l| l.last().map(|k| k.file.clone())) {
            Ok(Some(f)) => f,
            Ok(None) => {
                eprintln!(
                    "error: {} 中没有备份（no backup）：请用 --dir 指定备份目录，或用 --config 指定配置文件（读取其 [backup] dir）",
                    dir.display()
                );
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
    };
    match backups::verify(&file, scratch_url, now) {
        Ok(report) => {
            print!("{}", report.markdown());
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `triage backup prune`.
fn prune(dir: &Path, now: DateTime<Utc>, keep_days: u32) -> ExitCode {
    // Said, not silently raised: backups are kept at least 7 days.
    if keep_days < 7 {
        eprintln!("error: --keep-days {keep_days} 不被接受：备份至少保留 7 天；没有删除任何备份");
        return ExitCode::from(2);
    }
    match backups::prune(dir, now, keep_days) {
        Ok(removed) => {
            for f in &removed {
                println!("removed {}", f.display());
            }
            println!("{} old backups removed", removed.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `triage backup list`.
fn list(dir: &Path) -> ExitCode {
    match backups::list(dir) {
        Ok(list) => {
            for k in list {
                let state = match k.verified_ok {
                    Some(true) => "verified",
                    Some(false) => "BAD",
                    None => "not verified",
                };
                println!(
                    "{}  {}  {state}",
                    k.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    k.file.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
