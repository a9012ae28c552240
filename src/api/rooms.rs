//! Rooms: `GET /rooms`, `GET /rooms/{room}`, the room commands
//! `POST /rooms/{room}/{action}` and call by name
//! `POST /rooms/{room}/call/{visit_no}`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{caller, optional_json, Caller, OptionalJson};
use super::fields::audit_reason;
use super::registrations::{reason_or, ReasonBody};
use crate::engine::{Engine, RoomAnswer, RoomCommand};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{RoomCode, VisitNo};

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(post, path = "/api/v1/rooms/{room_code}/call/{visit_no}", tag = "calling", params(("room_code" = String, Path), ("visit_no" = String, Path)), request_body(content = Option<ReasonBody>, description = "optional: why (default 指定叫号)"), responses((status = 200, description = "called by name, out of order (指定叫号); durable", body = RoomAnswer), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not waiting in a queue of this room, room paused/closed", body = ErrorBody)))]
pub async fn call_visit(
    path: web::Path<(String, String)>,
    body: OptionalJson<ReasonBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let (room, visit_no) = path.into_inner();
    let (room, visit_no) = (RoomCode::parse(&room)?, VisitNo::parse(&visit_no)?);
    may_operate(&caller, &engine, &room)?;
    let audit = caller.acting_why(reason_or(body, "指定叫号")?);
    Ok(HttpResponse::Ok().json(engine.call_visit(&room, &visit_no, audit).await?))
}

/// Whether the caller may work this room (404 first for a room that does
/// not exist).
fn may_operate(caller: &Caller, engine: &Engine, room: &RoomCode) -> Result<(), Error> {
    if engine.hospital().room(room).is_none() {
        return Err(Error::new(
            ErrorCode::RoomNotFound,
            format!("no room {room:?}"),
        ));
    }
    caller.principal.operate_room(engine.hospital(), room)
}

/// What closing a room (停诊) does with the patients waiting for it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// `keep` (default): the doctor's own queue stays, frozen, until the
    /// room opens again; `redistribute`: its patients move to the
    /// department's shared queue, keeping their check-in time (unless
    /// another open room calls that queue). Either way the room's short
    /// list goes back to the general list.
    #[serde(default)]
    pub waiting: Option<String>,
    /// Why (recorded with each move).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub reason: Option<String>,
}

fn command(action: &str) -> Result<RoomCommand, Error> {
    Ok(match action {
        "call-next" => RoomCommand::CallNext,
        "recall" => RoomCommand::Recall,
        "skip" => RoomCommand::Skip,
        "finish" => RoomCommand::Finish,
        "pause" => RoomCommand::Pause,
        "resume" => RoomCommand::Resume,
        "close" => RoomCommand::Close,
        "send-to-exam" => RoomCommand::SendForExam,
        _ => {
            return Err(Error::new(
                ErrorCode::UnknownAction,
                "room actions: call-next, recall, skip, send-to-exam, finish, pause, resume, close",
            ))
        }
    })
}

#[utoipa::path(post, path = "/api/v1/rooms/{room_code}/{action}", tag = "calling", params(("room_code" = String, Path), ("action" = String, Path, description = "call-next, recall, skip, send-to-exam, finish, pause, resume or close")), request_body(content = Option<serde_json::Value>, description = "close only, optional: a CloseBody (`redistribute`, `waiting`, `reason`); every other action ignores whatever body it is sent"), responses((status = 200, description = "done, durable", body = RoomAnswer), (status = 404, body = ErrorBody), (status = 409, description = "room paused/closed, queue empty, no current patient", body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn room_action(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    engine: web::Data<Engine>,
) -> Answer {
    let (room, action) = path.into_inner();
    let room = RoomCode::parse(&room)?;
    // The action first (404), then who (400); only `close` reads a body.
    let cmd = command(&action)?;
    let caller = caller(&req)?;
    may_operate(&caller, &engine, &room)?;
    let audit = caller.acting();
    if cmd != RoomCommand::Close {
        return Ok(HttpResponse::Ok().json(engine.room_command(&room, cmd, audit).await?));
    }
    let body = optional_json::<CloseBody>(&req, &body)?
        .map(|(b, _)| b)
        .unwrap_or(CloseBody {
            waiting: None,
            reason: None,
        });
    let redistribute = match body.waiting.as_deref() {
        None | Some("keep") => false,
        Some("redistribute") => true,
        Some(_) => {
            return Err(
                Error::field(ErrorCode::InvalidField, "waiting", "keep or redistribute").into(),
            )
        }
    };
    let reason = match &body.reason {
        Some(r) => audit_reason(r)?,
        None => "停诊转出".to_string(),
    };
    Ok(HttpResponse::Ok().json(
        engine
            .close_room(&room, redistribute, reason, audit)
            .await?,
    ))
}

/// A room as the configuration API lists it.
#[derive(Serialize)]
struct RoomListing {
    code: String,
    name: String,
    department_code: String,
    department_name: String,
    doctor_code: Option<String>,
    doctor_name: Option<String>,
    queues: Vec<String>,
    status: String,
    /// What the room is doing, as its door screen says it.
    status_label: String,
    /// Whether patients may be sent to it (not stopped, somebody seated or
    /// expected): transfer dialogs offer only these.
    serves: bool,
    current_ticket_no: Option<String>,
    waiting: usize,
}

