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

/// The path as a log line may carry it: as sent when it is plain ASCII;
/// when it carries percent-encoded text beyond ASCII (a path is the
/// client's text: it could be a name), only its length. The route pattern
/// is logged beside it either way.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let bytes = path.as_bytes();
    let beyond_ascii = bytes.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && bytes
                .get(i + 1)
                .is_some_and(|h| matches!(h, b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
    }) || !path.is_ascii();
    if beyond_ascii {
        std::borrow::Cow::Owned(format!(
            "[path of {} bytes with non-ASCII text withheld]",
            path.len()
        ))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
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
            http.target = %loggable_path(request.path()),
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

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_path_with_text_beyond_ascii_is_withheld() {
        assert_eq!(
            loggable_path("/api/v1/registrations/V-1"),
            "/api/v1/registrations/V-1"
        );
        assert_eq!(
            loggable_path("/api/v1/rooms/NK-02/d%20x"),
            "/api/v1/rooms/NK-02/d%20x"
        );
        let withheld = loggable_path("/api/v1/registrations/%E5%BC%A0%E4%B8%89");
        assert!(
            !withheld.contains('%') && withheld.contains("withheld"),
            "{withheld}"
        );
    }
}
