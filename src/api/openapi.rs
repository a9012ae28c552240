//! The OpenAPI document, generated from the handlers' annotations and the
//! body types. Served at `/api/v1/openapi.json`, kept in `docs/openapi.json`
//! (`triage openapi > docs/openapi.json`); a test fails if they differ.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::registrations::{AppointmentBody, ExamItem, PatientBody, RegistrationBody};
use crate::engine::{
    CalledPatient, CancelAnswer, CheckInAnswer, QueueAnswer, RegistrationAnswer, RoomAnswer,
    VisitAnswer,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Triage API",
        version = "1",
        description = "Hospital outpatient triage and queue calling (分诊叫号). Contract v1: HIS → Triage (registrations, check-in, doctors), staff → Triage (room commands, queues), configuration, health. Screens use the WebSocket `GET /ws/screens/{screen_code}` (see docs/API.md)."
    ),
    modifiers(&Credentials),
    paths(
        super::session::login,
        super::session::current,
        super::session::logout,
        super::session::change_password,
        super::health::healthz,
        super::health::readyz,
        super::registrations::put_registration,
        super::registrations::get_registration,
        super::registrations::delete_registration,
        super::registrations::check_in,
        super::appointments::put_appointment,
        super::appointments::get_appointment,
        super::appointments::delete_appointment,
        super::appointments::check_in,
        super::registrations::requeue,
        super::registrations::hold,
        super::registrations::release,
        super::registrations::pin,
        super::registrations::move_to,
        super::registrations::set_special,
        super::registrations::away,
        super::day::status,
        super::faults::list,
        super::faults::get,
        super::faults::report,
        super::faults::acknowledge,
        super::faults::resolve,
        super::faults::archive,
        super::schedules::day,
        super::schedules::put_day,
        super::schedules::put_entry,
        super::schedules::cancel_entry,
        super::rooms::sign_in,
        super::doctors::stop_clinic,
        super::doctors::stops_today,
        super::rooms::sign_out,
        super::health::version,
        super::kiosks::info,
        super::kiosk_devices::list,
        super::kiosk_devices::issue_token,
        super::kiosk_devices::revoke_token,
        super::kiosks::check_in,
        super::patient::visit,
        super::day::close,
        super::day::preview,
        super::rooms::room_action,
        super::rooms::call_visit,
        super::registrations::transfer,
        super::rooms::list_rooms,
        super::rooms::get_room,
        super::queues::list_queues,
        super::queues::get_queue,
        super::screens::list_departments,
        super::screens::list_screens,
        super::exports::waiting_lists_xlsx,
        super::admin::list_accounts,
        super::admin::add_account,
        super::admin::reset_password,
        super::admin::disable_account,
        super::admin::enable_account,
        super::admin::list_clients,
        super::admin::add_client,
        super::admin::revoke_client,
        super::screens::put_screen,
        super::screens::retire_screen,
        super::screens::issue_token,
        super::screens::revoke_token,
        super::doctors::put_doctor,
        super::doctors::put_doctors,
        super::doctors::integrity,
        super::doctors::list_doctors,
        super::doctors::get_doctor,
        super::doctors::doctor_photo,
        super::queues::get_rules,
        super::queues::put_rules,
        super::notices::publish,
        super::notices::list,
        super::notices::withdraw,
        super::results::put_result,
        super::results::visit_results,
        super::results::get_result,
        super::stats::workload,
        super::stats::indicators,
        super::stats::wait_calibration,
    ),
    components(schemas(
        crate::api::screens::ScreenBody,
        super::admin::AccountBody,
        super::admin::ClientBody,
        super::session::LoginBody,
        super::session::SessionAnswer,
        super::session::PasswordBody,
        crate::auth::StaffView,
        super::error::ErrorBody,
        super::error::ErrorDetail,
        RegistrationBody,
        PatientBody,
        AppointmentBody,
        ExamItem,
        RegistrationAnswer,
        super::appointments::AppointmentPutBody,
        crate::engine::appointments::AppointmentAnswer,
        crate::engine::appointments::AppointmentState,
        CheckInAnswer,
        CancelAnswer,
        RoomAnswer,
        CalledPatient,
        QueueAnswer,
        VisitAnswer,
        super::doctors::DoctorBody,
        super::doctors::DoctorEntry,
        super::doctors::DoctorsBody,
        crate::engine::doctors::DoctorsAnswer,
        crate::engine::doctors::Finding,
        crate::engine::doctors::Integrity,
        super::results::ExamReportBody,
        super::results::ExamImageBody,
        crate::engine::results::ExamReportStatus,
        crate::engine::results::ExamReportView,
        crate::engine::results::ExamImageView,
        crate::engine::results::ExamVersionView,
        crate::engine::results::Stored,
        super::results::ExamReportAnswer,
        super::results::VisitResultsAnswer,
        super::notices::NoticeList,
        crate::engine::stats::Dim,
        crate::engine::stats::Spread,
        crate::engine::stats::Figures,
        crate::engine::stats::Group,
        crate::engine::stats::Workload,
        crate::engine::stats::IndicatorBy,
        crate::engine::stats::Indicator,
        crate::engine::stats::Indicators,
        super::stats::CalibrationAnswer,
        crate::engine::backtest::Calibration,
        crate::engine::backtest::DepartmentScore,
        crate::engine::backtest::Score,
        super::registrations::InterventionBody,
        super::registrations::MoveBody,
        super::registrations::SpecialBody,
        crate::engine::SpecialAnswer,
        crate::engine::AwayVisit,
        super::registrations::AwayAnswer,
        crate::engine::day::DayAnswer,
        crate::alerts::FaultView,
        crate::alerts::FaultList,
        crate::alerts::TimelineStep,
        super::faults::ReportBody,
        super::faults::ResolveBody,
        super::schedules::DayBody,
        super::schedules::DayEntryBody,
        super::schedules::EntryBody,
        crate::engine::schedules::ScheduleEntry,
        crate::engine::schedules::ScheduleDay,
        crate::engine::schedules::ScheduleWriteAnswer,
        crate::engine::schedules::SwitchAnswer,
        crate::config::SessionDef,
        super::rooms::SignInBody,
        super::rooms::SignOutBody,
        crate::engine::seats::SeatAnswer,
        crate::engine::seats::StopClinicAnswer,
        crate::engine::seats::StopRecord,
        super::doctors::StopsAnswer,
        crate::engine::seats::AffectedVisit,
        super::doctors::StopClinicBody,
        super::health::VersionAnswer,
        super::kiosks::KioskInfo,
        super::kiosks::KioskCheckIn,
        super::kiosks::KioskTicket,
        crate::patient::PatientView,
        crate::patient::PatientStatus,
        crate::patient::PatientRoom,
        crate::engine::waits::WaitView,
        crate::engine::day::DayStatus,
        crate::engine::day::DayPreview,
        super::registrations::ReasonBody,
        super::rooms::CloseBody,
        crate::rule_change::RuleChange,
        crate::rule_change::SessionInput,
        crate::engine::InterventionAnswer,
        crate::api::registrations::TransferBody,
        super::queues::RulesBody,
        super::queues::RulesAnswer,
        crate::api::notices::NoticeBody,
        crate::engine::notices::NoticeAnswer,
    ))
)]
pub struct ApiDoc;

