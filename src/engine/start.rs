//! Starts the engine: reads the configuration and the database, rebuilds every
//! queue, room and screen actor exactly as the database says, and registers
//! them in the [`Directory`]. After a crash this is the recovery path: only
//! committed changes exist, and they are all loaded.

use crate::db::links::PatientLinks;
use std::sync::Arc;

use actix::Actor;
use chrono::{DateTime, Utc};
use triage_actors::journal::SharedJournal;
use triage_actors::mask::{mask_name, spoken_name, VoiceNameMode};
use triage_actors::model::RoomInfo;
use triage_actors::model::{
    Assignment, Audit, Counters, CurrentCall, EntryKind, MoveMark, RoomStatus, SeatState,
    TicketCounter, VisitStatus, WaitingEntry,
};
use triage_actors::queue::{QueueActor, QueueState};
use triage_actors::room::{RoomActor, RoomState};
use triage_actors::screen::ScreenActor;
use triage_actors::Directory;
use triage_ground::ids::{QueueCode, RoomCode};
use triage_ground::time::SharedClock;

use super::facade::{doctor_view, visit_slot, Engine};
use crate::config::{Hospital, QueueDef, RoomDef};
use crate::db::journal::DbJournal;
use crate::db::models::{DoctorRow, VisitRow};
use crate::db::{store, Db, DbError};
use triage_ground::time::{service_date, utc};

/// A waiting visit as its queue holds it; broken rows are reported.
fn waiting_entry(
    v: &VisitRow,
    mode: VoiceNameMode,
    rules: &triage_actors::rules::QueueRules,
    reserved_room: Option<RoomCode>,
) -> Result<WaitingEntry, DbError> {
    let tags = v.tags()?;
    let kind = v.entry_kind();
    Ok(WaitingEntry {
        visit_no: v.visit_no.clone(),
        ticket_no: v.required(&v.ticket_no, "ticket")?,
        masked_name: mask_name(&v.patient_name),
        spoken_name: spoken_name(&v.patient_name, v.sex, mode),
        checked_in_at: utc(v.required(&v.marked_at.or(v.checked_in_at), "check-in time")?),
        seq: v.required(&v.seq, "arrival number")?,
        kind,
        special: rules.special_mark(&tags),
        mark: v.required(&v.queue_mark, "queue mark")?,
        tags,
        misses: v.miss_count,
        held: v.held,
        pinned_at: v.pinned_at.map(utc),
        locked: v.locked_seq,
        slot: visit_slot(v).filter(|_| kind != EntryKind::Recall),
        his_seq: v.his_seq,
        moved: match (v.moved_position, v.moved_mark, v.moved_at) {
            (Some(p), Some(mark), Some(at)) => Some(MoveMark {
                position: p.max(1) as u32,
                mark,
                at: utc(at),
            }),
            _ => None,
        },
        registered_tags: v.registered_tags()?,
        birth_date: v.birth_date()?,
        assigned: match (&v.assigned_room, v.assigned_at, v.assigned_order) {
            (Some(room), Some(at), Some(order)) => Some(Assignment {
                room: room.clone(),
                at: utc(at),
                order,
                placement: v.placement()?,
            }),
            _ => None,
        },
        room: reserved_room,
    })
}

/// A called visit as its room holds it; broken rows are reported.
fn current_call(v: &VisitRow, mode: VoiceNameMode) -> Result<CurrentCall, DbError> {
    Ok(CurrentCall {
        visit_no: v.visit_no.clone(),
        ticket_no: v.required(&v.ticket_no, "ticket")?,
        masked_name: mask_name(&v.patient_name),
        spoken_name: spoken_name(&v.patient_name, v.sex, mode),
        queue_code: v.required(&v.queue_code, "queue")?,
        called_at: utc(v.required(&v.called_at, "call time")?),
        call_count: v.call_count,
        placement: v.placement()?,
        tags: v.tags()?,
        misses: v.miss_count,
    })
}