fn room_listing(engine: &Engine, code: &str) -> Option<RoomListing> {
    let def = engine.hospital().room(code)?;
    let view = engine.directory().room_view(code, 0)?;
    // Who sits there and what it calls now (a doctor may have signed in).
    let info = engine.directory().room_info(code)?;
    Some(RoomListing {
        code: def.code.to_string(),
        name: def.name.clone(),
        department_code: def.department.to_string(),
        department_name: view.department_name.clone(),
        doctor_code: info.doctor_code.map(String::from),
        doctor_name: view.doctor.as_ref().map(|d| d.name.clone()),
        queues: info.draws_from.into_iter().map(String::from).collect(),
        status: view.status.as_str().to_string(),
        status_label: view.status_label.clone(),
        serves: engine.directory().board().room_serves(code),
        current_ticket_no: view.current.map(|c| c.ticket_no),
        waiting: view.waiting,
    })
}

#[utoipa::path(get, path = "/api/v1/rooms", tag = "configuration", responses((status = 200, description = "rooms with status, current ticket and waiting count")))]
pub async fn list_rooms(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_hospital()?;
    let rooms: Vec<RoomListing> = engine
        .hospital()
        .rooms
        .iter()
        // Room names and states are no patient data: every staff member
        // sees every room (a doctor transfers to another department's);
        // a HIS client the departments its scopes read.
        .filter(|r| {
            caller.principal.staff().is_some()
                || caller.principal.may_read(engine.hospital(), &r.department)
        })
        .filter_map(|r| room_listing(&engine, &r.code))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "rooms": rooms })))
}

#[utoipa::path(get, path = "/api/v1/rooms/{room_code}", tag = "configuration", params(("room_code" = String, Path)), responses((status = 200, description = "the room as screens show it (masked names)"), (status = 404, body = ErrorBody)))]
pub async fn get_room(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    if let Some(def) = engine.hospital().room(&path) {
        caller.principal.read(engine.hospital(), &def.department)?;
    }
    let view = engine.directory().room_view(&path, 10).ok_or_else(|| {
        Error::new(
            ErrorCode::RoomNotFound,
            format!("no room {:?}", path.as_str()),
        )
    })?;
    Ok(HttpResponse::Ok().json(view))
}

/// Who signs in to a room: a doctor signs themselves in (their account's
/// code is their 工号, the doctor code of HIS master data); a nurse or an
/// administrator names the doctor.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    #[serde(default)]
    pub doctor_code: Option<String>,
}

/// Signing out (签退), or stepping away (暂离, `break: true`).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOutBody {
    #[serde(default, rename = "break")]
    pub on_break: bool,
}

/// A sign-in or sign-out request: the room (404 first), who (may he work
/// it), then the optional body.
fn seat_request<B: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    room: &str,
    body: &web::Bytes,
    engine: &Engine,
) -> Result<(RoomCode, Caller, B), ApiError> {
    let room = RoomCode::parse(room)?;
    let caller = caller(req)?;
    may_operate(&caller, engine, &room)?;
    let body = optional_json::<B>(req, body)?
        .map(|(b, _)| b)
        .unwrap_or_default();
    Ok((room, caller, body))
}

#[utoipa::path(post, path = "/api/v1/rooms/{room_code}/sign-in", tag = "calling", params(("room_code" = String, Path)), request_body(content = Option<SignInBody>, description = "a nurse or an administrator names the doctor"),
    responses((status = 200, description = "signed in (签到坐诊): the door screen shows the doctor, the room calls their own queue first; journaled", body = crate::engine::seats::SeatAnswer),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "not_a_doctor, wrong_department, doctor_elsewhere (signed in to another room)", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn sign_in(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    engine: web::Data<Engine>,
) -> Answer {
    let (room, caller, body) = seat_request::<SignInBody>(&req, &path, &body, &engine)?;
    // The person acting: a staff session, or the staff member a HIS client
    // acts for (X-Acting-Staff).
    let who = caller.principal.person().cloned();
    let doctor = match (&who, body.doctor_code) {
        (Some(s), named) if s.role == crate::auth::policy::Role::Doctor => {
            if named.as_deref().is_some_and(|d| d != s.code) {
                return Err(
                    Error::new(ErrorCode::Forbidden, "a doctor signs in only themselves").into(),
                );
            }
            s.code.clone()
        }
        (_, Some(named)) => named,
        (_, None) => {
            return Err(Error::field(
                ErrorCode::MissingField,
                "doctor_code",
                "name the doctor who sits in the room",
            )
            .into())
        }
    };
    let audit = caller.acting();
    Ok(HttpResponse::Ok().json(engine.sign_in(&room, &doctor, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/rooms/{room_code}/sign-out", tag = "calling", params(("room_code" = String, Path)), request_body(content = Option<SignOutBody>, description = "`{\"break\": true}` to step away (暂离)"),
    responses((status = 200, description = "signed out (签退) or away (暂离): the door screen says so; journaled", body = crate::engine::seats::SeatAnswer),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "no_doctor_here", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sign_out(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    engine: web::Data<Engine>,
) -> Answer {
    let (room, caller, body) = seat_request::<SignOutBody>(&req, &path, &body, &engine)?;
    let audit = caller.acting();
    Ok(HttpResponse::Ok().json(engine.sign_out(&room, body.on_break, audit).await?))
}
