//! The one API error type: `{"error": {"code", "message", "field"}}` with a
//! stable snake_case code. Client messages never carry database text; the
//! cause is logged (without personal data) instead.
//!
//! | helper | status |
//! | --- | --- |
//! | `bad_request` | 400 |
//! | `invalid` (a field fails validation) | 422 |
//! | `not_found` | 404 |
//! | `conflict` (state does not allow it) | 409 |
//! | `too_large` | 413 |
//! | `unsupported_media` | 415 |
//! | `unavailable` (database or engine down) | 503 |
//! | `internal` | 500 |

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use triage_actors::EngineError;

use crate::db::DbError;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A field failed validation (422), naming the field's JSON path.
    pub fn invalid(code: &str, field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_string()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {limit} bytes"),
        )
    }

    pub fn unsupported_media() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            message,
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; it has been logged",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(Body {
            error: Inner {
                code: &self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        })
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let code = e.code();
        match &e {
            EngineError::RoomNotOpen(s) => ApiError::conflict(
                code,
                format!("the room is {} (诊室{})", s.as_str(), s.label_zh()),
            ),
            EngineError::QueueEmpty => {
                ApiError::conflict(code, "no patient is waiting for this room (当前无候诊患者)")
            }
            EngineError::NoCurrentPatient => {
                ApiError::conflict(code, "the room has no current patient; call one first")
            }
            EngineError::NotWaiting(_) => {
                ApiError::conflict(code, "the visit is not waiting in this queue")
            }
            EngineError::TicketsExhausted => {
                ApiError::conflict(code, "ticket numbers for today are exhausted")
            }
            EngineError::TooEarly(opens) => ApiError::conflict(
                code,
                format!(
                    "too early for the appointment: check in from {} (预约签到时间未到)",
                    opens
                        .with_timezone(&crate::engine::shanghai())
                        .format("%H:%M")
                ),
            ),
            EngineError::InvalidRules {
                code,
                field,
                message,
            } => ApiError::invalid(code, field, message.clone()),
            EngineError::Journal(triage_actors::JournalError::Conflict { .. }) => {
                ApiError::conflict(code, "the visit changed meanwhile; reload and try again")
            }
            EngineError::Journal(triage_actors::JournalError::Unavailable(cause)) => {
                tracing::error!(error.cause = %cause, "journal unavailable");
                ApiError::unavailable("the database is unavailable; nothing was changed")
            }
            EngineError::Mailbox => {
                tracing::error!("engine actor unavailable");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    ..ApiError::internal()
                }
            }
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(code) => {
                let message = match code.as_str() {
                    "registration_cancelled" => "the registration was cancelled (已退号); register again with a new visit number",
                    "visit_already_in_queue" => "the visit is already in a queue; use transfer to change department or doctor",
                    _ => "the stored state does not allow this change",
                };
                ApiError::conflict(&code, message)
            }
            other => {
                tracing::error!(error.cause = %other, "database error");
                ApiError::unavailable("the database is unavailable; nothing was changed")
            }
        }
    }
}