/// The hospital with the rules the API stored (they override the
/// configuration file's). Rules that cannot be read stop the start.
async fn rules_in_force(db: &Db, hospital: &Hospital) -> Result<Hospital, DbError> {
    let stored = db.read(store::load_queue_rules).await?;
    let mut h = hospital.clone();
    for row in stored {
        let Some(q) = h.queues.iter_mut().find(|q| q.code == row.queue_code) else {
            tracing::warn!(queue = %row.queue_code, "stored rules for a queue no longer configured");
            continue;
        };
        q.rules = serde_json::from_str(&row.rules).map_err(|_| {
            DbError::Corrupt(format!(
                "the stored rules of queue {} are unreadable",
                row.queue_code
            ))
        })?;
    }
    Ok(h)
}

/// Rows every configured room and queue needs, and the configured doctors
/// HIS has not sent yet.
async fn seed(db: &Db, hospital: &Hospital, now: DateTime<Utc>) -> Result<(), DbError> {
    let today = service_date(now).to_string();
    let room_codes: Vec<RoomCode> = hospital.rooms.iter().map(|r| r.code.clone()).collect();
    let queue_codes: Vec<QueueCode> = hospital.queues.iter().map(|q| q.code.clone()).collect();
    let seeds: Vec<DoctorRow> = hospital
        .doctors
        .iter()
        .map(|d| DoctorRow {
            code: d.code.to_string(),
            name: d.name.clone(),
            department_code: d.department.to_string(),
            title: d.title.clone(),
            introduction: d.introduction.clone(),
            photo: None,
            photo_mime: None,
            updated_at: now.naive_utc(),
            sex: None,
            on_duty: true,
        })
        .collect();
    db.write(move |c| {
        store::ensure_rows(c, &room_codes, &queue_codes, now.naive_utc(), &today)?;
        for d in seeds {
            store::seed_doctor(c, d)?;
        }
        Ok(())
    })
    .await
}

/// A room as the database left it: status, current patient, mix turn.
fn room_state(
    r: &RoomDef,
    hospital: &Hospital,
    loaded: &store::Loaded,
    mode: VoiceNameMode,
) -> Result<RoomState, DbError> {
    let row = loaded.rooms.iter().find(|x| x.code == r.code);
    let status = match row {
        // A room the database has not seen yet opens.
        None => RoomStatus::Open,
        Some(x) => x.status,
    };
    let current = row
        .and_then(|x| x.current_visit_no.as_ref())
        .and_then(|v| loaded.called.iter().find(|c| &c.visit_no == v))
        .map(|v| current_call(v, mode))
        .transpose()?;
    let department_name = hospital
        .department(&r.department)
        .map(|d| d.name.clone())
        .ok_or_else(|| DbError::Corrupt(format!("room {} has no department", r.code)))?;
    // A doctor signed in, away or signed out: the room as they left it.
    let seat = match row {
        None => SeatState::Configured,
        Some(x) => x.seat,
    };
    let configured = (
        SeatState::Configured,
        r.doctor.clone(),
        r.queues.clone(),
        r.mix.clone(),
    );
    let (seat, doctor_code, draws_from, mix) = match (seat, row) {
        (SeatState::Configured, _) | (_, None) => configured,
        (_, Some(x)) => {
            let broken = |what: &str| DbError::Corrupt(format!("room {} has {what}", x.code));
            let draws: Vec<QueueCode> = x
                .draws_from
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| broken("unreadable queues"))?
                .ok_or_else(|| broken("no queues"))?;
            let mix: Vec<u32> = x
                .mix
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| broken("an unreadable mix"))?
                .unwrap_or_default();
            if draws.is_empty()
                || draws.iter().any(|q| hospital.queue(q).is_none())
                || (!mix.is_empty() && mix.len() != draws.len())
            {
                // The configuration changed since (a queue removed): the
                // room starts as configured rather than call a queue that
                // is not there.
                tracing::warn!(room = %x.code, "a signed-in room names queues no longer configured: as configured");
                configured
            } else {
                (seat, x.seated_doctor.clone(), draws, mix)
            }
        }
    };
    Ok(RoomState {
        info: RoomInfo {
            code: r.code.clone(),
            name: r.name.clone(),
            spoken_name: r.spoken_name.clone(),
            department_code: r.department.clone(),
            department_name,
            doctor_code,
            draws_from,
            mix,
            waiting_cap: r.waiting_cap,
            seat,
        },
        status,
        current,
        policy: hospital.current_on_call_next,
        mix_cursor: row.map_or(0, |x| x.mix_cursor),
    })
}

