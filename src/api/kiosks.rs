//! Self-service check-in kiosks (自助报到机): devices with a token, like
//! screens. `GET /api/v1/kiosks/{code}` (what the kiosk page shows) and
//! `POST /api/v1/kiosks/{code}/check-in` (a scanned or typed visit number),
//! each with the device token in `X-Device-Token`. Answers and refusals
//! are in Chinese: a patient reads them. A refusal changes nothing.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::Json;
use crate::auth::Auth;
use crate::config::KioskDef;
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::VisitNo;

type Answer = Result<HttpResponse, ApiError>;

/// The header carrying a kiosk's device token.
pub const TOKEN_HEADER: &str = "x-device-token";

/// What a kiosk page shows before a patient comes.
#[derive(Serialize, ToSchema)]
pub struct KioskInfo {
    pub code: String,
    pub name: String,
    pub hospital: String,
    /// The departments it checks in (all of them for 通签), with names.
    pub departments: Vec<String>,
    /// Whether it checks in every department (通签).
    pub all_areas: bool,
}

/// A visit number scanned or typed at the kiosk.
#[derive(Deserialize, ToSchema)]
pub struct KioskCheckIn {
    /// The visit number (就诊号) on the registration slip.
    pub visit_no: String,
}

/// The ticket a kiosk shows and prints.
#[derive(Serialize, ToSchema)]
pub struct KioskTicket {
    pub visit_no: String,
    pub ticket_no: String,
    /// As public screens show it (张*三).
    pub masked_name: String,
    pub hospital: String,
    pub department: String,
    pub queue: String,
    /// The doctor of an expert queue (专家号).
    pub doctor: Option<String>,
    /// The rooms that call this queue.
    pub rooms: Vec<String>,
    pub position: usize,
    pub ahead: usize,
    pub estimated_wait_minutes: u32,
    /// Where to wait, in Chinese.
    pub wait_at: String,
    pub checked_in_at: DateTime<Utc>,
    /// False when the patient had already checked in (same ticket; not
    /// printed again).
    pub created: bool,
    /// The patient's own page (`/p/{token}`): the ticket's QR code opens it.
    pub patient_link: String,
    /// The same at the hospital's published address (`[patient]
    /// public_url`), when configured; else the kiosk uses its own.
    pub patient_url: Option<String>,
    /// The wait as a range, from the queue's forecast with the patient in
    /// it (none if it could not be made within a second).
    pub wait: Option<crate::engine::waits::WaitView>,
}

/// The kiosk `code` if the request carries its live device token.
fn kiosk<'a>(
    req: &HttpRequest,
    code: &str,
    engine: &'a Engine,
    auth: &Auth,
) -> Result<&'a KioskDef, Error> {
    let kiosk = engine
        .hospital()
        .kiosk(code)
        .ok_or_else(|| Error::new(ErrorCode::KioskNotFound, format!("no kiosk {code:?}")))?;
    let token = req
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if token.is_empty() || !auth.screen_token_ok(code, token) {
        return Err(Error::new(
            ErrorCode::Unauthenticated,
            "本机未授权：请管理员为本机发放设备令牌 (no valid device token)",
        ));
    }
    auth.note_kiosk_seen(code);
    Ok(kiosk)
}

fn department_name(engine: &Engine, code: &str) -> String {
    engine
        .hospital()
        .department(code)
        .map_or_else(|| code.to_string(), |d| d.name.clone())
}

#[utoipa::path(get, path = "/api/v1/kiosks/{code}", tag = "kiosks", params(("code" = String, Path)),
    responses((status = 200, description = "the kiosk", body = KioskInfo),
              (status = 401, description = "no valid device token", body = ErrorBody),
              (status = 404, description = "no such kiosk", body = ErrorBody)))]
pub async fn info(
    req: HttpRequest,
    path: web::Path<String>,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    let k = kiosk(&req, &path, &engine, &auth)?;
    let departments = match &k.departments {
        Some(list) => list.iter().map(|d| department_name(&engine, d)).collect(),
        None => engine
            .hospital()
            .departments
            .iter()
            .map(|d| d.name.clone())
            .collect(),
    };
    Ok(HttpResponse::Ok().json(KioskInfo {
        code: k.code.clone(),
        name: k.name.clone(),
        hospital: engine.hospital().name.clone(),
        departments,
        all_areas: k.departments.is_none(),
    }))
}

