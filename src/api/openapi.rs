//! The OpenAPI document, generated from the handlers' annotations and the
//! body types. Served at `/api/v1/openapi.json`, kept in `docs/openapi.json`
//! (`triage openapi > docs/openapi.json`); a test fails if they differ.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::service::{
    AppointmentBody, CalledPatient, CancelAnswer, CheckInAnswer, ExamItem, PatientBody,
    QueueAnswer, RegistrationAnswer, RegistrationBody, RoomAnswer, VisitAnswer,
};

/// The error envelope of every 4xx/5xx answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error: a stable code, a message for people, the failing field.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "unknown_department")]
    pub code: String,
    pub message: String,
    #[schema(example = "department_code")]
    pub field: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Triage API",
        version = "1",
        description = "Hospital outpatient triage and queue calling (分诊叫号). Contract v1: HIS → Triage (registrations, check-in, doctors), staff → Triage (room commands, queues), configuration, health. Screens use the WebSocket `GET /ws/screens/{screen_code}` (see docs/API.md)."
    ),
    paths(
        super::healthz,
        super::readyz,
        super::put_registration,
        super::get_registration,
        super::delete_registration,
        super::check_in,
        super::requeue,
        super::hold,
        super::release,
        super::pin,
        super::move_to,
        super::room_action,
        super::call_visit,
        super::transfer,
        super::list_rooms,
        super::get_room,
        super::list_queues,
        super::get_queue,
        super::list_departments,
        super::list_screens,
        super::put_doctor,
        super::list_doctors,
        super::get_doctor,
        super::doctor_photo,
        super::rules::get,
        super::rules::put,
        super::notices::publish,
        super::notices::list,
        super::notices::withdraw,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        RegistrationBody,
        PatientBody,
        AppointmentBody,
        ExamItem,
        RegistrationAnswer,
        CheckInAnswer,
        CancelAnswer,
        RoomAnswer,
        CalledPatient,
        QueueAnswer,
        VisitAnswer,
        super::DoctorBody,
        super::InterventionBody,
        super::MoveBody,
        super::ReasonBody,
        super::CloseBody,
        crate::rule_change::RuleChange,
        crate::rule_change::SessionInput,
        crate::service::InterventionAnswer,
        crate::service::TransferBody,
        super::rules::RulesBody,
        super::rules::RulesAnswer,
        super::notices::NoticeBody,
        super::notices::NoticeAnswer,
    ))
)]
pub struct ApiDoc;

/// The document as pretty JSON (what `docs/openapi.json` holds).
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
