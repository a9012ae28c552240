//! Who sits in a room (医生坐诊): a doctor signs in to a room (签到), steps
//! away (暂离) or signs out (签退). Signing in shows the doctor on the door
//! screen (name, title, photo, introduction) and binds the doctor's own
//! queue (专家号) to the room; a doctor sits in one room at a time. Each
//! change is journaled by the room and kept across restarts.

use super::facade::Acting;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use triage_actors::model::RoomInfo;
use triage_actors::model::{Audit, SeatState};
use triage_actors::room::Seat;
use utoipa::ToSchema;

use super::facade::Engine;
use crate::config::RoomDef;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{DepartmentCode, DoctorCode, QueueCode, RoomCode};

/// Who sits in a room now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeatAnswer {
    pub room_code: String,
    /// `configured` (the configuration's doctor), `scheduled` (the
    /// schedule's, not signed in yet), `in`, `break` or `out`.
    pub seat: String,
    pub doctor_code: Option<String>,
    pub doctor_name: Option<String>,
    /// The queues the room calls now, the doctor's own first.
    pub queues: Vec<String>,
}

impl Engine {
    fn seat_answer(&self, info: &RoomInfo) -> SeatAnswer {
        SeatAnswer {
            room_code: info.code.to_string(),
            seat: info.seat.as_str().into(),
            doctor_name: info
                .doctor_code
                .as_deref()
                .and_then(|d| self.doctor_name(d)),
            doctor_code: info.doctor_code.as_ref().map(|d| d.to_string()),
            queues: info.draws_from.iter().map(|q| q.to_string()).collect(),
        }
    }

    /// A doctor's name from master data or the configuration.
    pub fn doctor_name(&self, code: &str) -> Option<String> {
        self.directory().doctor(code).map(|d| d.name).or_else(|| {
            self.hospital()
                .doctors
                .iter()
                .find(|d| d.code == code)
                .map(|d| d.name.clone())
        })
    }

