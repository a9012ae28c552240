//! The inspection report (巡检报告): quarterly, and a deep one before each
//! configured holiday. Everything it states is read from the database, the
//! backup directory and the ledgers: the version and the server's runs,
//! the database's size and growth, backups and their verifications,
//! screens' offline history, alerts and faults with the times to
//! acknowledge and resolve, the slowest endpoints and statements, queue
//! waits, the audit chain, and the risks found with a recommendation each.
//! Before a holiday it does more ([`deep`]): a full restore of the newest
//! backup, a maintenance, the load self-test, every screen and kiosk.
//! This face holds the entry point [`run`]; the figures are gathered in
//! `gather.rs`, judged in `risks.rs` and written in `render.rs`.

pub mod deep;
mod gather;
mod model;
mod render;
mod render_deep;
mod risks;

use chrono::{DateTime, NaiveDate, Utc};

pub use gather::gather;
pub use model::{FaultStats, Inspection, Level, Risk, ScreenHistory, Waits};
pub use render::report;
pub use risks::risks;

use super::ledger::{self, Entry};
use crate::db::DbError;

/// Gathers, writes the report (Markdown and HTML) into the reports
/// directory and its ledger line.
pub fn run(
    url: &str,
    hospital: &crate::config::Hospital,
    now: DateTime<Utc>,
    days: u32,
    holiday: Option<NaiveDate>,
) -> Result<Inspection, DbError> {
    let mut i = gather(url, hospital, now, days, holiday)?;
    if holiday.is_some() {
        // Cannot tell: as if one runs (maintenance then keeps its limits).
        let running = !matches!(crate::backups::servers_using(url), Ok(n) if n <= 0);
        i.deep = Some(deep::run(
            url,
            hospital,
            now,
            running,
            &i.screens,
            &i.kiosks_seen,
        ));
        i.risks = risks(&i, hospital);
    }
    let stem = format!(
        "inspection-{}",
        now.with_timezone(&triage_ground::time::shanghai())
            .format("%Y%m%d-%H%M%S")
    );
    let fail = |e: std::io::Error| DbError::Unavailable(format!("cannot write the report: {e}"));
    let (md, _) = report(&i, url)
        .write(&hospital.operations.reports_dir, &stem)
        .map_err(fail)?;
    i.report = md.clone();
    ledger::append(
        &hospital.operations.reports_dir.join(ledger::OPERATIONS),
        &Entry {
            kind: crate::ops::ledger::Kind::Inspect,
            at: now,
            ok: !i.risks.iter().any(|r| r.level == Level::High),
            subject: md.display().to_string(),
            summary: format!("{} risks", i.risks.len()),
        },
    )
    .map_err(fail)?;
    Ok(i)
}