/// A queue as the database left it: its waiting entries, counters, tickets.
fn queue_state(
    hospital: &Hospital,
    q: &QueueDef,
    loaded: &store::Loaded,
    mode: VoiceNameMode,
) -> Result<QueueState, DbError> {
    let entries: Vec<WaitingEntry> = loaded
        .waiting
        .iter()
        .filter(|v| v.queue_code.as_deref() == Some(q.code.as_str()))
        .map(|v| {
            let reserved = hospital.reserved_room(v.appointed_room.as_deref(), &q.code);
            waiting_entry(v, mode, &q.rules, reserved)
        })
        .collect::<Result<_, _>>()?;
    // Every queue has its counters row (seeded at start); one that cannot
    // be read stops the start, naming the queue.
    let row = loaded
        .counters
        .iter()
        .find(|c| c.queue_code == q.code)
        .ok_or_else(|| DbError::Corrupt(format!("queue {} has no counters", q.code)))?;
    let broken = |what: &str| DbError::Corrupt(format!("queue {} has {what}", q.code));
    let counters = Counters {
        normal_calls_total: row.normal_calls_total,
        last_insert_mark: row.last_insert_mark,
        consecutive_priority: row.consecutive_priority,
        calls_since_return: row.calls_since_return,
        taken_total: row.taken_total,
        overtakes: serde_json::from_str(&row.overtakes)
            .map_err(|_| broken("unreadable overtakes"))?,
    };
    let tickets = TicketCounter {
        date: row
            .ticket_date
            .parse()
            .map_err(|_| broken("an unreadable ticket date"))?,
        last: u32::try_from(row.ticket_last).map_err(|_| broken("a negative ticket number"))?,
    };
    Ok(QueueState::new(
        q.code.clone(),
        q.prefix.clone(),
        q.rules.clone(),
        entries,
        counters,
        tickets,
        row.next_seq,
    ))
}

