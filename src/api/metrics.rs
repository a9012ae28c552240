//! `GET /metrics`: Prometheus text format. Gauges read from the directory
//! (waiting per queue, rooms by status, screens online) and counters kept by
//! the HTTP layer. No label ever carries personal data.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{web, HttpResponse};

use crate::engine::Engine;

/// HTTP requests answered, by class.
pub static HTTP_2XX: AtomicU64 = AtomicU64::new(0);
pub static HTTP_4XX: AtomicU64 = AtomicU64::new(0);
pub static HTTP_5XX: AtomicU64 = AtomicU64::new(0);

/// Counts a response status.
pub fn count_status(status: u16) {
    let c = match status {
        200..=399 => &HTTP_2XX,
        400..=499 => &HTTP_4XX,
        _ => &HTTP_5XX,
    };
    c.fetch_add(1, Ordering::Relaxed);
}

/// Requests answered and those answered 5xx, since the start.
pub fn http_totals() -> (u64, u64) {
    let ok = HTTP_2XX.load(Ordering::Relaxed) + HTTP_4XX.load(Ordering::Relaxed);
    let failed = HTTP_5XX.load(Ordering::Relaxed);
    (ok + failed, failed)
}

pub async fn metrics(engine: web::Data<Engine>) -> HttpResponse {
    let mut out = String::new();
    out.push_str("# HELP triage_up The server is running.\n# TYPE triage_up gauge\ntriage_up 1\n");
    out.push_str("# HELP triage_queue_waiting Patients waiting per queue.\n# TYPE triage_queue_waiting gauge\n");
    for q in &engine.hospital.queues {
        let n = engine.directory.queue_board(&q.code).waiting;
        out.push_str(&format!(
            "triage_queue_waiting{{queue=\"{}\"}} {n}\n",
            q.code
        ));
    }
    out.push_str("# HELP triage_room_status Rooms by status (1 = in this status).\n# TYPE triage_room_status gauge\n");
    for r in &engine.hospital.rooms {
        if let Some(v) = engine.directory.room_view(&r.code, 0) {
            out.push_str(&format!(
                "triage_room_status{{room=\"{}\",status=\"{}\"}} 1\n",
                r.code,
                v.status.as_str()
            ));
        }
    }
    out.push_str("# HELP triage_screen_online Screens with a live connection.\n# TYPE triage_screen_online gauge\n");
    for s in &engine.hospital.screens {
        let p = engine.directory.presence(&s.code);
        out.push_str(&format!(
            "triage_screen_online{{screen=\"{}\"}} {}\n",
            s.code,
            u8::from(p.sessions > 0)
        ));
    }
    use crate::db::writer::{COMMITS, WRITES};
    out.push_str("# HELP triage_db_writes_total Writes committed by the database writer.\n# TYPE triage_db_writes_total counter\n");
    out.push_str(&format!(
        "triage_db_writes_total {}\n",
        WRITES.load(Ordering::Relaxed)
    ));
    out.push_str("# HELP triage_db_commits_total Commits (group commits) made by the database writer.\n# TYPE triage_db_commits_total counter\n");
    out.push_str(&format!(
        "triage_db_commits_total {}\n",
        COMMITS.load(Ordering::Relaxed)
    ));
    out.push_str("# HELP triage_http_responses_total HTTP responses by class.\n# TYPE triage_http_responses_total counter\n");
    for (class, c) in [("2xx", &HTTP_2XX), ("4xx", &HTTP_4XX), ("5xx", &HTTP_5XX)] {
        out.push_str(&format!(
            "triage_http_responses_total{{class=\"{class}\"}} {}\n",
            c.load(Ordering::Relaxed)
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
