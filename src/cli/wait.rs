//! `triage wait backtest --from … --to …`: the wait forecast replayed on
//! the recorded days (issue 28): at every check-in, the range the server
//! would have shown then against the real call, with the old estimate
//! beside it; the report (Markdown and printable HTML) per department and
//! hour goes to `[operations] reports_dir`, the summary to the terminal,
//! and the calibration to the database for the statistics page.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;

use super::accounts::connect;
use super::target::{on_target, Target};
use crate::engine::backtest;
use crate::engine::waits::RUNS;

#[derive(Subcommand)]
pub enum WaitCommand {
    /// Replay the recorded days and score the wait ranges (P90 and P50
    /// coverage, median error against the old estimate).
    Backtest {
        /// The first service day (YYYY-MM-DD).
        #[arg(long)]
        from: NaiveDate,
        /// The last service day (YYYY-MM-DD), included.
        #[arg(long)]
        to: NaiveDate,
        /// Runs per forecast (the server's own: 100).
        #[arg(long, default_value_t = RUNS)]
        runs: usize,
    },
}

/// `triage wait …`: 0 done, 1 failed, 2 bad arguments.
pub fn run(target: Target, command: WaitCommand) -> ExitCode {
    let WaitCommand::Backtest { from, to, runs } = command;
    if to < from {
        eprintln!("error: --to 不能早于 --from");
        return ExitCode::from(2);
    }
    on_target(target, |url, hospital| {
        let read = connect(url).and_then(|mut c| Ok(backtest::read(&mut c, from, to)?));
        let events = match read {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}", e.message);
                return ExitCode::from(1);
            }
        };
        let replayed = backtest::replay(hospital, &events, runs.clamp(10, 1000), from);
        let preds = replayed.predictions;
        let s = backtest::score(&preds);
        println!(
            "{from} 至 {to}：{} 次签到，{} 次参与评分；P90 覆盖 {:.0}%，P50 覆盖 {:.0}%，P50 误差中位数 {:.1} 分钟（旧公式 {:.1} 分钟）",
            s.check_ins,
            s.scored,
            s.p90_coverage * 100.0,
            s.p50_coverage * 100.0,
            s.p50_error_minutes,
            s.old_error_minutes
        );
        if !replayed.undecoded.is_empty() {
            println!("未能重放的记录（已跳过）：{:?}", replayed.undecoded);
        }
        if s.scored == 0 {
            eprintln!("error: 这段时间没有可评分的签到（有等候范围且当天被叫到）：请检查日期");
            return ExitCode::from(1);
        }
        // Kept for the statistics page.
        let kept = backtest::calibration(&preds, from, to, triage_ground::time::program_now());
        let stored = serde_json::to_string(&kept)
            .map_err(|_| triage_ground::error::Error::internal())
            .and_then(|json| {
                let at = kept.computed_at.naive_utc();
                let mut c = connect(url)?;
                Ok(crate::db::waits::record_calibration(
                    &mut c,
                    at,
                    &from.to_string(),
                    &to.to_string(),
                    &json,
                )?)
            });
        if let Err(e) = stored {
            eprintln!("error: 保存回测结果失败：{}", e.message);
            return ExitCode::from(1);
        }
        let doc = backtest::report(hospital, from, to, &preds, &replayed.undecoded);
        let dir = &hospital.operations.reports_dir;
        match doc.write(dir, &format!("wait-backtest-{from}-{to}")) {
            Ok((md, _)) => {
                println!("报告：{}（及 .html）", md.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: 写报告失败（{}）：{e}", dir.display());
                ExitCode::from(1)
            }
        }
    })
}
