//! The REST API (`/api/v1`, contract v1) and health endpoints: the HTTP
//! edge of the engine. Routes are registered in one place, [`configure`];
//! one file per resource, one short handler per operation. Bodies and the
//! calling operator come through the extractors of [`extract`]; every
//! failure is the JSON error envelope of [`error::ApiError`], and an
//! `ErrorHandlers` middleware gives the same envelope to errors raised by
//! actix itself (404, 405).

pub mod admin;
pub mod appointments;
pub mod authenticate;
pub mod day;
pub mod doctors;
pub mod error;
pub mod exports;
pub mod extract;
pub mod faults;
pub mod fields;
pub mod health;
pub mod kiosk_devices;
pub mod kiosks;
pub mod metrics;
pub mod notices;
pub mod openapi;
pub mod openapi_rules;
pub mod patient;
pub mod queues;
pub mod registrations;
pub mod results;
pub mod rooms;
pub mod schedules;
pub mod screens;
pub mod session;
pub mod stats;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::web;
use actix_web::HttpResponse;
use actix_web::Scope;

use error::ApiError;
use triage_ground::error::{Error, ErrorCode};

/// Registers every route: health and metrics, the fault pages, and the
/// API's areas under `/api/v1` (in this order: a request takes the first
/// route that matches), all behind the authentication middleware.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let areas: [fn(Scope) -> Scope; 9] = [
        session_routes,
        registration_routes,
        kiosk_and_fault_routes,
        schedule_routes,
        room_routes,
        account_routes,
        queue_routes,
        doctor_routes,
        screen_routes,
    ];
    let api = areas
        .into_iter()
        .fold(web::scope("/api/v1"), |scope, area| area(scope));
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/ack/{id}", web::get().to(faults::ack_page))
        .route("/ack/{id}", web::post().to(faults::ack_confirm))
        .service(api.wrap(actix_web::middleware::from_fn(
            crate::api::authenticate::authenticate,
        )));
}

/// The session: sign in and out, who is signed in, a new password.
fn session_routes(scope: Scope) -> Scope {
    scope
        .route("/session", web::post().to(session::login))
        .route("/session", web::get().to(session::current))
        .route("/session", web::delete().to(session::logout))
        .route(
            "/session/password",
            web::post().to(session::change_password),
        )
}

/// Registrations and appointments from HIS, and the patients away.
fn registration_routes(scope: Scope) -> Scope {
    scope
        .route(
            "/registrations/{visit_no}",
            web::put().to(registrations::put_registration),
        )
        .route(
            "/appointments/{appointment_id}",
            web::put().to(appointments::put_appointment),
        )
        .route(
            "/appointments/{appointment_id}",
            web::get().to(appointments::get_appointment),
        )
        .route(
            "/appointments/{appointment_id}",
            web::delete().to(appointments::delete_appointment),
        )
        .route(
            "/appointments/{appointment_id}/check-in",
            web::post().to(appointments::check_in),
        )
        .route(
            "/registrations/{visit_no}",
            web::get().to(registrations::get_registration),
        )
        .route(
            "/registrations/{visit_no}",
            web::delete().to(registrations::delete_registration),
        )
        .route(
            "/registrations/{visit_no}/check-in",
            web::post().to(registrations::check_in),
        )
        .route(
            "/registrations/{visit_no}/requeue",
            web::post().to(registrations::requeue),
        )
        .route(
            "/registrations/{visit_no}/hold",
            web::post().to(registrations::hold),
        )
        .route(
            "/registrations/{visit_no}/release",
            web::post().to(registrations::release),
        )
        .route(
            "/registrations/{visit_no}/pin",
            web::post().to(registrations::pin),
        )
        .route(
            "/registrations/{visit_no}/special",
            web::put().to(registrations::set_special),
        )
        .route(
            "/registrations/{visit_no}/move",
            web::post().to(registrations::move_to),
        )
        .route("/visits/away", web::get().to(registrations::away))
}

