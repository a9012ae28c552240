//! What Triage refuses or fails with, independent of HTTP: one [`Error`]
//! type carrying one stable [`ErrorCode`] (the snake_case strings of the
//! API contract), a message safe to show a user, and the failing field's
//! JSON path when there is one. A code that does not parse converts here;
//! the engine's and the database's errors convert where they are made
//! (the server's `engine` and `db`); the HTTP status of each code is
//! decided in the server's `api/error.rs` and nowhere else.

use crate::ids::{BadCode, CodeKind};

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// Every stable error code. `docs/API.md` lists exactly these (a
        /// test checks it).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable snake_case text of the contract.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    // The request itself.
    MalformedJson => "malformed_json",
    MissingBody => "missing_body",
    UnreadableBody => "unreadable_body",
    InvalidOperator => "invalid_operator",
    BadRequest => "bad_request",
    PayloadTooLarge => "payload_too_large",
    /// The request's head (its URL and headers) is larger than the HTTP
    /// layer reads (431).
    HeadTooLarge => "request_head_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    MethodNotAllowed => "method_not_allowed",
    // Who is calling (401): no credentials, wrong ones, or no longer valid.
    Unauthenticated => "unauthenticated",
    BadCredentials => "bad_credentials",
    AccountLocked => "account_locked",
    TotpRequired => "totp_required",
    SessionExpired => "session_expired",
    SignatureRequired => "signature_required",
    BadSignature => "bad_signature",
    StaleRequest => "stale_request",
    ReplayedRequest => "replayed_request",
    // Not allowed (403): the role, scope or place does not allow it.
    Forbidden => "forbidden",
    CsrfFailed => "csrf_failed",
    PasswordChangeRequired => "password_change_required",
    OriginNotAllowed => "origin_not_allowed",
    // Too many at once (429, with Retry-After).
    TooManyRequests => "too_many_requests",
    // Something named does not exist.
    NotFound => "not_found",
    VisitNotFound => "visit_not_found",
    RoomNotFound => "room_not_found",
    QueueNotFound => "queue_not_found",
    ScreenNotFound => "screen_not_found",
    DoctorNotFound => "doctor_not_found",
    PhotoNotFound => "photo_not_found",
    NoticeNotFound => "notice_not_found",
    UnknownAction => "unknown_action",
    // A field fails validation (nothing changed).
    MissingField => "missing_field",
    UnknownField => "unknown_field",
    InvalidField => "invalid_field",
    InvalidVisitNo => "invalid_visit_no",
    InvalidPatientId => "invalid_patient_id",
    InvalidPatientName => "invalid_patient_name",
    InvalidSex => "invalid_sex",
    InvalidBirthDate => "invalid_birth_date",
    UnknownDepartment => "unknown_department",
    InvalidDoctorCode => "invalid_doctor_code",
    InvalidVisitType => "invalid_visit_type",
    InvalidAppointment => "invalid_appointment",
    UnknownSpecialTag => "unknown_special_tag",
    InvalidExamItem => "invalid_exam_item",
    InvalidSequenceNo => "invalid_sequence_no",
    InvalidDoctorName => "invalid_doctor_name",
    InvalidPhoto => "invalid_photo",
    InvalidImage => "invalid_image",
    InvalidVoiceText => "invalid_voice_text",
    InvalidReason => "invalid_reason",
    InvalidPosition => "invalid_position",
    InvalidRule => "invalid_rule",
    InvalidTransferTarget => "invalid_transfer_target",
    UnknownQueue => "unknown_queue",
    UnknownRoom => "unknown_room",
    NoDoctorQueue => "no_doctor_queue",
    InvalidNoticeText => "invalid_notice_text",
    InvalidNoticeLevel => "invalid_notice_level",
    InvalidScreens => "invalid_screens",
    UnknownScreen => "unknown_screen",
    InvalidExpiry => "invalid_expiry",
    InvalidNoticeStart => "invalid_notice_start",
    WeakPassword => "weak_password",
    InvalidAccount => "invalid_account",
    InvalidVersion => "invalid_version",
    // The state does not allow it (nothing changed).
    TooEarly => "too_early",
    VisitNotWaitingHere => "visit_not_waiting_here",
    SameQueue => "same_queue",
    VisitNotWaiting => "visit_not_waiting",
    VisitNoShow => "visit_no_show",
    NotCheckedIn => "not_checked_in",
    RegistrationCancelled => "registration_cancelled",
    AppointmentCancelled => "appointment_cancelled",
    VersionConflict => "version_conflict",
    VisitNoTaken => "visit_no_taken",
    AppointmentInQueue => "appointment_in_queue",
    VisitAlreadyInQueue => "visit_already_in_queue",
    AlreadyCalled => "already_called",
    VisitClosed => "visit_closed",
    DayClosed => "day_closed",
    WrongArea => "wrong_area",
    NotADoctor => "not_a_doctor",
    WrongDepartment => "wrong_department",
    DoctorElsewhere => "doctor_elsewhere",
    NoDoctorHere => "no_doctor_here",
    KioskNotFound => "kiosk_not_found",
    ScheduleNotFound => "schedule_not_found",
    FaultNotFound => "fault_not_found",
    ReportNotFound => "report_not_found",
    /// A patient link that opens nothing (never made, of another day, or
    /// its visit closed): one answer for all three.
    PatientLinkExpired => "patient_link_expired",
    FaultState => "fault_state",
    /// An administrator acting on their own account where another must
    /// (disable it, reset its password: use 修改密码 for one's own).
    OwnAccount => "own_account",
    /// A new account's code or a new client's name is already taken.
    NameTaken => "name_taken",
    UnknownSession => "unknown_session",
    InvalidDate => "invalid_date",
    NotScheduled => "not_scheduled",
    DoctorDoubleBooked => "doctor_double_booked",
    RoomPaused => "room_paused",
    /// The room's doctor stepped away (暂离): no call until he is back
    /// (继续坐诊, sign-in).
    DoctorOnBreak => "doctor_on_break",
    RoomClosed => "room_closed",
    QueueEmpty => "queue_empty",
    NoCurrentPatient => "no_current_patient",
    StateConflict => "state_conflict",
    NoQueue => "no_queue",
    TicketsExhausted => "tickets_exhausted",
    // Triage cannot serve now.
    DatabaseUnavailable => "database_unavailable",
    EngineUnavailable => "engine_unavailable",
    ServiceUnavailable => "service_unavailable",
    InternalError => "internal_error",
}

