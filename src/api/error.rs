//! The HTTP face of [`Error`]: the status of every [`ErrorCode`] (the one
//! table of it) and the JSON envelope `{"error": {"code", "message",
//! "field"}}`. Client messages never carry database text; the cause is
//! logged (without personal data) where the error is made.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use triage_actors::EngineError;

use crate::db::DbError;
use triage_ground::error::{Error, ErrorCode};

/// The HTTP status of each code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        MalformedJson | MissingBody | UnreadableBody | InvalidOperator | BadRequest => {
            StatusCode::BAD_REQUEST
        }
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Unauthenticated | BadCredentials | AccountLocked | TotpRequired | SessionExpired
        | SignatureRequired | BadSignature | StaleRequest | ReplayedRequest => {
            StatusCode::UNAUTHORIZED
        }
        Forbidden | CsrfFailed | PasswordChangeRequired | OriginNotAllowed => StatusCode::FORBIDDEN,
        TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        NotFound | VisitNotFound | RoomNotFound | QueueNotFound | ScreenNotFound
        | DoctorNotFound | PhotoNotFound | NoticeNotFound | UnknownAction | KioskNotFound
        | ScheduleNotFound | FaultNotFound | ReportNotFound | PatientLinkExpired => {
            StatusCode::NOT_FOUND
        }
        MissingField
        | UnknownField
        | InvalidField
        | InvalidVisitNo
        | InvalidPatientId
        | InvalidPatientName
        | InvalidSex
        | InvalidBirthDate
        | UnknownDepartment
        | InvalidDoctorCode
        | InvalidVisitType
        | InvalidAppointment
        | UnknownSpecialTag
        | InvalidExamItem
        | InvalidSequenceNo
        | InvalidDoctorName
        | InvalidPhoto
        | InvalidImage
        | InvalidVoiceText
        | InvalidReason
        | InvalidPosition
        | InvalidRule
        | InvalidTransferTarget
        | UnknownQueue
        | UnknownRoom
        | UnknownSession
        | InvalidDate
        | NoDoctorQueue
        | InvalidNoticeText
        | InvalidNoticeLevel
        | InvalidScreens
        | UnknownScreen
        | InvalidExpiry
        | InvalidNoticeStart
        | WeakPassword
        | InvalidAccount
        | InvalidVersion => StatusCode::UNPROCESSABLE_ENTITY,
        TooEarly
        | OwnAccount
        | NameTaken
        | VisitNotWaitingHere
        | SameQueue
        | VisitNotWaiting
        | VisitNoShow
        | NotCheckedIn
        | RegistrationCancelled
        | AppointmentCancelled
        | VersionConflict
        | VisitNoTaken
        | AppointmentInQueue
        | VisitAlreadyInQueue
        | AlreadyCalled
        | VisitClosed
        | DayClosed
        | WrongArea
        | NotADoctor
        | WrongDepartment
        | DoctorElsewhere
        | NotScheduled
        | DoctorDoubleBooked
        | FaultState
        | NoDoctorHere
        | RoomPaused
        | DoctorOnBreak
        | RoomClosed
        | QueueEmpty
        | NoCurrentPatient
        | StateConflict
        | NoQueue
        | TicketsExhausted => StatusCode::CONFLICT,
        DatabaseUnavailable | EngineUnavailable | ServiceUnavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as the API answers it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: Error,
    /// Seconds to wait before trying again (429: the `Retry-After` header).
    pub retry_after: Option<u64>,
}

/// The error envelope of every 4xx/5xx answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error: a stable code, a message for people, the failing field.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "unknown_department")]
    pub code: String,
    pub message: String,
    #[schema(example = "department_code")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with a status of its own (what actix itself answered).
    pub fn with_status(status: StatusCode, error: Error) -> Self {
        ApiError {
            status,
            error,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE)
                .then_some(RETRY_AFTER_UNAVAILABLE),
        }
    }

    /// 429 `too_many_requests`, to be tried again after `seconds`.
    pub fn too_many(message: impl Into<String>, seconds: u64) -> Self {
        ApiError {
            retry_after: Some(seconds.max(1)),
            ..Error::new(ErrorCode::TooManyRequests, message).into()
        }
    }
}

/// When a client may try again after a 503 (the database or the service
/// unavailable): HIS and the pages retry their idempotent calls then.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 5;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = status_of(error.code);
        ApiError {
            status,
            error,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE)
                .then_some(RETRY_AFTER_UNAVAILABLE),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Error::from(e).into()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Error::from(e).into()
    }
}

impl From<triage_ground::ids::BadCode> for ApiError {
    fn from(e: triage_ground::ids::BadCode) -> Self {
        Error::from(e).into()
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        Error::from(EngineError::from(e)).into()
    }
}

/// What a log line may say of a message: the client's text quoted in it
/// (`"…"` or `` `…` ``: a value or a field name the client sent, which could
/// be a name) is withheld when it goes beyond ASCII; the product's own words
/// stay. The client still gets the whole message.
pub fn loggable_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted: Option<(char, String)> = None;
    for c in message.chars() {
        match &mut quoted {
            Some((q, text)) if c == *q => {
                let shown = if text.is_ascii() {
                    text.as_str()
                } else {
                    "…"
                };
                out.push(*q);
                out.push_str(shown);
                out.push(c);
                quoted = None;
            }
            Some((_, text)) => text.push(c),
            None if c == '"' || c == '`' => quoted = Some((c, String::new())),
            None => out.push(c),
        }
    }
    if let Some((q, text)) = quoted {
        out.push(q);
        out.push_str(if text.is_ascii() { &text } else { "…" });
    }
    out
}

/// Where an error is formatted (a test's failure, a debug print), it shows
/// the status, the code, the field and the loggable message. The request
/// log records only the status and the code (`telemetry::RequestSpan`).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}: {})",
            self.status.as_u16(),
            self.error.code,
            loggable_message(&self.error.message)
        )
    }
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status.as_u16())
            .field("code", &self.error.code)
            .field("field", &self.error.field)
            .field("message", &loggable_message(&self.error.message))
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            answer.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        answer.json(ErrorBody {
            error: ErrorDetail {
                code: self.error.code.as_str().to_string(),
                message: self.error.message.clone(),
                field: self.error.field.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_message;

    #[test]
    fn quoted_client_text_beyond_ascii_is_withheld_from_logs() {
        assert_eq!(loggable_message(r#"no room "NK-09""#), r#"no room "NK-09""#);
        assert_eq!(
            loggable_message(r#"no department "张三""#),
            r#"no department "…""#
        );
        assert_eq!(
            loggable_message("unknown field `姓名`, expected `name`"),
            "unknown field `…`, expected `name`"
        );
        assert_eq!(
            loggable_message("已退号 (registration_cancelled)"),
            "已退号 (registration_cancelled)"
        );
    }
}
