//! `cargo bench --bench stats` — a month's workload grouped by performer
//! over 2,000,000 stored visits (200 service days of 10,000, three
//! departments, 40 doctors, realistic check-in, call and finish times),
//! on SQLite (a real file) and, when `TRIAGE_BENCH_POSTGRES_URL` names a
//! server, on PostgreSQL (a fresh database there, dropped after). Prints
//! the time of each of five runs and their median. Goal: ≤ 500 ms.
//! `--visits N` changes the size.

use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use triage::db::schema::visits;
use triage::db::AnyConnection;
use triage::engine::stats::{workload_on, Dim};

const PER_DAY: usize = 10_000;

fn populate(c: &mut AnyConnection, total: usize, last_day: NaiveDate) {
    let days = total.div_ceil(PER_DAY);
    let started = Instant::now();
    let mut n = 0usize;
    for d in 0..days {
        let day = last_day - Duration::days((days - 1 - d) as i64);
        let base = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        let mut rows = Vec::with_capacity(PER_DAY);
        for i in 0..PER_DAY.min(total - n) {
            n += 1;
            let checked: NaiveDateTime = base + Duration::seconds(((i * 37) % 28_800) as i64);
            let called = checked + Duration::seconds(((i * 131) % 3_600) as i64 + 60);
            let finished = called + Duration::seconds(((i * 53) % 900) as i64 + 120);
            let dept = ["NK", "WK", "EK"][i % 3];
            rows.push((
                visits::visit_no.eq(format!("B{}{:06}", day.format("%y%m%d"), i)),
                visits::patient_id.eq(format!("P{n:08}")),
                visits::patient_name.eq("基准"),
                visits::sex.eq("1"),
                visits::department_code.eq(dept),
                visits::visit_type.eq("first"),
                visits::registered_at.eq(checked),
                visits::special.eq("[]"),
                visits::exam_items.eq("[]"),
                visits::body.eq("{}"),
                visits::status.eq(if i % 25 == 0 { "no_show" } else { "finished" }),
                visits::tags.eq("[]"),
                visits::call_count.eq(1 + (i % 7 == 0) as i32),
                visits::created_at.eq(checked),
                visits::updated_at.eq(finished),
                visits::miss_count.eq(0),
                visits::held.eq(false),
                visits::special_staff.eq("{}"),
                visits::service_date.eq(day.to_string()),
                visits::performer.eq(format!("D{:04}", 1000 + i % 40)),
                visits::checked_in_at.eq(checked),
                visits::called_at.eq(called),
                visits::finished_at.eq(finished),
            ));
        }
        triage::db::write_transaction(c, |c| {
            for chunk in rows.chunks(1_000) {
                let q = diesel::insert_into(visits::table).values(chunk);
                match c {
                    AnyConnection::Sqlite(s) => q.execute(s)?,
                    AnyConnection::Postgresql(p) => q.execute(p)?,
                };
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap_or_else(|e| panic!("insert: {e}"));
    }
    println!(
        "  {n} visits over {days} days stored in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn time_month(c: &mut AnyConnection, last_day: NaiveDate) {
    let from = last_day - Duration::days(29);
    let mut times = Vec::new();
    let mut groups = 0;
    let mut visits = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let w = workload_on(c, from, last_day, &[Dim::Performer], None)
            .unwrap_or_else(|e| panic!("workload: {e}"));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        groups = w.groups.len();
        visits = w.total.visits;
    }
    let runs: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  a month ({from} to {last_day}: {visits} visits) by performer ({groups} groups): runs {} ms; median {:.0} ms (goal ≤ 500 ms)",
        runs.join(", "),
        times[2]
    );
}

fn main() {
    let total = std::env::args()
        .skip_while(|a| a != "--visits")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000usize);
    let last_day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();

    println!("SQLite (a file, synchronous=FULL):");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("stats.sqlite").display());
    let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
    populate(&mut c, total, last_day);
    time_month(&mut c, last_day);
    drop(c);

    if let Ok(base) = std::env::var("TRIAGE_BENCH_POSTGRES_URL") {
        println!("PostgreSQL:");
        let name = format!("triage_stats_bench_{}", std::process::id());
        let mut admin =
            diesel::PgConnection::establish(&base).unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("{e}"));
        let (prefix, _) = base.rsplit_once('/').unwrap_or((&base, ""));
        let url = format!("{prefix}/{name}");
        {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
            populate(&mut c, total, last_day);
            diesel::connection::SimpleConnection::batch_execute(&mut c, "ANALYZE visits")
                .unwrap_or_else(|e| panic!("{e}"));
            time_month(&mut c, last_day);
        }
        diesel::sql_query(format!("DROP DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("{e}"));
    } else {
        println!("PostgreSQL: not run (set TRIAGE_BENCH_POSTGRES_URL=postgres://USER:PASS@HOST:PORT/postgres)");
    }
}
