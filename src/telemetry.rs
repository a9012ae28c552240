//! Logging set-up (tracing) and the rules logs follow: dotted field names,
//! units in names, and never a patient's name, ID number or phone — log
//! visit numbers and tickets instead (see `docs/LOGGING.md`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing. Log lines
/// go to standard error; standard output is for what a command prints on
/// purpose (demo credentials, keys shown once, reports). Colours only on a
/// terminal: a journal or a file gets plain text. `TRIAGE_LOG_FORMAT=json`
/// writes one JSON object per line (for a log collector: `timestamp`,
/// `level`, `fields`, `span` with the request's fields).
pub fn init() {
    let filter = EnvFilter::try_from_env("TRIAGE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let json = std::env::var("TRIAGE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
}

/// The span of every HTTP request: method, **route pattern** (never the
/// path as sent: a path carries what the client typed, a visit number, a
/// fault number, perhaps a name), peer address, status, request id and the
/// stable error code of a refusal. The default of `tracing-actix-web` logs
/// the whole target and the error's text, which quotes client values; its
/// error event is off (`default-features = false`) and this builder logs
/// one line per refused request carrying only the status and the code.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "[no route]".to_string());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.client_ip = %request.connection_info().peer_addr().unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            error.code = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };
        span.record("http.status_code", status.as_u16());
        span.record(
            "otel.status_code",
            if status.is_server_error() {
                "ERROR"
            } else {
                "OK"
            },
        );
        let Some(error) = error else { return };
        let code = error_code(error);
        span.record("error.code", code);
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::error!(
                    http.status_code = status.as_u16(),
                    error.code = code,
                    "request failed"
                );
            } else {
                tracing::info!(
                    http.status_code = status.as_u16(),
                    error.code = code,
                    "request refused"
                );
            }
        });
    }
}

/// The stable code of an error answer (`other` for an error that is not
/// one of ours: the HTTP layer's own refusals before our handlers).
fn error_code(error: &actix_web::Error) -> &'static str {
    error
        .as_error::<crate::api::error::ApiError>()
        .map_or("other", |e| e.error.code.as_str())
}
