//! The REST API (`/api/v1`, contract v1) and health endpoints. Routes are
//! registered in one place, [`configure`]; one handler per function. Bodies
//! are read with a size cap and parsed here so every failure gets the JSON
//! error envelope ([`error::ApiError`]); an `ErrorHandlers` middleware gives
//! the same envelope to errors raised by actix itself (404, 405).

pub mod error;
pub mod metrics;
pub mod notices;
pub mod openapi;
pub mod rules;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use triage_actors::model::Audit;

use crate::db::models::DoctorRow;
use crate::db::store::{self, UpsertOutcome};
use crate::engine::{doctor_view, Engine};
use crate::service::{self, valid_code, RegistrationBody, RoomCommand};
use error::ApiError;
#[allow(unused_imports, reason = "named by the OpenAPI annotations")]
use openapi::ErrorBody;
use service::{
    CancelAnswer, CheckInAnswer, InterventionAnswer, QueueAnswer, RegistrationAnswer, RoomAnswer,
    VisitAnswer,
};

/// Largest registration or command body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest doctor body (a Base64 photo).
pub const DOCTOR_BODY_LIMIT: usize = 1024 * 1024;
/// Largest doctor photo after decoding.
pub const PHOTO_LIMIT: usize = 512 * 1024;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .service(
            web::scope("/api/v1")
                .route("/registrations/{visit_no}", web::put().to(put_registration))
                .route("/registrations/{visit_no}", web::get().to(get_registration))
                .route(
                    "/registrations/{visit_no}",
                    web::delete().to(delete_registration),
                )
                .route(
                    "/registrations/{visit_no}/check-in",
                    web::post().to(check_in),
                )
                .route("/registrations/{visit_no}/requeue", web::post().to(requeue))
                .route("/registrations/{visit_no}/hold", web::post().to(hold))
                .route("/registrations/{visit_no}/release", web::post().to(release))
                .route("/registrations/{visit_no}/pin", web::post().to(pin))
                .route("/registrations/{visit_no}/move", web::post().to(move_to))
                .route("/rooms", web::get().to(list_rooms))
                .route("/rooms/{room}", web::get().to(get_room))
                .route("/rooms/{room}/{action}", web::post().to(room_action))
                .route("/rooms/{room}/call/{visit_no}", web::post().to(call_visit))
                .route("/visits/{visit_no}/transfer", web::post().to(transfer))
                .route("/queues", web::get().to(list_queues))
                .route("/queues/{code}", web::get().to(get_queue))
                .route("/queues/{code}/rules", web::get().to(rules::get))
                .route("/queues/{code}/rules", web::put().to(rules::put))
                .route("/departments", web::get().to(list_departments))
                .route("/doctors", web::get().to(list_doctors))
                .route("/doctors/{code}", web::put().to(put_doctor))
                .route("/doctors/{code}", web::get().to(get_doctor))
                .route("/doctors/{code}/photo", web::get().to(doctor_photo))
                .route("/screens", web::get().to(list_screens))
                .route("/notices", web::post().to(notices::publish))
                .route("/notices", web::get().to(notices::list))
                .route("/notices/{id}", web::delete().to(notices::withdraw))
                .route("/voice", web::get().to(crate::voice::speak))
                .route("/openapi.json", web::get().to(openapi::serve)),
        );
}

/// Who and where, from the request: `X-Operator` (staff number or system
/// name) and the peer address.
pub fn audit(
    req: &HttpRequest,
    engine: &Engine,
    default_operator: &str,
) -> Result<Audit, ApiError> {
    let operator = match req.headers().get("x-operator") {
        None => default_operator.to_string(),
        Some(v) => {
            let s = v.to_str().unwrap_or("").trim();
            if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) {
                return Err(ApiError::bad_request(
                    "invalid_operator",
                    "X-Operator must be 1-64 printable characters",
                ));
            }
            s.to_string()
        }
    };
    let source = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    Ok(Audit {
        operator,
        source,
        at: engine.clock.now(),
        reason: None,
    })
}

