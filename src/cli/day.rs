//! `triage day close`: the day end (日终) from the command line, as the
//! administrator's page runs it: `--preview` prints what it would close,
//! reopen and take down; without it, it closes today with a reason. The
//! engine is rebuilt from the database as a server start does, so memory
//! and the database stay one; while a server uses the database the close
//! is refused (that server owns the day: use the 系统管理 page's 日终). The
//! preview only reads the database (no engine starts), also beside a
//! server.

use crate::db::links::PatientLinks;
use std::process::ExitCode;

use super::target::{on_target, Target};
use crate::config::Hospital;
use crate::db::{Db, DbSettings, Synchronous};
use crate::engine::day::DayPreview;
use crate::engine::{Acting, Engine};

/// `triage day …`.
#[derive(clap::Subcommand)]
pub enum DayCommand {
    /// Close today (日终): every visit still open closes with its final
    /// status, every room opens again, the day's notices come down.
    Close {
        /// The day to close, YYYY-MM-DD: it must be today (Asia/Shanghai).
        /// Named on purpose, so that a command run after midnight never
        /// closes the new day (an earlier day closes by itself when the
        /// engine starts).
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        /// Why (audited), e.g. "门诊提前结束".
        #[arg(long, default_value = "")]
        reason: String,
        /// Print what a close of today would do. The engine starts as a
        /// server's does first (an earlier day still open closes then).
        #[arg(long)]
        preview: bool,
    },
}

/// `triage day …`.
pub fn run(target: Target, command: DayCommand) -> ExitCode {
    let DayCommand::Close {
        day,
        reason,
        preview,
    } = command;
    on_target(target, |url, hospital| {
        close(url, hospital, day, &reason, preview)
    })
}

fn close(
    url: &str,
    hospital: &Hospital,
    day: Option<chrono::NaiveDate>,
    reason: &str,
    preview: bool,
) -> ExitCode {
    if !preview && reason.trim().is_empty() {
        eprintln!("error: 请用 --reason 写明原因（记入审计日志），例如 --reason 门诊提前结束");
        return ExitCode::from(2);
    }
    if preview {
        return print_stored_preview(url, hospital);
    }
    let today = triage_ground::time::service_date(triage_ground::time::program_now());
    match day {
        None => {
            eprintln!(
                "error: 请用 --day 写明要办理日终的日期（只能是今天 {today}），例如 --day {today}"
            );
            return ExitCode::from(2);
        }
        Some(d) if d < today => {
            println!("{d} 不是今天：以前各天仍未结束的就诊在服务启动时自动办理日终，无需本命令");
            return ExitCode::SUCCESS;
        }
        Some(d) if d > today => {
            eprintln!("error: {d} 还没有到（今天是 {today}）");
            return ExitCode::from(2);
        }
        Some(_) => {}
    }
    match crate::backups::servers_using(url) {
        Ok(0) => {}
        Ok(_) => {
            eprintln!(
                "error: 服务器正在使用该数据库，日终由它办理：请在“系统管理”页的“日终”中办理（先显示将关闭的内容），\
                 或停止服务（systemctl stop triage）后再运行本命令"
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let settings = DbSettings {
        url: url.to_string(),
        synchronous: Synchronous::Full,
        pool_size: 2,
    };
    let hospital = std::sync::Arc::new(hospital.clone());
    let reason = reason.trim().to_string();
    let done = actix::System::new().block_on(async move {
        let background = crate::background::Background::new();
        let db = Db::connect(&settings, background.as_ref()).map_err(|e| e.to_string())?;
        let clock = triage_ground::time::program_clock()?;
        db.timings().use_clock(clock.clone());
        // Read before anything changes (an engine's start closes earlier
        // days and reopens rooms left from them): the close reports all it
        // did.
        let (h, now) = (hospital.clone(), clock.now());
        let before = db
            .read(move |c| crate::engine::day::day_preview_of(c, &h, now))
            .await
            .map_err(|e| e.to_string())?;
        let engine = Engine::start(hospital, db, clock, PatientLinks::ephemeral())
            .await
            .map_err(|e| e.to_string())?;
        let today = triage_ground::time::service_date(engine.now());
        let who = Acting::new("cli", "triage day close").because(reason);
        let answer = engine.close_day(today, who).await.map_err(|e| e.message)?;
        Ok::<_, String>((before, answer))
    });
    match done {
        Ok((before, a)) => {
            println!(
                "{} 日终已办理：未就诊 {} 人、过号未回 {} 人、检查未回 {} 人已关闭；重新开诊 {} 个诊室；撤下通知 {} 条",
                a.day,
                a.not_seen,
                a.missed_unreturned,
                a.exam_unreturned,
                before.rooms_to_reopen.len(),
                before.notices_to_withdraw.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--preview`: one plain connection, read only (no migration, no engine,
/// no server lock), also beside a running server; a missing SQLite file is
/// reported, not created.
fn print_stored_preview(url: &str, hospital: &Hospital) -> ExitCode {
    let read = (|| -> Result<DayPreview, String> {
        if let Some(target) = crate::db::missing_sqlite_file(url) {
            return Err(format!("数据库文件 {target} 不存在"));
        }
        let mut c = crate::db::connect_raw(url).map_err(|e| e.to_string())?;
        let now = triage_ground::time::program_now();
        crate::engine::day::day_preview_of(&mut c, hospital, now).map_err(|e| e.to_string())
    })();
    match read {
        Ok(p) => {
            print_preview(&p);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_preview(p: &DayPreview) {
    println!(
        "{} 日终预览{}：",
        p.day,
        if p.closed {
            "（今日已办理过日终）"
        } else {
            ""
        }
    );
    println!(
        "  将关闭：未就诊 {} 人、过号未回 {} 人、检查未回 {} 人",
        p.not_seen, p.missed, p.exam
    );
    println!(
        "  将重新开诊：{}",
        if p.rooms_to_reopen.is_empty() {
            "无".to_string()
        } else {
            p.rooms_to_reopen.join("、")
        }
    );
    println!("  将撤下的通知：{} 条", p.notices_to_withdraw.len());
    for n in &p.notices_to_withdraw {
        println!("    - {n}");
    }
}