/// A refusal as the patient reads it (the code stays the API's): one
/// sentence per case, in the hospital's words, ending in one instruction.
fn refusal(e: Error, engine: &Engine, department: Option<&str>) -> Error {
    let text = match e.code {
        ErrorCode::VisitNotFound => "未找到该就诊号，请核对挂号单上的号码后重新扫描".to_string(),
        ErrorCode::InvalidVisitNo => "就诊号格式不正确，请核对挂号单上的号码后重新扫描".to_string(),
        // "预约日期是 YYYY-MM-DD，…" (another day) or "…请于 HH:MM 以后报到"
        // (today): the engine's own wording, said to the patient.
        ErrorCode::TooEarly => {
            let after = |marker: &str, n: usize| {
                e.message
                    .split(marker)
                    .nth(1)
                    .map(|t| t.chars().take(n).collect::<String>())
            };
            match (after("预约日期是 ", 10), after("请于 ", 5)) {
                (Some(day), _) => format!("您的预约日期是 {day}，请当天再来报到"),
                (None, Some(t)) => format!("预约时段未到，请于 {t} 后再来报到"),
                _ => "预约时间未到，请稍后再来报到".to_string(),
            }
        }
        ErrorCode::DayClosed => "本次挂号的门诊日已结束，请到挂号窗口重新挂号".to_string(),
        ErrorCode::RegistrationCancelled => "该挂号已退号，请到挂号窗口咨询".to_string(),
        ErrorCode::AlreadyCalled => "您已被叫号，请直接到诊室就诊".to_string(),
        ErrorCode::VisitClosed | ErrorCode::VisitNoShow => {
            "本次就诊已结束或已过号，请到分诊台咨询护士".to_string()
        }
        ErrorCode::WrongArea => {
            let name = department.map_or_else(String::new, |d| department_name(engine, d));
            format!("本机不办理{name}的报到，请到{name}分诊区报到")
        }
        // Anything else (the system busy or restarting, no ticket left):
        // never English to a patient.
        _ => "暂时无法报到，请到分诊台咨询护士".to_string(),
    };
    Error::new(e.code, format!("{text}。"))
}

#[utoipa::path(post, path = "/api/v1/kiosks/{code}/check-in", tag = "kiosks", operation_id = "kiosk_check_in", params(("code" = String, Path)), request_body = KioskCheckIn,
    responses((status = 200, description = "checked in (签到): the ticket to show and print; `created` false when already checked in (nothing changed)", body = KioskTicket),
              (status = 401, description = "no valid device token", body = ErrorBody),
              (status = 404, description = "no such kiosk or visit (Chinese message)", body = ErrorBody),
              (status = 409, description = "too early, a closed day, cancelled, already called, another area (wrong_area); Chinese message, nothing changed", body = ErrorBody),
              (status = 422, description = "a malformed visit number", body = ErrorBody)))]
pub async fn check_in(
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<KioskCheckIn>,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    let k = kiosk(&req, &path, &engine, &auth)?;
    let visit_no =
        VisitNo::parse(body.value.visit_no.trim()).map_err(|e| refusal(e.into(), &engine, None))?;
    let visit_no = engine.visit_no_as_registered(visit_no).await;
    let department = engine
        .department_of(&visit_no)
        .await
        .map_err(|e| refusal(e, &engine, None))?;
    if !k.serves(&department) {
        return Err(refusal(
            Error::new(ErrorCode::WrongArea, "another area's kiosk"),
            &engine,
            Some(&department),
        )
        .into());
    }
    let who = crate::engine::Acting::new(
        format!("kiosk:{}", k.code),
        crate::api::authenticate::source_of(&req),
    );
    let at = engine.now();
    let answer = engine
        .check_in(&visit_no, who)
        .await
        .map_err(|e| refusal(e, &engine, Some(&department)))?;
    let wait = engine.fresh_wait_of(&answer.queue_code, &visit_no).await;
    let queue = engine.hospital().queue(&answer.queue_code);
    let doctor = queue.and_then(|q| q.doctor.as_deref()).map(|d| {
        engine
            .directory()
            .doctor(d)
            .map_or_else(|| d.to_string(), |v| v.name)
    });
    // The rooms that call the queue now (a doctor may have signed in) and
    // can call: never a stopped, paused or unseated room.
    let rooms: Vec<String> = engine
        .hospital()
        .rooms
        .iter()
        .filter(|r| {
            engine
                .directory()
                .room_info(&r.code)
                .is_some_and(|i| i.draws_from.iter().any(|q| *q == answer.queue_code))
                && engine
                    .directory()
                    .room_view(&r.code, 0)
                    .is_some_and(|v| v.guidance.is_none())
        })
        .map(|r| r.name.clone())
        .collect();
    let masked = engine.masked_name_of(&visit_no).await?;
    let dept_name = department_name(&engine, &department);
    Ok(HttpResponse::Ok().json(KioskTicket {
        visit_no: answer.visit_no,
        ticket_no: answer.ticket_no,
        masked_name: masked,
        hospital: engine.hospital().name.clone(),
        wait_at: format!("请在{dept_name}候诊区等候，留意叫号屏和广播"),
        department: dept_name,
        queue: queue.map_or_else(|| answer.queue_code.clone(), |q| q.name.clone()),
        doctor,
        rooms,
        position: answer.position,
        ahead: answer.ahead,
        estimated_wait_minutes: answer.estimated_wait_minutes,
        checked_in_at: at,
        created: answer.created,
        patient_link: answer.patient_link,
        patient_url: answer.patient_url,
        wait,
    }))
}
