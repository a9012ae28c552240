//! Appointments (预约) from HIS, booked for an exact room:
//! `PUT|GET|DELETE /appointments/{appointment_id}` and check-in. HIS
//! clients with the `registrations` scope write them; staff of the room's
//! department read them and check the patient in. The body
//! (`AppointmentPutBody`) is parsed here into the engine's `Appointment`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json};
use super::fields::parse_special;
use super::registrations::{
    parse_exam_items, parse_sequence_no, parse_visit_type, AppointmentBody, ExamItem, PatientBody,
};
use crate::config::Hospital;
use crate::db::store::UpsertOutcome;
use crate::engine::appointments::{Appointment, AppointmentAnswer, AppointmentState};
use crate::engine::{CheckInAnswer, Engine, Registration};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::VisitNo;
use triage_ground::time::service_date;

/// An appointment as HIS sends it (`PUT /api/v1/appointments/{id}`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentPutBody {
    /// HIS's version of this appointment, 1 or more, raised with every
    /// change (a time stamp in milliseconds will do): a message older than
    /// the one applied changes nothing.
    #[schema(minimum = 1)]
    pub version: i64,
    pub patient: PatientBody,
    /// The exact room or device (检查室 / 诊室) booked.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub room_code: String,
    /// The booked slot (预约时段).
    pub slot: AppointmentBody,
    /// When the patient booked.
    #[serde(with = "triage_ground::time::rfc3339")]
    pub booked_at: DateTime<FixedOffset>,
    /// `first` (初诊, default) or `return` (复诊).
    #[serde(default = "first_visit")]
    #[schema(pattern = "^(first|return|初诊|复诊|回诊)$")]
    pub visit_type: String,
    #[serde(default)]
    pub exam_items: Vec<ExamItem>,
    /// Special groups (特殊人群): military, elderly, disabled, pregnant, child.
    #[serde(default)]
    #[schema(inline, value_type = Vec<super::registrations::SpecialCode>)]
    pub special: Vec<String>,
    /// The HIS sequence number (挂号序号), 1-999999.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 999999)]
    pub sequence_no: Option<i64>,
}

fn first_visit() -> String {
    "first".into()
}

impl AppointmentPutBody {
    /// The appointment, checked in this order: the version, a room of
    /// `hospital` that calls from a queue, the slot, then the registration
    /// it makes for the room (department and queue doctor from the room)
    /// as a registration is checked. `canonical` is the body as sent.
    pub fn parse(
        self,
        hospital: &Hospital,
        today: NaiveDate,
        canonical: String,
    ) -> Result<Appointment, Error> {
        if self.version < 1 {
            return Err(Error::field(
                ErrorCode::InvalidVersion,
                "version",
                "the version is a whole number of 1 or more, raised with every change",
            ));
        }
        let unknown = |message: String| Error::field(ErrorCode::UnknownRoom, "room_code", message);
        let room = hospital.room(&self.room_code).ok_or_else(|| {
            unknown(format!(
                "no room {:?} in this hospital's configuration",
                self.room_code
            ))
        })?;
        let queue = hospital
            .queue_for_room(&room.code)
            .ok_or_else(|| unknown("the room calls from no queue".into()))?;
        let slot = self.slot.parse("slot.end")?;
        let registration = Registration {
            patient: self.patient.parse(today)?,
            department_code: room.department.to_string(),
            doctor_code: queue.doctor.clone(),
            visit_type: parse_visit_type(&self.visit_type)?,
            registered_at: self.booked_at.with_timezone(&Utc),
            slot: Some(slot),
            sequence_no: parse_sequence_no(self.sequence_no)?,
            special: parse_special(&self.special)?,
            exam_items: parse_exam_items(&self.exam_items)?,
            checked_in: false,
            canonical,
        };
        Ok(Appointment {
            version: self.version,
            room_code: room.code.clone(),
            registration,
        })
    }
}

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(put, path = "/api/v1/appointments/{appointment_id}", tag = "HIS",
    params(("appointment_id" = String, Path, description = "HIS appointment id: also the visit number of the visit it makes")),
    request_body = AppointmentPutBody,
    responses((status = 201, description = "booked", body = AppointmentAnswer),
              (status = 200, description = "moved or changed (`replaced`), the same message again (`unchanged`), or an older version than the one applied (`superseded`: nothing changed)", body = AppointmentAnswer),
              (status = 409, description = "cancelled; the same version with other content; the number is a registration's; checked in to a queue the new room does not call from, or being called", body = ErrorBody),
              (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
pub async fn put_appointment(
    path: web::Path<String>,
    body: Json<AppointmentPutBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    caller.principal.register()?;
    let today = service_date(engine.now());
    let appointment = body.value.parse(engine.hospital(), today, body.text)?;
    let (outcome, answer) = engine
        .put_appointment(&id, appointment, caller.acting())
        .await?;
    Ok(match outcome {
        UpsertOutcome::Created => HttpResponse::Created().json(answer),
        _ => HttpResponse::Ok().json(answer),
    })
}

#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}", tag = "HIS",
    params(("appointment_id" = String, Path)),
    responses((status = 200, description = "the version in force, active or cancelled, and its visit", body = AppointmentState),
              (status = 404, description = "no such appointment", body = ErrorBody)))]
pub async fn get_appointment(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    // Every caller is authenticated here (staff or a HIS client); who may
    // read it depends on its department, so it is read first.
    let state = engine.get_appointment(&id).await?;
    if !caller.principal.may_register() {
        match &state.visit {
            Some(v) => caller
                .principal
                .read(engine.hospital(), &v.department_code)?,
            None => caller.principal.register()?,
        }
    }
    Ok(HttpResponse::Ok().json(state))
}

#[utoipa::path(delete, path = "/api/v1/appointments/{appointment_id}", tag = "HIS",
    params(("appointment_id" = String, Path)),
    responses((status = 200, description = "cancelled (取消预约), final; `unchanged` when it already was, or when the appointment has not arrived yet (it is refused when it does)", body = AppointmentAnswer),
              (status = 409, description = "the visit is already finished, or the number is a registration's", body = ErrorBody)))]
pub async fn delete_appointment(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    caller.principal.register()?;
    let audit = caller.acting();
    Ok(HttpResponse::Ok().json(engine.cancel_appointment(&id, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/appointments/{appointment_id}/check-in", tag = "HIS", operation_id = "appointment_check_in",
    params(("appointment_id" = String, Path)),
    responses((status = 200, description = "in the booked room's queue (签到), ordered by the slot under its rules; repeat gives the same ticket", body = CheckInAnswer),
              (status = 404, body = ErrorBody),
              (status = 409, description = "cancelled, on a later day (too_early), before the early check-in window, called or finished", body = ErrorBody)))]
pub async fn check_in(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    if !caller.principal.may_register() {
        let department = engine.department_of(&id).await?;
        caller.principal.check_in(engine.hospital(), &department)?;
    }
    let audit = caller.acting();
    let answer: CheckInAnswer = engine.check_in(&id, audit).await?;
    Ok(HttpResponse::Ok().json(answer))
}