/// Operations anyone may call (no credentials): everything else answers 401
/// without them and 403 when the principal may not.
const PUBLIC: [&str; 5] = [
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/api/v1/voice",
    "/api/v1/doctors/{doctor_code}/photo",
];

/// Adds the two ways in (a HIS client's API key, a staff session cookie)
/// and, on every operation that needs them, the answers 401, 403 and 429.
struct Credentials;

impl utoipa::Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        add_security_schemes(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            for (method, op) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
            ]
            .into_iter()
            .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
            {
                // Names in the path: the pattern the server checks them by
                // (a generated client or fuzzer then sends what is valid).
                path_patterns(op, path);
                common_answers(op);
                access_answers(op, path, method, public);
            }
        }
        described(openapi);
    }
}

/// The two ways in (a HIS client's API key, a staff session cookie), a
/// kiosk's device token, and the first two required by default.
fn add_security_schemes(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{
        ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "his_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A HIS client's API key (triage client add). Clients that must sign also send X-Triage-Timestamp, X-Triage-Nonce and X-Triage-Signature (docs/security.md); X-Acting-Staff names the staff member a calling client acts for.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "staff_session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "triage_session",
            "A staff session (POST /api/v1/session). Writes also send X-CSRF-Token.",
        ))),
    );
    components.add_security_scheme(
        "device_token",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Device-Token",
            "A kiosk's device token (triage screen token --screen KIOSK-…, or /devices).",
        ))),
    );
    openapi.security = Some(vec![
        SecurityRequirement::new("his_key", Vec::<String>::new()),
        SecurityRequirement::new("staff_session", Vec::<String>::new()),
    ]);
}