/// Reads a body up to `limit` bytes; more is a 413 with the JSON envelope.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request("unreadable_body", "the request body could not be read")
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Parses a JSON body: content type, syntax, then shape (with the failing
/// field's path). Also returns the canonical text (sorted keys) of the body.
pub fn parse_json<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &Bytes,
) -> Result<(T, String), ApiError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !ct.starts_with("application/json") && !ct.contains("+json") {
            return Err(ApiError::unsupported_media());
        }
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "missing_body",
            "a JSON body is required",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "malformed_json",
            "the body must be a JSON object",
        ));
    }
    let canonical = value.to_string();
    Ok((from_value(value)?, canonical))
}

/// Deserialises a JSON value, naming the failing field's path.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let code = if inner.starts_with("missing field") {
            "missing_field"
        } else if inner.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_field"
        };
        // A missing field's path is its parent; an unknown one's is itself.
        let field = if code == "missing_field" {
            let name = inner.split('`').nth(1).unwrap_or("").to_string();
            if path == "." || path.is_empty() {
                name
            } else {
                format!("{path}.{name}")
            }
        } else {
            path
        };
        ApiError::invalid(code, &field, inner)
    })
}

fn path_code(s: &str, what: &str) -> Result<(), ApiError> {
    if valid_code(s, 64) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &format!("invalid_{what}"),
            what,
            format!("{what} must be 1-64 letters, digits, '-', '_' or '.'"),
        ))
    }
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "the process lives")))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "database reachable and actors running"), (status = 503, description = "not ready")))]
async fn readyz(engine: web::Data<Engine>) -> HttpResponse {
    let db = engine.db.clone();
    let check = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        db.read(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("SELECT 1")?;
            Ok(())
        }),
    )
    .await;
    let db_ok = matches!(check, Ok(Ok(())));
    let actors_ok = engine.directory.rooms.iter().all(|a| a.connected())
        && engine.directory.queues.iter().all(|a| a.connected());
    let body = serde_json::json!({
        "status": if db_ok && actors_ok { "ready" } else { "not_ready" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "database_backend": engine.db.backend().as_str(),
        "actors": if actors_ok { "ok" } else { "stopped" },
    });
    if db_ok && actors_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[utoipa::path(put, path = "/api/v1/registrations/{visit_no}", tag = "HIS", params(("visit_no" = String, Path, description = "HIS visit serial (idempotency key)")), request_body = RegistrationBody, responses((status = 201, description = "created", body = RegistrationAnswer), (status = 200, description = "replaced or unchanged", body = RegistrationAnswer), (status = 409, description = "cancelled, or already in a queue with another department", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
async fn put_registration(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let audit = audit(&req, &engine, "his")?;
    let bytes = read_body(payload, BODY_LIMIT).await?;
    let (body, canonical): (RegistrationBody, String) = parse_json(&req, &bytes)?;
    let (outcome, answer) =
        service::put_registration(&engine, &visit_no, body, canonical, audit).await?;
    Ok(match outcome {
        UpsertOutcome::Created => HttpResponse::Created().json(answer),
        _ => HttpResponse::Ok().json(answer),
    })
}

#[utoipa::path(get, path = "/api/v1/registrations/{visit_no}", tag = "HIS", params(("visit_no" = String, Path)), responses((status = 200, body = VisitAnswer), (status = 404, body = ErrorBody)))]
async fn get_registration(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    Ok(HttpResponse::Ok().json(service::get_visit(&engine, &visit_no).await?))
}

#[utoipa::path(delete, path = "/api/v1/registrations/{visit_no}", tag = "HIS", params(("visit_no" = String, Path)), responses((status = 200, description = "cancelled (退号)", body = CancelAnswer), (status = 404, body = ErrorBody), (status = 409, description = "already finished", body = ErrorBody)))]
async fn delete_registration(
    req: HttpRequest,
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let audit = audit(&req, &engine, "his")?;
    Ok(HttpResponse::Ok().json(service::cancel(&engine, &visit_no, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/check-in", tag = "HIS", params(("visit_no" = String, Path)), responses((status = 200, description = "in the queue (签到); repeat gives the same ticket", body = CheckInAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn check_in(
    req: HttpRequest,
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let audit = audit(&req, &engine, "anonymous")?;
    Ok(HttpResponse::Ok().json(service::check_in(&engine, &visit_no, audit).await?))
}

/// Why a patient is called by name or brought back (optional; a default
/// reason is recorded when absent).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// 1-200 characters.
    pub reason: String,
}

/// The reason of an optional `{"reason": …}` body, or `default` when the
/// body is empty.
async fn optional_reason(
    req: &HttpRequest,
    payload: web::Payload,
    default: &str,
) -> Result<String, ApiError> {
    match optional_json::<ReasonBody>(req, payload).await? {
        None => Ok(default.to_string()),
        Some(body) => service::audit_reason(&body.reason),
    }
}

/// An optional JSON body: `None` when the request has none.
async fn optional_json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Option<T>, ApiError> {
    let bytes = read_body(payload, BODY_LIMIT).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(Some(parse_json::<T>(req, &bytes)?.0))
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/requeue", tag = "calling", params(("visit_no" = String, Path), ("X-Operator" = Option<String>, Header, description = "staff number")), request_body(content = Option<ReasonBody>, description = "optional: why (default 召回)"), responses((status = 200, description = "back in the queue, same ticket: after a missed call (过号召回) or with exam results (回诊, same doctor)", body = CheckInAnswer), (status = 404, body = ErrorBody), (status = 409, description = "no-show, not set aside, cancelled", body = ErrorBody)))]
async fn requeue(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let mut audit = audit(&req, &engine, "anonymous")?;
    audit.reason = Some(optional_reason(&req, payload, "召回").await?);
    Ok(HttpResponse::Ok().json(service::requeue(&engine, &visit_no, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/rooms/{room_code}/call/{visit_no}", tag = "calling", params(("room_code" = String, Path), ("visit_no" = String, Path), ("X-Operator" = Option<String>, Header, description = "staff number")), request_body(content = Option<ReasonBody>, description = "optional: why (default 指定叫号)"), responses((status = 200, description = "called by name, out of order (指定叫号); durable", body = RoomAnswer), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not waiting in a queue of this room, room paused/closed", body = ErrorBody)))]
async fn call_visit(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let (room, visit_no) = path.into_inner();
    let mut audit = audit(&req, &engine, "anonymous")?;
    audit.reason = Some(optional_reason(&req, payload, "指定叫号").await?);
    Ok(HttpResponse::Ok().json(service::call_visit(&engine, &room, &visit_no, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/visits/{visit_no}/transfer", tag = "calling", params(("visit_no" = String, Path)), request_body = service::TransferBody, responses((status = 200, description = "moved (转诊): waiting in the target queue, same ticket", body = CheckInAnswer), (status = 404, body = ErrorBody), (status = 409, description = "not waiting or called; already in that queue", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let audit = audit(&req, &engine, "anonymous")?;
    let bytes = read_body(payload, BODY_LIMIT).await?;
    let (body, _): (service::TransferBody, String) = parse_json(&req, &bytes)?;
    Ok(HttpResponse::Ok().json(service::transfer(&engine, &visit_no, body, audit).await?))
}

/// Why a nurse intervenes (recorded in the audit event).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct InterventionBody {
    /// 1-200 characters, e.g. "患者去做检查" / "行动不便".
    pub reason: String,
}

async fn intervention(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
    action: triage_actors::queue::Intervention,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let mut audit = audit(&req, &engine, "anonymous")?;
    let bytes = read_body(payload, BODY_LIMIT).await?;
    let (body, _): (InterventionBody, String) = parse_json(&req, &bytes)?;
    audit.reason = Some(service::audit_reason(&body.reason)?);
    Ok(HttpResponse::Ok().json(service::intervene(&engine, &visit_no, action, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/hold", tag = "calling", params(("visit_no" = String, Path), ("X-Operator" = Option<String>, Header, description = "staff number")), request_body = InterventionBody, responses((status = 200, description = "held (挂起): listed last, not called until released", body = InterventionAnswer), (status = 409, description = "not waiting", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hold(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    intervention(
        req,
        path,
        payload,
        engine,
        triage_actors::queue::Intervention::Hold,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/release", tag = "calling", params(("visit_no" = String, Path)), request_body = InterventionBody, responses((status = 200, description = "released (恢复): back in its place by the rules", body = InterventionAnswer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn release(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    intervention(
        req,
        path,
        payload,
        engine,
        triage_actors::queue::Intervention::Release,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/pin", tag = "calling", params(("visit_no" = String, Path)), request_body = InterventionBody, responses((status = 200, description = "pinned to the top (置顶)", body = InterventionAnswer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pin(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    intervention(
        req,
        path,
        payload,
        engine,
        triage_actors::queue::Intervention::Pin,
    )
    .await
}

/// Where a nurse moves a waiting patient (调整顺序), and why.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct MoveBody {
    /// 1 = next, counted in the general list (patients already sent to a
    /// room's short list not counted); 1-9999. The patient moves up with
    /// the line as patients ahead are called.
    pub position: i64,
    /// 1-200 characters.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/move", tag = "calling", params(("visit_no" = String, Path), ("X-Operator" = Option<String>, Header, description = "staff number")), request_body = MoveBody, responses((status = 200, description = "moved (调整顺序) to the position asked for; audited", body = InterventionAnswer), (status = 409, description = "not waiting", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_to(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let visit_no = path.into_inner();
    path_code(&visit_no, "visit_no")?;
    let mut audit = audit(&req, &engine, "anonymous")?;
    let bytes = read_body(payload, BODY_LIMIT).await?;
    let (body, _): (MoveBody, String) = parse_json(&req, &bytes)?;
    if !(1..=9999).contains(&body.position) {
        return Err(ApiError::invalid(
            "invalid_position",
            "position",
            "a position from 1 (next) to 9999",
        ));
    }
    audit.reason = Some(service::audit_reason(&body.reason)?);
    let action = triage_actors::queue::Intervention::Move(body.position as u32);
    Ok(HttpResponse::Ok().json(service::intervene(&engine, &visit_no, action, audit).await?))
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
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/rooms/{room_code}/{action}", tag = "calling", params(("room_code" = String, Path), ("action" = String, Path, description = "call-next, recall, skip, send-to-exam, finish, pause, resume or close"), ("X-Operator" = Option<String>, Header, description = "staff number")), request_body(content = Option<CloseBody>, description = "close only, optional"), responses((status = 200, description = "done, durable", body = RoomAnswer), (status = 404, body = ErrorBody), (status = 409, description = "room paused/closed, queue empty, no current patient", body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn room_action(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let (room, action) = path.into_inner();
    let cmd =
        match action.as_str() {
            "call-next" => RoomCommand::CallNext,
            "recall" => RoomCommand::Recall,
            "skip" => RoomCommand::Skip,
            "finish" => RoomCommand::Finish,
            "pause" => RoomCommand::Pause,
            "resume" => RoomCommand::Resume,
            "close" => RoomCommand::Close,
            "send-to-exam" => RoomCommand::SendForExam,
            _ => return Err(ApiError::not_found(
                "unknown_action",
                "room actions: call-next, recall, skip, send-to-exam, finish, pause, resume, close",
            )),
        };
    let audit = audit(&req, &engine, "anonymous")?;
    if cmd == RoomCommand::Close {
        let body = optional_json::<CloseBody>(&req, payload)
            .await?
            .unwrap_or(CloseBody {
                waiting: None,
                reason: None,
            });
        let redistribute = match body.waiting.as_deref() {
            None | Some("keep") => false,
            Some("redistribute") => true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "invalid_field",
                    "waiting",
                    "keep or redistribute",
                ))
            }
        };
        let reason = match &body.reason {
            Some(r) => service::audit_reason(r)?,
            None => "停诊转出".to_string(),
        };
        return Ok(HttpResponse::Ok()
            .json(service::close_room(&engine, &room, redistribute, reason, audit).await?));
    }
    Ok(HttpResponse::Ok().json(service::room_command(&engine, &room, cmd, audit).await?))
}

/// A room as the configuration API lists it.
#[derive(Serialize)]
struct RoomListing {
    code: String,
    name: String,
    department_code: String,
    doctor_code: Option<String>,
    queues: Vec<String>,
    status: String,
    current_ticket_no: Option<String>,
    waiting: usize,
}

fn room_listing(engine: &Engine, code: &str) -> Option<RoomListing> {
    let def = engine.hospital.room(code)?;
    let view = engine.directory.room_view(code, 0)?;
    Some(RoomListing {
        code: def.code.clone(),
        name: def.name.clone(),
        department_code: def.department.clone(),
        doctor_code: def.doctor.clone(),
        queues: def.queues.clone(),
        status: view.status.as_str().to_string(),
        current_ticket_no: view.current.map(|c| c.ticket_no),
        waiting: view.waiting,
    })
}

#[utoipa::path(get, path = "/api/v1/rooms", tag = "configuration", responses((status = 200, description = "rooms with status, current ticket and waiting count")))]
async fn list_rooms(engine: web::Data<Engine>) -> HttpResponse {
    let rooms: Vec<RoomListing> = engine
        .hospital
        .rooms
        .iter()
        .filter_map(|r| room_listing(&engine, &r.code))
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "rooms": rooms }))
}

#[utoipa::path(get, path = "/api/v1/rooms/{room_code}", tag = "configuration", params(("room_code" = String, Path)), responses((status = 200, description = "the room as screens show it (masked names)"), (status = 404, body = ErrorBody)))]
async fn get_room(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let view = engine
        .directory
        .room_view(&code, 10)
        .ok_or_else(|| ApiError::not_found("room_not_found", format!("no room {code:?}")))?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/api/v1/queues", tag = "configuration", responses((status = 200, description = "queues with their rules and waiting count")))]
async fn list_queues(engine: web::Data<Engine>) -> HttpResponse {
    let mut queues = Vec::with_capacity(engine.hospital.queues.len());
    for q in &engine.hospital.queues {
        // The rules in force (the API may have changed the configured ones).
        let rules = match engine.directory.queues.get(&q.code).map(|a| a.clone()) {
            Some(addr) => addr
                .send(triage_actors::queue::GetRules)
                .await
                .unwrap_or_else(|_| q.rules.clone()),
            None => q.rules.clone(),
        };
        queues.push(serde_json::json!({
            "code": q.code,
            "name": q.name,
            "department_code": q.department,
            "doctor_code": q.doctor,
            "prefix": q.prefix,
            "rules": rules,
            "waiting": engine.directory.queue_board(&q.code).waiting,
        }));
    }
    HttpResponse::Ok().json(serde_json::json!({ "queues": queues }))
}

#[utoipa::path(get, path = "/api/v1/queues/{queue_code}", tag = "calling", params(("queue_code" = String, Path)), responses((status = 200, description = "the waiting list in calling order, each entry with the rule that placed it", body = QueueAnswer), (status = 404, body = ErrorBody)))]
async fn get_queue(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    Ok(HttpResponse::Ok().json(service::list_queue(&engine, &code).await?))
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "configuration", responses((status = 200, description = "departments")))]
async fn list_departments(engine: web::Data<Engine>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "departments": engine.hospital.departments }))
}

#[utoipa::path(get, path = "/api/v1/screens", tag = "configuration", responses((status = 200, description = "screens with online status and last heartbeat")))]
async fn list_screens(engine: web::Data<Engine>) -> HttpResponse {
    let screens: Vec<_> = engine
        .hospital
        .screens
        .iter()
        .map(|s| {
            let p = engine.directory.presence(&s.code);
            serde_json::json!({
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "title": s.title,
                "rooms": s.rooms,
                "voice": s.voice,
                "online": p.sessions > 0,
                "sessions": p.sessions,
                "last_seen": p.last_seen,
                "url": format!("/screens/{}", s.code),
            })
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "screens": screens }))
}

/// A doctor's master data as HIS sends it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DoctorBody {
    name: String,
    department_code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    introduction: String,
    /// Base64 image (PNG, JPEG or WebP), optional.
    #[serde(default)]
    photo: Option<String>,
}

