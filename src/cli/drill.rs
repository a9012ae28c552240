//! `triage drill`: the emergency plan's technical steps timed on a scratch
//! copy (`crate::ops::drill`), each step printed, the report written.

use std::process::ExitCode;

use super::target::{on_target, Target};

/// `triage drill`: 0 every step passed, 1 a step failed or the report
/// could not be written.
pub fn run(target: Target) -> ExitCode {
    on_target(target, |database_url, hospital| {
        let background = crate::background::Background::new();
        match crate::ops::drill::run(
            database_url,
            hospital,
            triage_ground::time::program_now(),
            background.as_ref(),
        ) {
            Ok(d) => {
                for s in &d.steps {
                    println!(
                        "{} {}（{:.1} 秒）：{}",
                        if s.ok { "通过" } else { "未通过" },
                        s.name,
                        s.took.as_secs_f64(),
                        s.detail
                    );
                }
                println!(
                    "合计 {:.1} 秒（恢复目标 4 小时）；报告：{}（及 .html）",
                    d.total().as_secs_f64(),
                    d.report.display()
                );
                if d.within_goal() {
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
    })
}
