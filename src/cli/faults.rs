//! `triage fault list|ack|resolve`: the fault records (故障工单) from the
//! command line, for hospital IT at a terminal when no page is at hand.
//! Acknowledging and resolving go through the same alert service as the
//! console: the timeline records who and when, and the mails about it
//! are written to the outbox (a running server's sender delivers them).

use std::process::ExitCode;

use super::target::{on_target, Target};
use crate::alerts::{store, Alerts, FaultView};
use crate::config::Hospital;
use crate::db::columns::{FaultState, Severity};
use crate::db::{Db, DbSettings, Synchronous};

/// `triage fault …`.
#[derive(clap::Subcommand)]
pub enum FaultCommand {
    /// The open and acknowledged faults (with --all: every state), newest
    /// first.
    List {
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge a fault (确认：已收到、正在处理): no more reminders, no
    /// escalation.
    Ack {
        /// The fault's number (工单号).
        id: i64,
        /// Who acknowledges (recorded), e.g. 信息科张工.
        #[arg(long)]
        by: String,
    },
    /// Resolve a fault (处理完成) with what was done.
    Resolve {
        /// The fault's number (工单号).
        id: i64,
        /// What was done (recorded and mailed).
        #[arg(long)]
        note: String,
        /// Who resolved it (recorded).
        #[arg(long)]
        by: String,
    },
}

/// `triage fault …`: 0 done, 1 refused or failed, 2 bad arguments.
pub fn run(target: Target, command: FaultCommand) -> ExitCode {
    on_target(target, |url, hospital| {
        if let FaultCommand::Ack { by, .. } | FaultCommand::Resolve { by, .. } = &command {
            if by.trim().is_empty() {
                eprintln!("error: 请用 --by 写明处理人（记入工单），例如 --by 信息科张工");
                return ExitCode::from(2);
            }
        }
        match actix::System::new().block_on(act(url, hospital, command)) {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

async fn act(url: &str, hospital: &Hospital, command: FaultCommand) -> Result<Vec<String>, String> {
    let settings = DbSettings {
        url: url.to_string(),
        synchronous: Synchronous::Full,
        pool_size: 2,
    };
    let background = crate::background::Background::new();
    let db = Db::connect(&settings, background.as_ref()).map_err(|e| e.to_string())?;
    let policy = hospital.security.clone();
    let key = db
        .read(move |c| {
            crate::auth::server_key::open(&policy, c)
                .map_err(|e| crate::db::DbError::Unavailable(e.message))
        })
        .await
        .map_err(|e| e.to_string())?;
    let clock = triage_ground::time::program_clock()?;
    let alerts = Alerts::start(
        db.clone(),
        std::sync::Arc::new(hospital.clone()),
        clock,
        &key,
    )
    .await
    .map_err(|e| e.message)?;
    let lines = match command {
        FaultCommand::List { all } => {
            let filter = store::Filter {
                limit: 200,
                ..Default::default()
            };
            let list = alerts.list(filter).await.map_err(|e| e.message)?;
            let shown: Vec<&FaultView> = list
                .faults
                .iter()
                .filter(|f| all || matches!(f.state, FaultState::Opened | FaultState::Acknowledged))
                .collect();
            let mut out = vec![format!("{} 条故障工单", shown.len())];
            out.extend(shown.iter().map(|f| line(f)));
            out
        }
        FaultCommand::Ack { id, by } => {
            let f = alerts
                .acknowledge(id, by.trim())
                .await
                .map_err(|e| e.message)?;
            vec![format!("已确认：{}", line(&f))]
        }
        FaultCommand::Resolve { id, note, by } => {
            let f = alerts
                .resolve(id, by.trim(), note)
                .await
                .map_err(|e| e.message)?;
            vec![format!("已处理完成：{}", line(&f))]
        }
    };
    db.stop_writer().await;
    Ok(lines)
}

/// One fault on one line: number, state, severity, title, place, opened.
fn line(f: &FaultView) -> String {
    let state = match f.state {
        FaultState::Opened => "未确认",
        FaultState::Acknowledged => "已确认",
        FaultState::Resolved => "已处理",
        FaultState::Archived => "已归档",
    };
    format!(
        "#{} [{state}] {} · {} · {} · {}",
        f.id,
        f.title,
        f.place,
        match f.severity {
            Severity::Critical => "严重",
            Severity::Warning => "警告",
        },
        f.opened_at
            .with_timezone(&triage_ground::time::shanghai())
            .format("%Y-%m-%d %H:%M")
    )
}