    /// The department of a known doctor (master data or configuration).
    pub(crate) fn doctor_department(&self, code: &str) -> Option<DepartmentCode> {
        self.hospital()
            .doctors
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.department.clone())
            .or_else(|| {
                // A doctor HIS sent: their own queue names the department.
                self.hospital()
                    .queues
                    .iter()
                    .find(|q| q.doctor.as_deref() == Some(code))
                    .map(|q| q.department.clone())
            })
            .or_else(|| {
                self.directory()
                    .doctor(code)
                    .map(|_| DepartmentCode::trusted(String::new()))
            })
    }

    /// The queues a room calls with `doctor` in it: the doctor's own queue
    /// first (if they have one), then the room's shared queues; the mix
    /// kept when it still fits.
    pub(crate) fn seating(
        &self,
        room: &RoomDef,
        doctor: Option<&str>,
    ) -> (Vec<QueueCode>, Vec<u32>) {
        let shared = room.queues.iter().filter(|q| {
            self.hospital()
                .queue(q)
                .is_some_and(|def| def.doctor.is_none())
        });
        let own = doctor.and_then(|d| {
            self.hospital()
                .queues
                .iter()
                .find(|q| q.doctor.as_deref() == Some(d) && q.department == room.department)
                .map(|q| q.code.clone())
        });
        let draws: Vec<QueueCode> = own.into_iter().chain(shared.cloned()).collect();
        let mix = if room.mix.len() == draws.len() {
            room.mix.clone()
        } else {
            Vec::new()
        };
        (draws, mix)
    }

    fn room_def(&self, room: &RoomCode) -> Result<&RoomDef, Error> {
        self.hospital().room(room.as_str()).ok_or_else(|| {
            Error::new(
                ErrorCode::RoomNotFound,
                format!("no room {:?}", room.as_str()),
            )
        })
    }

    pub(crate) async fn seat(
        &self,
        room: &RoomCode,
        doctor: Option<DoctorCode>,
        seat: SeatState,
        draws_from: Vec<QueueCode>,
        mix: Vec<u32>,
        audit: Audit,
    ) -> Result<RoomInfo, Error> {
        let before = self.directory().room_info(room.as_str());
        let addr = self.room_addr(room)?;
        // The room calls these queues by address: every one must run.
        let queues = draws_from
            .iter()
            .map(|q| self.directory().queues.get(q.as_str()).map(|a| a.clone()))
            .collect::<Option<Vec<_>>>()
            .ok_or(triage_actors::EngineError::Mailbox)?;
        let info = addr
            .send(Seat {
                doctor_code: doctor,
                seat,
                draws_from,
                queues,
                mix,
                audit: audit.clone(),
            })
            .await
            .map_err(triage_actors::EngineError::from)??;
        // Patients sent to this room's door from a queue it no longer
        // calls go back to that queue's general list.
        let dropped = before
            .map(|b| b.draws_from)
            .unwrap_or_default()
            .into_iter()
            .filter(|q| !info.draws_from.contains(q));
        for q in dropped {
            self.queue_addr(&q)?
                .send(triage_actors::queue::ReleaseRoom {
                    room_code: room.clone(),
                    audit: audit.clone(),
                })
                .await
                .map_err(triage_actors::EngineError::from)??;
        }
        Ok(info)
    }

    /// A doctor signs in to a room (签到坐诊): the door screen shows them,
    /// the room calls their own queue first. Refused (409) for a doctor of
    /// another department, or one signed in to another room (sign out
    /// there first). A room where the doctor was only the configuration's
    /// doctor is left empty (本诊室暂无医生坐诊).
    pub async fn sign_in(
        &self,
        room: &RoomCode,
        doctor: &str,
        who: Acting,
    ) -> Result<SeatAnswer, Error> {
        let audit = self.stamp(who);
        let _one_at_a_time = self.seating.lock().await;
        let def = self.room_def(room)?;
        let department = self.doctor_department(doctor).ok_or_else(|| {
            Error::new(
                ErrorCode::NotADoctor,
                format!("{doctor:?} is not a doctor in the master data"),
            )
        })?;
        if !department.is_empty() && department != def.department {
            return Err(Error::new(
                ErrorCode::WrongDepartment,
                "this room is another department's",
            ));
        }
        // Back from a break (暂离) in this room: always.
        let returning = self.directory().room_info(room.as_str()).is_some_and(|i| {
            i.doctor_code.as_deref() == Some(doctor)
                && matches!(i.seat, SeatState::In | SeatState::Break)
        });
        let allowed = if returning {
            vec![room.clone()]
        } else {
            self.sign_in_rooms(doctor, &department, audit.at).await?
        };
        if !allowed.iter().any(|r| r == room.as_str()) {
            let names: Vec<&str> = allowed
                .iter()
                .filter_map(|r| self.hospital().room(r).map(|d| d.name.as_str()))
                .collect();
            return Err(Error::new(
                ErrorCode::NotScheduled,
                if names.is_empty() {
                    "the schedule gives the doctor no room now (本时段无排班)".to_string()
                } else {
                    format!(
                        "the schedule gives the doctor another room now: {}",
                        names.join("、")
                    )
                },
            ));
        }
        let several = self.hospital().schedule.several_rooms;
        let mut elsewhere = Vec::new();
        for r in &self.hospital().rooms {
            if r.code == def.code {
                continue;
            }
            let Some(info) = self.directory().room_info(&r.code) else {
                continue;
            };
            if info.doctor_code.as_deref() != Some(doctor) {
                continue;
            }
            match info.seat {
                SeatState::In | SeatState::Break if several => {}
                SeatState::In | SeatState::Break => {
                    return Err(Error::new(
                        ErrorCode::DoctorElsewhere,
                        format!(
                            "the doctor is signed in to {} (坐诊中); sign out there first",
                            r.name
                        ),
                    ))
                }
                SeatState::Configured | SeatState::Scheduled if !several => elsewhere.push(r),
                SeatState::Configured | SeatState::Scheduled => {}
                SeatState::Out => {}
            }
        }
        let (draws, mix) = self.seating(def, Some(doctor));
        let info = self
            .seat(
                room,
                Some(DoctorCode::trusted(doctor)),
                SeatState::In,
                draws,
                mix,
                audit.clone(),
            )
            .await?;
        // The doctor is here now, not in the room the configuration gave.
        for r in elsewhere {
            let code = RoomCode::parse(&r.code)?;
            let (draws, mix) = self.seating(r, None);
            self.seat(&code, None, SeatState::Out, draws, mix, audit.clone())
                .await?;
        }
        tracing::info!(room = %room, doctor, "doctor signed in");
        Ok(self.seat_answer(&info))
    }

    /// The doctor in a room steps away (暂离, `on_break`) or signs out
    /// (签退): the door screen says so; signed out, the room calls its
    /// shared queues only (the doctor's own patients wait for them).
    pub async fn sign_out(
        &self,
        room: &RoomCode,
        on_break: bool,
        who: Acting,
    ) -> Result<SeatAnswer, Error> {
        let audit = self.stamp(who);
        let _one_at_a_time = self.seating.lock().await;
        let def = self.room_def(room)?;
        let info = self.directory().room_info(room.as_str()).ok_or_else(|| {
            Error::new(
                ErrorCode::RoomNotFound,
                format!("no room {:?}", room.as_str()),
            )
        })?;
        let Some(doctor) = info.doctor_code.clone() else {
            return Err(Error::new(
                ErrorCode::NoDoctorHere,
                "nobody is signed in to this room",
            ));
        };
        let info = if on_break {
            self.seat(
                room,
                Some(doctor.clone()),
                SeatState::Break,
                info.draws_from.clone(),
                info.mix.clone(),
                audit,
            )
            .await?
        } else {
            let (draws, mix) = self.seating(def, None);
            self.seat(room, None, SeatState::Out, draws, mix, audit)
                .await?
        };
        tracing::info!(room = %room, on_break, "doctor signed out");
        Ok(self.seat_answer(&info))
    }

    /// The day end: every room goes back to its configured doctor (the
    /// next day starts as configured; a doctor signs in again).
    pub(crate) async fn reset_seats(&self, audit: Audit) -> Result<usize, Error> {
        let _one_at_a_time = self.seating.lock().await;
        let mut n = 0;
        for r in &self.hospital().rooms {
            let seated = self
                .directory()
                .room_info(&r.code)
                .is_some_and(|i| i.seat != SeatState::Configured);
            if seated {
                let code = RoomCode::parse(&r.code)?;
                self.seat(
                    &code,
                    r.doctor.clone(),
                    SeatState::Configured,
                    r.queues.clone(),
                    r.mix.clone(),
                    audit.clone(),
                )
                .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Who sits in a room now.
    pub fn seat_of(&self, room: &RoomCode) -> Result<SeatAnswer, Error> {
        let info = self.directory().room_info(room.as_str()).ok_or_else(|| {
            Error::new(
                ErrorCode::RoomNotFound,
                format!("no room {:?}", room.as_str()),
            )
        })?;
        Ok(self.seat_answer(&info))
    }
}

/// A stop-clinic (停诊) of today, as the nurse console lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StopRecord {
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who stopped it (a HIS client or a staff code).
    pub operator: String,
    pub doctor_code: String,
    pub doctor_name: Option<String>,
    pub department_code: String,
    /// The sessions stopped.
    pub sessions: Vec<String>,
    pub reason: String,
    pub rooms_closed: Vec<String>,
    pub redistributed: usize,
    /// Every patient who was waiting for the doctor then.
    pub affected: Vec<AffectedVisit>,
}

impl Engine {
    /// Today's stop-clinics (停诊), oldest first; `visible` keeps those of
    /// the departments the caller may read.
    pub async fn stops_today(
        &self,
        visible: impl Fn(&str) -> bool,
    ) -> Result<Vec<StopRecord>, Error> {
        let day = triage_ground::time::service_date(self.now());
        let since = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| {
                t.and_local_timezone(triage_ground::time::shanghai())
                    .single()
            })
            .map(|t| t.naive_utc())
            .ok_or_else(Error::internal)?;
        let rows = self
            .db()
            .read(move |c| crate::db::schedules::stops_since(c, since))
            .await?;
        let mut out = Vec::new();
        for (_, _, detail) in rows {
            let record: StopRecord = serde_json::from_str(&detail).map_err(|_| {
                tracing::error!("a clinic_stopped event that does not read back");
                Error::internal()
            })?;
            if visible(&record.department_code) {
                out.push(record);
            }
        }
        Ok(out)
    }
}