/// The kiosks, the version and the fault records.
fn kiosk_and_fault_routes(scope: Scope) -> Scope {
    scope
        .route("/kiosks", web::get().to(kiosk_devices::list))
        .route(
            "/kiosks/{code}/token",
            web::post().to(kiosk_devices::issue_token),
        )
        .route(
            "/kiosks/{code}/token",
            web::delete().to(kiosk_devices::revoke_token),
        )
        .route("/kiosks/{code}", web::get().to(kiosks::info))
        .route("/kiosks/{code}/check-in", web::post().to(kiosks::check_in))
        .route("/patient/{token}", web::get().to(patient::visit))
        .route("/version", web::get().to(health::version))
        .route("/faults", web::get().to(faults::list))
        .route("/faults", web::post().to(faults::report))
        .route("/faults/{id}", web::get().to(faults::get))
        .route(
            "/faults/{id}/acknowledge",
            web::post().to(faults::acknowledge),
        )
        .route("/faults/{id}/resolve", web::post().to(faults::resolve))
        .route("/faults/{id}/archive", web::post().to(faults::archive))
}

/// Schedules, the service day, transfers.
fn schedule_routes(scope: Scope) -> Scope {
    scope
        .route("/schedules", web::get().to(schedules::day))
        .route("/schedules/{date}", web::put().to(schedules::put_day))
        .route(
            "/schedules/{date}/{session}/{room}",
            web::put().to(schedules::put_entry),
        )
        .route(
            "/schedules/{date}/{session}/{room}",
            web::delete().to(schedules::cancel_entry),
        )
        .route("/day", web::get().to(day::status))
        .route("/day/close", web::post().to(day::close))
        .route("/day/preview", web::get().to(day::preview))
        .route(
            "/visits/{visit_no}/transfer",
            web::post().to(registrations::transfer),
        )
}

/// Rooms and their commands.
fn room_routes(scope: Scope) -> Scope {
    scope
        .route("/rooms", web::get().to(rooms::list_rooms))
        .route("/rooms/{room}", web::get().to(rooms::get_room))
        .route("/rooms/{room}/sign-in", web::post().to(rooms::sign_in))
        .route("/rooms/{room}/sign-out", web::post().to(rooms::sign_out))
        .route("/rooms/{room}/{action}", web::post().to(rooms::room_action))
        .route(
            "/rooms/{room}/call/{visit_no}",
            web::post().to(rooms::call_visit),
        )
}

/// Staff accounts and HIS clients.
fn account_routes(scope: Scope) -> Scope {
    scope
        .route("/accounts", web::get().to(admin::list_accounts))
        .route("/accounts", web::post().to(admin::add_account))
        .route(
            "/accounts/{code}/password",
            web::post().to(admin::reset_password),
        )
        .route(
            "/accounts/{code}/disable",
            web::post().to(admin::disable_account),
        )
        .route(
            "/accounts/{code}/enable",
            web::post().to(admin::enable_account),
        )
        .route("/clients", web::get().to(admin::list_clients))
        .route("/clients", web::post().to(admin::add_client))
        .route("/clients/{name}", web::delete().to(admin::revoke_client))
}

/// Waiting lists, queues and their rules, departments, statistics, results.
fn queue_routes(scope: Scope) -> Scope {
    scope
        .route(
            "/waiting-lists.xlsx",
            web::get().to(exports::waiting_lists_xlsx),
        )
        .route("/queues", web::get().to(queues::list_queues))
        .route("/queues/{code}", web::get().to(queues::get_queue))
        .route("/queues/{code}/rules", web::get().to(queues::get_rules))
        .route("/queues/{code}/rules", web::put().to(queues::put_rules))
        .route("/departments", web::get().to(screens::list_departments))
        .route("/stats/workload", web::get().to(stats::workload))
        .route("/stats/indicators", web::get().to(stats::indicators))
        .route(
            "/stats/wait-calibration",
            web::get().to(stats::wait_calibration),
        )
        .route("/results", web::get().to(results::visit_results))
        .route("/results/{report_id}", web::put().to(results::put_result))
        .route("/results/{report_id}", web::get().to(results::get_result))
}

/// Doctors, their integrity, photos and stop-clinics.
fn doctor_routes(scope: Scope) -> Scope {
    scope
        .route("/doctors", web::get().to(doctors::list_doctors))
        .route("/doctors", web::put().to(doctors::put_doctors))
        .route("/doctors/integrity", web::get().to(doctors::integrity))
        .route("/doctors/{code}", web::put().to(doctors::put_doctor))
        .route("/doctors/{code}", web::get().to(doctors::get_doctor))
        .route("/stop-clinics", web::get().to(doctors::stops_today))
        .route(
            "/doctors/{code}/stop-clinic",
            web::post().to(doctors::stop_clinic),
        )
        .route(
            "/doctors/{code}/photo",
            web::get().to(doctors::doctor_photo),
        )
}