fn image_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[utoipa::path(put, path = "/api/v1/doctors/{doctor_code}", tag = "HIS", params(("doctor_code" = String, Path)), request_body = DoctorBody, responses((status = 201, description = "created"), (status = 200, description = "replaced"), (status = 400, description = "malformed body", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
async fn put_doctor(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    if !valid_code(&code, 32) {
        return Err(ApiError::invalid(
            "invalid_doctor_code",
            "doctor_code",
            "doctor codes are 1-32 letters, digits, '-', '_' or '.'",
        ));
    }
    let audit = audit(&req, &engine, "his")?;
    let bytes = read_body(payload, DOCTOR_BODY_LIMIT).await?;
    let (body, _): (DoctorBody, String) = parse_json(&req, &bytes)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(ApiError::invalid(
            "invalid_doctor_name",
            "name",
            "the doctor's name is required (at most 32 characters)",
        ));
    }
    if engine.hospital.department(&body.department_code).is_none() {
        return Err(ApiError::invalid(
            "unknown_department",
            "department_code",
            format!("no department {:?}", body.department_code),
        ));
    }
    if body.title.chars().count() > 32 || body.introduction.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "invalid_field",
            "introduction",
            "title at most 32, introduction at most 2000 characters",
        ));
    }
    let (photo, photo_mime) = match &body.photo {
        None => (None, None),
        Some(b64) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| ApiError::invalid("invalid_photo", "photo", "photo must be Base64"))?;
            if raw.len() > PHOTO_LIMIT {
                return Err(ApiError::invalid(
                    "invalid_photo",
                    "photo",
                    format!("photo is larger than {PHOTO_LIMIT} bytes"),
                ));
            }
            let mime = image_mime(&raw).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_photo",
                    "photo",
                    "photo must be a PNG, JPEG or WebP image",
                )
            })?;
            (Some(b64.trim().to_string()), Some(mime.to_string()))
        }
    };
    let row = DoctorRow {
        code: code.clone(),
        name: name.to_string(),
        department_code: body.department_code.clone(),
        title: body.title.trim().to_string(),
        introduction: body.introduction.trim().to_string(),
        photo,
        photo_mime,
        updated_at: audit.at.naive_utc(),
    };
    let view = doctor_view(&row);
    let created = engine
        .db
        .write(move |c| store::upsert_doctor(c, row, &audit))
        .await?;
    engine.directory.publish_doctor(view.clone());
    tracing::info!(doctor_code = %code, created, "doctor master data stored");
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[utoipa::path(get, path = "/api/v1/doctors", tag = "configuration", responses((status = 200, description = "doctors")))]
async fn list_doctors(engine: web::Data<Engine>) -> Result<HttpResponse, ApiError> {
    let rows = engine.db.read(store::list_doctors).await?;
    let list: Vec<_> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(doctor_view(r)).unwrap_or_default();
            v["department_code"] = serde_json::json!(r.department_code);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "doctors": list })))
}

