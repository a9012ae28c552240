//! The server's own timings, as they are gathered: every HTTP request by
//! method and route pattern, and every SQL statement that took
//! [`SLOW_SQL`] or more (timed by diesel's instrumentation on each pooled
//! connection, its text with placeholders, never the values bound),
//! aggregated in memory per Beijing day. Operations write them to the
//! `timings` table every minute (`ops::timings`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

/// Statements at least this slow are recorded.
pub const SLOW_SQL: Duration = Duration::from_millis(10);
/// The longest statement text kept.
const SQL_TEXT_MAX: usize = 400;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Agg {
    pub calls: i64,
    pub total_ms: f64,
    pub max_ms: f64,
}

type Key = (NaiveDate, &'static str, String);

/// The timings not yet written, shared by the HTTP middleware and every
/// pooled connection of one database, by the server's day on its clock.
#[derive(Clone, Default)]
pub struct Timings(Arc<Inner>);

#[derive(Default)]
struct Inner {
    map: Mutex<HashMap<Key, Agg>>,
    /// The server's clock (set at start; the system clock until then).
    clock: std::sync::RwLock<Option<triage_ground::time::SharedClock>>,
}

impl Inner {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Agg>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn today(&self) -> NaiveDate {
        use triage_ground::time::Clock as _;
        let clock = self.clock.read().unwrap_or_else(|p| p.into_inner());
        let now = match clock.as_ref() {
            Some(c) => c.now(),
            None => triage_ground::time::SystemClock.now(),
        };
        triage_ground::time::service_date(now)
    }
}

impl std::fmt::Debug for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timings")
    }
}

/// One aggregate to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub day: NaiveDate,
    pub kind: &'static str,
    pub name: String,
    pub agg: Agg,
}

impl Timings {
    /// Adds one observation of `kind` (`http`, `sql`) named `name`.
    pub fn record(&self, kind: &'static str, name: &str, elapsed: Duration) {
        let day = self.0.today();
        let ms = elapsed.as_secs_f64() * 1000.0;
        let mut map = self.0.map();
        let a = map.entry((day, kind, name.to_string())).or_default();
        a.calls += 1;
        a.total_ms += ms;
        a.max_ms = a.max_ms.max(ms);
    }

    /// Days are counted on `clock` from now on (the server's).
    pub fn use_clock(&self, clock: triage_ground::time::SharedClock) {
        *self.0.clock.write().unwrap_or_else(|p| p.into_inner()) = Some(clock);
    }

    /// Takes everything recorded so far (it is then written).
    pub fn take(&self) -> Vec<Row> {
        let mut map = self.0.map();
        std::mem::take(&mut *map)
            .into_iter()
            .map(|((day, kind, name), agg)| Row {
                day,
                kind,
                name,
                agg,
            })
            .collect()
    }

    /// Puts rows back after a failed write (added to what came since).
    pub fn restore(&self, rows: Vec<Row>) {
        let mut map = self.0.map();
        for r in rows {
            let a = map.entry((r.day, r.kind, r.name)).or_default();
            a.calls += r.agg.calls;
            a.total_ms += r.agg.total_ms;
            a.max_ms = a.max_ms.max(r.agg.max_ms);
        }
    }

    /// The instrumentation of one connection.
    pub fn sql_timer(&self) -> SqlTimer {
        SqlTimer {
            timings: self.clone(),
            started: None,
        }
    }
}

/// Times each statement of one connection; records the slow ones.
pub struct SqlTimer {
    timings: Timings,
    started: Option<Instant>,
}

/// The start of a statement's debug text, formatted only until the
/// bound values begin or the text is long enough: a slow insert of a 4 MiB
/// image is not formatted whole.
fn head(query: &dyn std::fmt::Display) -> String {
    struct Bounded(String);
    impl std::fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.push_str(s);
            if self.0.contains(" -- binds:") || self.0.len() > SQL_TEXT_MAX * 4 {
                return Err(std::fmt::Error);
            }
            Ok(())
        }
    }
    let mut b = Bounded(String::new());
    // Stopping early is the point: the error only says "enough".
    let _ = std::fmt::write(&mut b, format_args!("{query}"));
    b.0
}

/// A statement's text as recorded: the SQL with its placeholders, one
/// line, without the bound values diesel's debug text appends.
pub fn statement_text(debug: &str) -> String {
    let sql = debug.split(" -- binds:").next().unwrap_or(debug);
    let mut one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.len() > SQL_TEXT_MAX {
        let mut cut = SQL_TEXT_MAX;
        while !one.is_char_boundary(cut) {
            cut -= 1;
        }
        one.truncate(cut);
        one.push('…');
    }
    one
}

impl diesel::connection::Instrumentation for SqlTimer {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::connection::InstrumentationEvent as E;
        match event {
            E::StartQuery { .. } => self.started = Some(Instant::now()),
            E::FinishQuery { query, .. } => {
                if let Some(started) = self.started.take() {
                    let elapsed = started.elapsed();
                    if elapsed >= SLOW_SQL {
                        self.timings
                            .record("sql", &statement_text(&head(query)), elapsed);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statements_text_stops_before_its_values() {
        struct Debugish;
        impl std::fmt::Display for Debugish {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "INSERT INTO t (a) VALUES (?) -- binds: [")?;
                for _ in 0..1_000_000 {
                    write!(f, "255, ")?;
                }
                write!(f, "]")
            }
        }
        let h = head(&Debugish);
        assert!(h.len() < 100, "{}", h.len());
        assert_eq!(statement_text(&h), "INSERT INTO t (a) VALUES (?)");
    }

    #[test]
    fn a_statement_is_kept_without_its_values_on_one_line() {
        assert_eq!(
            statement_text("SELECT *\n  FROM visits WHERE patient_name = ? -- binds: [\"张三\"]"),
            "SELECT * FROM visits WHERE patient_name = ?"
        );
        let long = format!("SELECT {}", "字".repeat(300));
        assert!(statement_text(&long).ends_with('…'));
    }

    #[test]
    fn observations_add_up_per_day_kind_and_name() {
        let t = Timings::default();
        t.record("http", "GET /x", Duration::from_millis(10));
        t.record("http", "GET /x", Duration::from_millis(30));
        let rows = t.take();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].agg.calls, 2);
        assert!((rows[0].agg.total_ms - 40.0).abs() < 1.0);
        assert!((rows[0].agg.max_ms - 30.0).abs() < 1.0);
        assert!(t.take().is_empty());
        t.restore(rows);
        assert_eq!(t.take()[0].agg.calls, 2);
    }
}
