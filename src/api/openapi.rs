//! The OpenAPI document, generated from the handlers' annotations and the
//! body types. Served at `/api/v1/openapi.json`, kept in `docs/openapi.json`
//! (`triage openapi > docs/openapi.json`); a test fails if they differ.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::engine::{
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
        super::health::healthz,
        super::health::readyz,
        super::registrations::put_registration,
        super::registrations::get_registration,
        super::registrations::delete_registration,
        super::registrations::check_in,
        super::registrations::requeue,
        super::registrations::hold,
        super::registrations::release,
        super::registrations::pin,
        super::registrations::move_to,
        super::rooms::room_action,
        super::rooms::call_visit,
        super::registrations::transfer,
        super::rooms::list_rooms,
        super::rooms::get_room,
        super::queues::list_queues,
        super::queues::get_queue,
        super::screens::list_departments,
        super::screens::list_screens,
        super::doctors::put_doctor,
        super::doctors::list_doctors,
        super::doctors::get_doctor,
        super::doctors::doctor_photo,
        super::queues::get_rules,
        super::queues::put_rules,
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
        crate::engine::doctors::DoctorBody,
        super::registrations::InterventionBody,
        super::registrations::MoveBody,
        super::registrations::ReasonBody,
        super::rooms::CloseBody,
        crate::rule_change::RuleChange,
        crate::rule_change::SessionInput,
        crate::engine::InterventionAnswer,
        crate::engine::TransferBody,
        super::queues::RulesBody,
        super::queues::RulesAnswer,
        crate::engine::notices::NoticeBody,
        crate::engine::notices::NoticeAnswer,
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