#[utoipa::path(get, path = "/api/v1/doctors/{doctor_code}", tag = "configuration", params(("doctor_code" = String, Path)), responses((status = 200, description = "a doctor"), (status = 404, body = ErrorBody)))]
async fn get_doctor(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let c2 = code.clone();
    let row = engine
        .db
        .read(move |c| store::get_doctor(c, &c2))
        .await?
        .ok_or_else(|| ApiError::not_found("doctor_not_found", format!("no doctor {code:?}")))?;
    let mut v = serde_json::to_value(doctor_view(&row)).unwrap_or_default();
    v["department_code"] = serde_json::json!(row.department_code);
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(get, path = "/api/v1/doctors/{doctor_code}/photo", tag = "configuration", params(("doctor_code" = String, Path)), responses((status = 200, description = "the photo (PNG, JPEG or WebP)"), (status = 404, body = ErrorBody)))]
async fn doctor_photo(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let c2 = code.clone();
    let row = engine.db.read(move |c| store::get_doctor(c, &c2)).await?;
    let (Some(b64), Some(mime)) = row.map(|r| (r.photo, r.photo_mime)).unwrap_or((None, None))
    else {
        return Err(ApiError::not_found(
            "photo_not_found",
            format!("no photo for doctor {code:?}"),
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| ApiError::internal())?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::CACHE_CONTROL, "max-age=300"))
        .body(bytes))
}

/// Gives errors that actix raises itself (unknown route, wrong method, bad
/// path) the JSON envelope.
pub fn json_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let upgrade = res.status() == actix_web::http::StatusCode::SWITCHING_PROTOCOLS;
    if is_json || upgrade {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, message) = match status.as_u16() {
        404 => ("not_found", "no such resource"),
        405 => ("method_not_allowed", "this method is not allowed here"),
        413 => ("payload_too_large", "the request body is too large"),
        400 => ("bad_request", "the request is malformed"),
        503 => ("service_unavailable", "the service is unavailable"),
        s if s >= 500 => (
            "internal_error",
            "an internal error occurred; it has been logged",
        ),
        _ => ("http_error", "the request failed"),
    };
    let err = ApiError {
        status,
        code: code.to_string(),
        message: message.to_string(),
        field: None,
    };
    let (req, _) = res.into_parts();
    let resp: HttpResponse<BoxBody> = actix_web::ResponseError::error_response(&err);
    let res = ServiceResponse::new(req, resp).map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(res))
}