/// An error answer: its description and the error envelope.
fn error(text: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(text)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// Each name in `path` gets the pattern the server checks it by.
fn path_patterns(op: &mut utoipa::openapi::path::Operation, path: &str) {
    for p in op.parameters.iter_mut().flatten() {
        if let utoipa::openapi::RefOr::T(p) = p {
            if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path) {
                if let Some(schema) = path_schema(path, &p.name) {
                    p.schema = Some(schema.into());
                }
            }
        }
    }
}

/// What every operation can answer as the server behaves: a name in the
/// path not found or invalid, a query parameter refused, a body refused
/// before it is read, an internal error, the database away.
fn common_answers(op: &mut utoipa::openapi::path::Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let in_path = params.iter().any(|p| {
        matches!(p, utoipa::openapi::RefOr::T(p)
            if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path))
    });
    let has_params = !params.is_empty();
    let has_body = op.request_body.is_some();
    let r = &mut op.responses.responses;
    // A name in the path is checked (422) before it is looked
    // up (404); query parameters that do not parse are 400.
    if in_path {
        r.entry("404".into()).or_insert_with(|| {
            error("what the path names does not exist (visit_not_found, room_not_found, queue_not_found, doctor_not_found, …)").into()
        });
    }
    if has_params {
        r.entry("422".into()).or_insert_with(|| {
            error("a name in the path or a query parameter is invalid (its code names it); nothing changed").into()
        });
        r.entry("400".into())
            .or_insert_with(|| error("a query parameter cannot be read (bad_request)").into());
    }
    // What every operation can answer as the server behaves:
    // a body refused before it is read, a name in the path or
    // a query parameter refused, the database away.
    if has_body {
        r.entry("400".into()).or_insert_with(|| {
            error("the body is not JSON, or empty (malformed_json, missing_body, unreadable_body); nothing changed").into()
        });
        r.entry("413".into())
            .or_insert_with(|| error("the body is too large (payload_too_large)").into());
        r.entry("415".into()).or_insert_with(|| {
            error("the body is not application/json (unsupported_media_type)").into()
        });
    }
    if has_body {
        r.entry("422".into()).or_insert_with(|| {
            error("a field is invalid (its code names it; field names the JSON path); nothing changed").into()
        });
    }
    r.entry("500".into()).or_insert_with(|| {
        error("an internal error (internal_error; the cause is logged, never shown)").into()
    });
    r.entry("503".into()).or_insert_with(|| {
        error("the database or the engine is unavailable (database_unavailable, engine_unavailable); nothing changed").into()
    });
}

/// The answers of access: a kiosk's device token, the operations open to
/// anyone, and otherwise 401, 403 and 429.
fn access_answers(
    op: &mut utoipa::openapi::path::Operation,
    path: &str,
    method: &str,
    public: bool,
) {
    use utoipa::openapi::security::SecurityRequirement;
    let r = &mut op.responses.responses;
    // Logging in, and logging out (which only ends the
    // caller's own session, if any), need no credentials.
    // A kiosk proves itself with its device token alone (its own page's
    // calls; managing kiosk tokens is a staff session's, as any call).
    if path.starts_with("/api/v1/kiosks/") && !path.ends_with("/token") {
        op.security = Some(vec![SecurityRequirement::new(
            "device_token",
            Vec::<String>::new(),
        )]);
        r.entry("401".into())
            .or_insert_with(|| error("no or an unknown device token (unauthenticated)").into());
        sent_along(r);
        return;
    }
    let open = public || (path == "/api/v1/session" && (method == "post" || method == "delete"));
    if open {
        op.security = Some(vec![SecurityRequirement::default()]);
        if path.starts_with("/api/v1/") {
            sent_along(r);
        }
        return;
    }
    if path != "/api/v1/session" {
        r.entry("401".into()).or_insert_with(|| {
            error("no or bad credentials (unauthenticated, bad_credentials, session_expired, bad_signature, stale_request, replayed_request, signature_required)").into()
        });
        r.entry("403".into()).or_insert_with(|| {
            error("not allowed for this role, scope, room or department (forbidden), a page write without its CSRF token (csrf_failed), or a password to change first (password_change_required); nothing changed").into()
        });
    }
    r.entry("429".into()).or_insert_with(|| {
        error("over the client's rate limit (too_many_requests); see Retry-After").into()
    });
}