impl Engine {
    /// Seeds missing rows, loads the database and starts every actor on the
    /// current actix system: rooms are declared first (so queues and
    /// screens can resolve them), then screens, queues, notices, and the
    /// room actors last (they draw from the queues).
    pub async fn start(
        hospital: Arc<Hospital>,
        db: Db,
        clock: SharedClock,
        links: PatientLinks,
    ) -> Result<Engine, DbError> {
        let hospital = Arc::new(rules_in_force(&db, &hospital).await?);
        let now = clock.now();
        seed(&db, &hospital, now).await?;
        // Days before today are over: whatever of them is still open closes
        // (the server was down at the day end) before any actor sees it.
        if let Some(yesterday) = service_date(now).pred_opt() {
            let audit = Audit {
                operator: "system".into(),
                source: "day-end".into(),
                at: now,
                reason: Some("日终（启动时补做）".into()),
            };
            let open = [
                VisitStatus::Waiting,
                VisitStatus::Called,
                VisitStatus::Missed,
                VisitStatus::Exam,
            ];
            db.write(move |c| store::close_day(c, &yesterday, &open, &audit))
                .await?;
        }
        let closed_through = db.read(store::closed_through).await?;
        let loaded = db.read(store::load_all).await?;
        // A room left paused, stopped or seated on an earlier day (no day
        // end ran: the server was down) starts today as a day end leaves
        // it (below, once the actors run). Read from the rooms' own rows,
        // so a start that fails half-way does it at the next start.
        let today_began =
            super::day::day_end_instant(service_date(now).pred_opt().unwrap_or(service_date(now)))
                .naive_utc();
        let stale: Vec<RoomCode> = loaded
            .rooms
            .iter()
            .filter(|r| {
                r.updated_at < today_began
                    && (r.status != RoomStatus::Open || r.seat != SeatState::Configured)
            })
            .map(|r| r.code.clone())
            .collect();
        let notices = db
            .read(move |c| store::active_notices(c, now.naive_utc()))
            .await?;

        let directory = Directory::new();
        let journal: SharedJournal = Arc::new(
            DbJournal::new(db.clone(), links.clone())
                .notifying(hospital.patient.webhook_url.is_some()),
        );
        let mode = hospital.voice_name;
        for d in &loaded.doctors {
            directory.publish_doctor(doctor_view(d));
        }
        let room_states = hospital
            .rooms
            .iter()
            .map(|r| room_state(r, &hospital, &loaded, mode))
            .collect::<Result<Vec<_>, _>>()?;
        for state in &room_states {
            directory.declare_room(state.info.clone(), state.status, state.current.as_ref());
        }
        // The configuration's screens, as registered or reassigned since
        // (a stored definition replaces the file's).
        let mut screens = hospital.screens.clone();
        for row in db.read(store::load_screens).await? {
            if row.retired_at.is_some() {
                screens.retain(|s| s.code.as_str() != row.code);
                continue;
            }
            let config = super::screens::config_of(&row)?;
            match screens.iter_mut().find(|s| s.code == config.code) {
                Some(s) => *s = config,
                None => screens.push(config),
            }
        }
        for s in &screens {
            directory.screen_configs.insert(s.code.clone(), s.clone());
            let actor = ScreenActor::new(s.clone(), directory.board(), clock.clone());
            let variant = actor.variant();
            directory.add_screen(&s.code, actor.start(), &s.rooms, variant);
        }
        for q in &hospital.queues {
            let state =
                queue_state(&hospital, q, &loaded, mode)?.with_closed_through(closed_through);
            let addr =
                QueueActor::new(state, journal.clone(), clock.clone(), directory.board()).start();
            directory.add_queue(&q.code, addr);
        }
        for n in &notices {
            let (view, screens) = super::notices::view(n);
            directory.publish_notice(view, screens, clock.now());
        }
        for state in room_states {
            let queues = state
                .info
                .draws_from
                .iter()
                .filter_map(|q| directory.queues.get(q).map(|a| a.clone()))
                .collect();
            let code = state.info.code.clone();
            let addr = RoomActor::new(
                state,
                queues,
                journal.clone(),
                clock.clone(),
                directory.board(),
                hospital.voice_repeat,
            )
            .start();
            directory.add_room(&code, addr);
        }

        let names = Arc::new(super::names::VisitNames::default());
        for v in loaded.waiting.iter().chain(loaded.called.iter()) {
            names.set(&v.visit_no, &v.patient_name, v.visit_type, now);
        }
        tracing::info!(
            queues = hospital.queues.len(),
            rooms = hospital.rooms.len(),
            screens = screens.len(),
            waiting = loaded.waiting.len(),
            called = loaded.called.len(),
            "engine started from the database"
        );
        let engine = Engine::assemble(
            hospital,
            directory,
            db,
            clock,
            names,
            Arc::new(super::day::ClosedThrough::new(closed_through)),
            links,
        );
        if !stale.is_empty() {
            engine.start_rooms_clean(now, &stale).await;
        }
        // Door screens list today's appointments from the first snapshot.
        engine.publish_appointments().await;
        Ok(engine)
    }
}