/// A patient a stop-clinic (停诊) touched.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AffectedVisit {
    pub visit_no: String,
    pub ticket_no: String,
    /// As public screens show it (张*三).
    pub masked_name: String,
    /// The doctor's queue the patient waited in.
    pub queue_code: String,
}

/// What a stop-clinic (停诊) did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StopClinicAnswer {
    pub doctor_code: String,
    pub doctor_name: Option<String>,
    /// The rooms the doctor sat in, now closed.
    pub rooms_closed: Vec<String>,
    /// Patients moved to the department's shared queue (`redistribute`).
    pub redistributed: usize,
    /// Every patient who was waiting for the doctor.
    pub affected: Vec<AffectedVisit>,
    /// The notice on the screens, if any screen shows the doctor's rooms.
    pub notice_id: Option<i64>,
    /// The sessions stopped today (`am`, `pm`, …).
    pub sessions: Vec<String>,
    /// Schedule entries marked stopped (their rooms stay empty then).
    pub schedule_rooms: Vec<String>,
}

impl Engine {
    /// A doctor stops the clinic (停诊) for one session of today or (no
    /// session) the rest of the day, from HIS or the triage desk. For the
    /// session in force (or, before the day's first, that one): the rooms
    /// the doctor sits in close (their door lists go back; `redistribute`
    /// moves the doctor's waiting patients to the department's shared
    /// queue, else they wait, frozen, until the doctor opens again). The
    /// doctor's schedule entries of those sessions are marked stopped: their
    /// rooms stay empty when the session starts, and the doctor's queue is
    /// then frozen or moved the same way. The screens of the rooms and of
    /// the department's overviews show a notice at once, until the session
    /// (or the day) ends. Answers every patient waiting for the doctor.
    pub async fn stop_clinic(
        &self,
        doctor: &str,
        session: Option<&str>,
        redistribute: bool,
        to: Option<&str>,
        reason: String,
        who: Acting,
    ) -> Result<StopClinicAnswer, Error> {
        let audit = self.stamp(who);
        let department = self.doctor_department(doctor).ok_or_else(|| {
            Error::new(
                ErrorCode::NotADoctor,
                format!("{doctor:?} is not a doctor in the master data"),
            )
        })?;
        let name = self.doctor_name(doctor);
        let scope = self.stop_scope(session, audit.at)?;
        // The same stop again (a HIS retry) answers the record it made,
        // once nothing is left to close.
        if self.seated_rooms(doctor, true).is_empty() {
            if let Some(done) = self.stopped_before(doctor, &scope.sessions).await? {
                return Ok(done);
            }
        }
        let affected = self.waiting_for(doctor).await?;
        let rooms = if scope.now_too {
            self.seated_rooms(doctor, false)
        } else {
            Vec::new()
        };
        self.check_stop_target(to, &department, doctor)?;
        for r in &rooms {
            self.close_room_at(r, false, reason.clone(), audit.clone())
                .await?;
        }
        // The doctor's patients, now that the rooms are closed: to `to` (or
        // the shared queue), or they wait.
        let mut redistributed = 0;
        if redistribute && scope.now_too {
            for q in self.own_queues(doctor) {
                redistributed += self
                    .move_to_shared(q, None, to, reason.clone(), audit.clone())
                    .await?;
            }
        }
        let schedule_rooms = self
            .stop_schedule(doctor, &scope.sessions, redistribute, audit.clone())
            .await?;
        let mut shown = rooms.clone();
        shown.extend(schedule_rooms.iter().map(RoomCode::trusted));
        let who = name.clone().unwrap_or_else(|| doctor.to_string());
        let notice_id = self
            .stop_notice(&who, &scope, &shown, &department, &audit)
            .await?;
        let record = StopRecord {
            at: audit.at,
            operator: audit.operator.clone(),
            doctor_code: doctor.to_string(),
            doctor_name: name,
            department_code: department.to_string(),
            sessions: scope.sessions,
            reason,
            rooms_closed: rooms.iter().map(ToString::to_string).collect(),
            redistributed,
            affected,
        };
        self.record_stop(&record, &audit).await?;
        tracing::info!(
            doctor,
            rooms = rooms.len(),
            affected = record.affected.len(),
            redistributed,
            "clinic stopped"
        );
        Ok(StopClinicAnswer {
            doctor_code: record.doctor_code,
            doctor_name: record.doctor_name,
            rooms_closed: record.rooms_closed,
            redistributed,
            affected: record.affected,
            notice_id,
            sessions: record.sessions,
            schedule_rooms,
        })
    }

