//! The demo hospital's simulated day: patients register and check in, rooms
//! call, finish and now and then skip, so a newcomer who opens the screens
//! sees the hospital move. It drives the same [`Engine`] methods
//! functions as the API: registrations as operator `demo-simulator`, each
//! room's calls and finishes as the doctor seated in it.

use std::time::Duration;

use rand::Rng;

use crate::api::registrations::{PatientBody, RegistrationBody};
use crate::engine::Acting;
use crate::engine::Engine;
use crate::engine::RoomCommand;
use triage_actors::model::SpecialTag;
use triage_ground::ids::{DepartmentCode, RoomCode, VisitNo};

/// The demo hospital's paediatrics (儿科): its patients are children.
static PAEDIATRICS: std::sync::LazyLock<Option<DepartmentCode>> =
    std::sync::LazyLock::new(|| DepartmentCode::parse("EK").ok());

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华",
];

/// The simulator as the actor of its commands (the engine stamps the time).
fn simulator() -> Acting {
    Acting::new("demo-simulator", "demo")
}

/// The room's seated doctor as the actor of the simulation's calls, or the
/// simulator when nobody sits there.
fn seated_doctor(engine: &Engine, room: &RoomCode) -> Acting {
    engine
        .directory()
        .room_info(room.as_str())
        .and_then(|i| i.doctor_code)
        .map_or_else(simulator, |d| Acting::new(d.to_string(), "demo"))
}

/// The demo day's schedule (出诊排班), once a day unless HIS or a nurse set
/// one: every room's configured doctor in the morning and the afternoon,
/// 40 patients each, so the console's 出诊排班 and the doctors' callers
/// show one.
async fn schedule_today(engine: &Engine, seeded: &mut Option<chrono::NaiveDate>) {
    let today = triage_ground::time::service_date(engine.now());
    if *seeded == Some(today) {
        return;
    }
    *seeded = Some(today);
    match engine.schedule_day(today, None).await {
        Ok(day) if day.entries.is_empty() => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "demo: schedule not read");
            return;
        }
    }
    let entries = engine
        .hospital()
        .rooms
        .iter()
        .filter_map(|r| r.doctor.as_ref().map(|d| (r, d)))
        .flat_map(|(r, d)| {
            ["am", "pm"]
                .into_iter()
                .filter(|s| engine.hospital().schedule.session(s).is_some())
                .map(|s| crate::engine::schedules::ScheduleEntryDraft {
                    session: s.into(),
                    room_code: r.code.to_string(),
                    doctor_code: d.to_string(),
                    queues: Vec::new(),
                    patient_limit: Some(40),
                })
        })
        .collect();
    if let Err(e) = engine
        .put_schedule_day(&today.to_string(), entries, simulator())
        .await
    {
        tracing::warn!(error = %e, "demo: schedule not set");
    }
}

/// The simulation: runs until its task is stopped (it is one of the
/// background tasks).
pub async fn run(engine: Engine, tick: Duration) {
    {
        let run = engine.now().format("%H%M%S").to_string();
        let mut n: u32 = 0;
        let mut interval = tokio::time::interval(tick);
        let mut scheduled = None;
        loop {
            interval.tick().await;
            schedule_today(&engine, &mut scheduled).await;
            // Arrivals: keep each department's hall busy but not endless.
            let plan = {
                let mut rng = rand::rng();
                let dept = &engine.hospital().departments
                    [rng.random_range(0..engine.hospital().departments.len())];
                let waiting: usize = engine
                    .hospital()
                    .queues
                    .iter()
                    .filter(|q| q.department == dept.code)
                    .map(|q| engine.directory().queue_board(&q.code).waiting)
                    .sum();
                let arrive = waiting < 14 && rng.random_bool(0.9);
                let doctors: Vec<String> = engine
                    .hospital()
                    .queues
                    .iter()
                    .filter(|q| q.department == dept.code)
                    .filter_map(|q| q.doctor.as_ref().map(|d| d.to_string()))
                    .collect();
                let doctor = (!doctors.is_empty() && rng.random_bool(0.25))
                    .then(|| doctors[rng.random_range(0..doctors.len())].clone());
                let name = format!(
                    "{}{}",
                    SURNAMES[rng.random_range(0..SURNAMES.len())],
                    GIVEN[rng.random_range(0..GIVEN.len())]
                );
                // 儿科 sees children.
                let year = if PAEDIATRICS.as_ref() == Some(&dept.code) {
                    rng.random_range(2012..2025)
                } else {
                    rng.random_range(1935..2023)
                };
                let special = if rng.random_bool(0.08) {
                    vec![[
                        SpecialTag::Military,
                        SpecialTag::Disabled,
                        SpecialTag::Pregnant,
                    ][rng.random_range(0..3)]
                    .as_str()
                    .to_string()]
                } else {
                    vec![]
                };
                let sex = if rng.random_bool(0.5) { "1" } else { "2" };
                let ret = rng.random_bool(0.2);
                let room = engine.hospital().rooms
                    [rng.random_range(0..engine.hospital().rooms.len())]
                .code
                .clone();
                let skip = rng.random_bool(0.04);
                let call = rng.random_bool(0.4);
                (
                    call,
                    arrive,
                    dept.code.clone(),
                    doctor,
                    name,
                    year,
                    special,
                    sex,
                    ret,
                    room,
                    skip,
                )
            };
            let (call, arrive, dept, doctor, name, year, special, sex, ret, room, skip) = plan;
            if arrive {
                n += 1;
                let visit_no = format!("DEMO{run}{n:04}");
                let body = RegistrationBody {
                    patient: PatientBody {
                        id: format!("P{run}{n:04}"),
                        name,
                        sex: serde_json::json!(sex),
                        birth_date: Some(format!("{year}-05-01")),
                    },
                    department_code: dept.to_string(),
                    doctor_code: doctor,
                    visit_type: if ret { "return" } else { "first" }.into(),
                    registered_at: engine.now().fixed_offset(),
                    appointment: None,
                    special,
                    exam_items: vec![],
                    checked_in: true,
                    sequence_no: Some(i64::from(n)),
                };
                let canonical = serde_json::to_string(&body).unwrap_or_default();
                // Parsed as HIS's message would be.
                let today = triage_ground::time::service_date(engine.now());
                let parsed = VisitNo::parse(&visit_no)
                    .map_err(triage_ground::error::Error::from)
                    .and_then(|v| Ok((v, body.parse(engine.hospital(), today, canonical)?)));
                let stored = match parsed {
                    Ok((v, registration)) => {
                        engine.put_registration(&v, registration, simulator()).await
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = stored {
                    tracing::warn!(error = %e, "demo registration failed");
                }
            }
            if !call {
                continue;
            }
            let cmd = if skip {
                RoomCommand::Skip
            } else {
                RoomCommand::CallNext
            };
            let Ok(room) = RoomCode::parse(&room) else {
                continue;
            };
            // The room's seated doctor calls and finishes, as in a hospital
            // (the demo's statistics then read per doctor).
            let doctor = seated_doctor(&engine, &room);
            match engine.room_command(&room, cmd, doctor.clone()).await {
                Ok(_) => {}
                Err(e) if e.code == triage_ground::error::ErrorCode::QueueEmpty => {
                    let _ = engine
                        .room_command(&room, RoomCommand::Finish, doctor)
                        .await;
                }
                Err(_) => {}
            }
        }
    }
}