/// What an operation that needs no credentials (or a kiosk's device token)
/// still answers when a client sends credentials along: every request under
/// `/api/v1` goes through the same check of what it carries.
fn sent_along(
    r: &mut std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>>,
) {
    r.entry("401".into()).or_insert_with(|| {
        error("credentials sent along were refused (bad_credentials, session_expired, bad_signature, stale_request, replayed_request, signature_required)").into()
    });
    r.entry("403".into()).or_insert_with(|| {
        error("credentials sent along name a staff member the client may not act for (forbidden), or a page write without its CSRF token (csrf_failed); nothing changed").into()
    });
    r.entry("429".into()).or_insert_with(|| {
        error("a HIS client's credentials sent along, over its rate limit (too_many_requests); see Retry-After").into()
    });
}

/// Every answer has a description (OpenAPI requires one): an answer a
/// handler names without one gets the common meaning of its status.
fn described(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            for (status, answer) in op.responses.responses.iter_mut() {
                if let utoipa::openapi::RefOr::T(a) = answer {
                    if a.description.trim().is_empty() {
                        a.description = meaning(status).to_string();
                    }
                }
            }
        }
    }
}

/// What an answer of `status` means in this API.
fn meaning(status: &str) -> &'static str {
    match status {
        "200" => "done; the body is the answer",
        "201" => "created",
        "204" => "done; no body",
        "400" => "the request cannot be read (bad_request, malformed_json); nothing changed",
        "401" => "no or bad credentials (unauthenticated, bad_credentials, session_expired, bad_signature, stale_request, replayed_request, signature_required)",
        "403" => "not allowed for this role, scope, room or department (forbidden); nothing changed",
        "404" => "what the path names does not exist (its code names what); nothing changed",
        "409" => "the current state does not allow it (its code says why); nothing changed",
        "413" => "the body is too large (payload_too_large)",
        "415" => "the body is not application/json (unsupported_media_type)",
        "422" => "a field or a name in the path is invalid (its code names it; field names the JSON path); nothing changed",
        "429" => "over the rate limit (too_many_requests); see Retry-After",
        "500" => "an internal error (internal_error; the cause is logged, never shown)",
        "503" => "the database or the engine is unavailable (database_unavailable, engine_unavailable); nothing changed",
        _ => "an answer of this status",
    }
}

/// The schema of a name in the path, as `crate::domain` checks it.
fn path_schema(path: &str, name: &str) -> Option<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let code = |max: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^[A-Za-z0-9._-]{{1,{max}}}$")))
            .min_length(Some(1))
            .max_length(Some(max))
            .build()
            .into()
    };
    Some(match name {
        // Accounts' and doctors' codes are at most 32 long.
        "code" if path.starts_with("/api/v1/accounts/") || path.starts_with("/api/v1/doctors/") => {
            code(32)
        }
        "visit_no" | "appointment_id" | "room_code" | "queue_code" | "screen_code"
        | "report_id" | "code" | "session" => code(64),
        "doctor_code" => code(32),
        "name" if path.starts_with("/api/v1/clients/") => code(32),
        "date" => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(super::openapi_rules::DATE))
            .build()
            .into(),
        "action" => ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([
                "call-next",
                "recall",
                "skip",
                "send-to-exam",
                "finish",
                "pause",
                "resume",
                "close",
            ]))
            .build()
            .into(),
        _ => return None,
    })
}

/// The document as pretty JSON (what `docs/openapi.json` holds): the
/// types' schemas with the rules of [`super::openapi_rules`].
pub fn document() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let missing = super::openapi_rules::apply(&mut doc);
    if !missing.is_empty() {
        tracing::error!(
            ?missing,
            "API document rules name fields the document lacks"
        );
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