    /// Which sessions a stop covers, whether it covers now, how the notice
    /// names it and when the notice ends.
    fn stop_scope(&self, session: Option<&str>, at: DateTime<Utc>) -> Result<StopScope, Error> {
        let order = &self.hospital().schedule.sessions;
        let day = triage_ground::time::service_date(at);
        let in_force = self.session_at(at).map(|s| s.code.clone());
        let index = |code: &str| order.iter().position(|s| s.code == code);
        let from = in_force.as_deref().and_then(index).unwrap_or(0);
        let Some(code) = session else {
            return Ok(StopScope {
                sessions: order[from..].iter().map(|s| s.code.clone()).collect(),
                now_too: true,
                when: "今日".to_string(),
                ends: super::day::day_end_instant(day),
            });
        };
        let def = self.hospital().schedule.session(code).ok_or_else(|| {
            Error::field(
                ErrorCode::UnknownSession,
                "session",
                format!("no session {code:?}"),
            )
        })?;
        if index(code).is_some_and(|i| i < from) {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "session",
                format!("the {} session is over", def.name),
            ));
        }
        // The notice ends with the session; a session running past its end
        // (overtime) keeps it until the next one starts or the day ends.
        let mut ends = self.session_end(day, def);
        if ends <= at {
            ends = index(code)
                .and_then(|i| order.get(i + 1))
                .map(|next| self.session_start(day, next))
                .filter(|t| *t > at)
                .unwrap_or_else(|| super::day::day_end_instant(day));
        }
        Ok(StopScope {
            sessions: vec![code.to_string()],
            now_too: index(code) == Some(from),
            when: format!("今日{}", def.name),
            ends,
        })
    }

    /// The rooms the doctor sits in (signed in or configured there, not
    /// out); with `open_only`, only those not closed yet.
    fn seated_rooms(&self, doctor: &str, open_only: bool) -> Vec<RoomCode> {
        self.hospital()
            .rooms
            .iter()
            .filter(|r| {
                self.directory().room_info(&r.code).is_some_and(|i| {
                    i.doctor_code.as_deref() == Some(doctor) && i.seat != SeatState::Out
                }) && (!open_only
                    || self
                        .directory()
                        .room_view(&r.code, 0)
                        .is_some_and(|v| v.status != triage_actors::model::RoomStatus::Closed))
            })
            .map(|r| r.code.clone())
            .collect()
    }

    fn own_queues<'a>(
        &'a self,
        doctor: &'a str,
    ) -> impl Iterator<Item = &'a crate::config::QueueDef> + 'a {
        self.hospital()
            .queues
            .iter()
            .filter(move |q| q.doctor.as_deref() == Some(doctor))
    }

    /// The answer of the same stop made before today, if there is one.
    async fn stopped_before(
        &self,
        doctor: &str,
        sessions: &[String],
    ) -> Result<Option<StopClinicAnswer>, Error> {
        let done = self
            .stops_today(|_| true)
            .await?
            .into_iter()
            .rev()
            .find(|r| r.doctor_code == doctor && r.sessions == sessions);
        Ok(done.map(|r| StopClinicAnswer {
            doctor_code: r.doctor_code,
            doctor_name: r.doctor_name,
            rooms_closed: r.rooms_closed,
            redistributed: r.redistributed,
            affected: r.affected,
            notice_id: None,
            sessions: r.sessions,
            schedule_rooms: Vec::new(),
        }))
    }

    /// Every patient waiting for the doctor, in each own queue's order.
    async fn waiting_for(&self, doctor: &str) -> Result<Vec<AffectedVisit>, Error> {
        let mut affected = Vec::new();
        for q in self.own_queues(doctor) {
            let list = self.list_queue(&q.code).await?;
            affected.extend(list.entries.into_iter().map(|e| AffectedVisit {
                visit_no: e.visit_no.into(),
                ticket_no: e.ticket_no,
                masked_name: e.masked_name,
                queue_code: q.code.to_string(),
            }));
        }
        Ok(affected)
    }

    /// A queue named to take the doctor's patients: another queue of the
    /// doctor's department.
    fn check_stop_target(
        &self,
        to: Option<&str>,
        department: &DepartmentCode,
        doctor: &str,
    ) -> Result<(), Error> {
        let Some(code) = to else {
            return Ok(());
        };
        let target = self.hospital().queue(code).ok_or_else(|| {
            Error::field(
                ErrorCode::UnknownQueue,
                "queue_code",
                format!("no queue {code:?}"),
            )
        })?;
        if target.department != *department || target.doctor.as_deref() == Some(doctor) {
            return Err(Error::field(
                ErrorCode::InvalidTransferTarget,
                "queue_code",
                "another queue of the doctor's department",
            ));
        }
        Ok(())
    }

    /// The notice of a stop on the screens of `rooms` and the department's
    /// overviews, until the stop ends; its id, if any screen shows it.
    async fn stop_notice(
        &self,
        who: &str,
        scope: &StopScope,
        rooms: &[RoomCode],
        department: &DepartmentCode,
        audit: &Audit,
    ) -> Result<Option<i64>, Error> {
        let screens: Vec<triage_ground::ids::ScreenCode> = self
            .screens()
            .into_iter()
            .filter(|s| {
                s.rooms.iter().any(|r| rooms.contains(r))
                    || (s.kind == triage_actors::screen::ScreenKind::Overview
                        && s.rooms.iter().any(|r| {
                            self.hospital()
                                .room(r)
                                .is_some_and(|d| d.department == *department)
                        }))
            })
            .map(|s| s.code)
            .collect();
        if screens.is_empty() {
            return Ok(None);
        }
        let body = super::notices::NoticeDraft {
            text: format!("{who}医生{}停诊，已挂号的患者请到分诊台咨询", scope.when),
            level: crate::db::columns::NoticeLevel::Urgent,
            screens: Some(screens),
            starts_at: None,
            expires_at: Some(scope.ends),
        };
        Ok(Some(self.publish_notice_at(body, audit.clone()).await?.id))
    }

    async fn record_stop(&self, record: &StopRecord, audit: &Audit) -> Result<(), Error> {
        let detail = serde_json::to_value(record).map_err(|_| Error::internal())?;
        let a = audit.clone();
        self.db()
            .write(move |c| crate::db::schedules::record_stop(c, &a, detail))
            .await?;
        Ok(())
    }
}

/// What a stop-clinic covers.
struct StopScope {
    /// The sessions stopped today (`am`, `pm`, …).
    sessions: Vec<String>,
    /// The session in force is one of them: the rooms close now.
    now_too: bool,
    /// How the notice names the stop (今日, 今日上午).
    when: String,
    /// When the notice ends.
    ends: DateTime<Utc>,
}