/// Screens and their tokens, notices, voice, the OpenAPI document.
fn screen_routes(scope: Scope) -> Scope {
    scope
        .route("/screens", web::get().to(screens::list_screens))
        .route("/screens/{code}", web::put().to(screens::put_screen))
        .route("/screens/{code}", web::delete().to(screens::retire_screen))
        .route(
            "/screens/{code}/token",
            web::post().to(screens::issue_token),
        )
        .route(
            "/screens/{code}/token",
            web::delete().to(screens::revoke_token),
        )
        .route("/notices", web::post().to(notices::publish))
        .route("/notices", web::get().to(notices::list))
        .route("/notices/{id}", web::delete().to(notices::withdraw))
        .route("/voice", web::get().to(crate::voice::speak))
        .route("/openapi.json", web::get().to(openapi::serve))
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
        404 => (ErrorCode::NotFound, "no such resource"),
        405 => (
            ErrorCode::MethodNotAllowed,
            "this method is not allowed here",
        ),
        413 => (ErrorCode::PayloadTooLarge, "the request body is too large"),
        503 => (ErrorCode::ServiceUnavailable, "the service is unavailable"),
        s if s >= 500 => (
            ErrorCode::InternalError,
            "an internal error occurred; it has been logged",
        ),
        _ => (ErrorCode::BadRequest, "the request is malformed"),
    };
    let err = ApiError::with_status(status, Error::new(code, message));
    let (req, _) = res.into_parts();
    let resp: HttpResponse<BoxBody> = actix_web::ResponseError::error_response(&err);
    let res = ServiceResponse::new(req, resp).map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(res))
}

/// The documented paths (OpenAPI) and the methods each takes.
static DOCUMENTED: std::sync::LazyLock<Vec<(actix_web::dev::ResourceDef, Vec<String>)>> =
    std::sync::LazyLock::new(|| {
        let doc: serde_json::Value = serde_json::from_str(&openapi::document()).unwrap_or_default();
        doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, item)| {
                        let methods = item
                            .as_object()
                            .map(|m| {
                                m.keys()
                                    .filter(|k| {
                                        ["get", "put", "post", "delete", "patch"]
                                            .contains(&k.as_str())
                                    })
                                    .map(|k| k.to_uppercase())
                                    .collect()
                            })
                            .unwrap_or_default();
                        (actix_web::dev::ResourceDef::new(path.as_str()), methods)
                    })
                    .collect()
            })
            .unwrap_or_default()
    });

/// No route took the request: 405 with `Allow` when the API documents
/// this path for other methods, else 404 — both as JSON errors.
pub async fn no_route(req: actix_web::HttpRequest) -> HttpResponse {
    // The most specific documented path that matches (a fixed segment
    // wins over a `{name}`, as the router decides).
    let matching: Vec<&(actix_web::dev::ResourceDef, Vec<String>)> = DOCUMENTED
        .iter()
        .filter(|(def, _)| def.is_match(req.path()))
        .collect();
    let fewest = matching
        .iter()
        .map(|(def, _)| def.pattern().map_or(0, |p| p.matches('{').count()))
        .min();
    let mut allowed: Vec<String> = matching
        .iter()
        .filter(|(def, _)| Some(def.pattern().map_or(0, |p| p.matches('{').count())) == fewest)
        .flat_map(|(_, m)| m.iter().cloned())
        .collect();
    allowed.sort();
    allowed.dedup();
    if allowed.is_empty() {
        let err = ApiError::from(Error::new(ErrorCode::NotFound, "no such resource"));
        return actix_web::ResponseError::error_response(&err);
    }
    let err = ApiError::from(Error::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed here; allowed: {}",
            req.method(),
            allowed.join(", ")
        ),
    ));
    let mut resp = actix_web::ResponseError::error_response(&err);
    if let Ok(v) = header::HeaderValue::from_str(&allowed.join(", ")) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}
