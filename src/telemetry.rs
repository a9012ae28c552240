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

/// The span of every HTTP request: method, route, **path without the query
/// string** (a query may carry an announcement's text, which names the
/// patient), status, request id and the error. The default of
/// `tracing-actix-web` logs the whole target.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_default(),
            http.target = %request.path(),
            http.client_ip = %request.connection_info().peer_addr().unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