impl ErrorCode {
    /// The code with this text, if there is one.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal or failure: stable code, a message for the user (never
/// database text), and the failing field's JSON path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

/// Results of the engine's way in.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A field failed validation, naming its JSON path.
    pub fn field(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        Error {
            field: Some(field.to_string()),
            ..Error::new(code, message)
        }
    }

    /// Something failed inside; the cause is logged, never shown.
    pub fn internal() -> Self {
        Error::new(
            ErrorCode::InternalError,
            "an internal error occurred; it has been logged",
        )
    }

    /// The database cannot take or give data now; nothing was changed.
    pub fn unavailable() -> Self {
        Error::new(
            ErrorCode::DatabaseUnavailable,
            "the database is unavailable; nothing was changed",
        )
    }
}

impl From<BadCode> for Error {
    /// A malformed code is refused as what it names: a room, queue or
    /// screen that cannot exist is not found (404); a visit number, doctor
    /// code or operator that cannot be one is invalid (422).
    fn from(e: BadCode) -> Self {
        let (code, field, message) = match e.kind {
            CodeKind::Visit => (
                ErrorCode::InvalidVisitNo,
                "visit_no",
                "visit numbers are 1-64 letters, digits, '-', '_' or '.'",
            ),
            CodeKind::Queue => (ErrorCode::QueueNotFound, "queue_code", "no such queue"),
            CodeKind::Room => (ErrorCode::RoomNotFound, "room_code", "no such room"),
            CodeKind::Doctor => (
                ErrorCode::InvalidDoctorCode,
                "doctor_code",
                "doctor codes are 1-32 letters, digits, '-', '_' or '.'",
            ),
            CodeKind::Department => (
                ErrorCode::UnknownDepartment,
                "department_code",
                "no such department",
            ),
            CodeKind::Screen => (ErrorCode::ScreenNotFound, "screen_code", "no such screen"),
            CodeKind::Staff => (
                ErrorCode::InvalidOperator,
                "operator",
                "an operator is 1-64 printable characters",
            ),
        };
        Error::field(code, field, message)
    }
}
