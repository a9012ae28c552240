//! The rules of the API document beyond what the Rust types say: every
//! format, length, range, count and choice the server enforces on a field
//! (the handlers and the engine's validation), stated in one table so the
//! document says exactly what is refused. A test checks that every entry
//! names a field the document has; Schemathesis (`scripts/api-fuzz.sh`)
//! checks that the server accepts what the document allows and refuses
//! what it forbids. What no schema can say — a code this hospital's
//! configuration lacks, a rule across two fields or of the calendar, a
//! name already taken — stays a documented 422 or 409
//! (`schemathesis.toml`).

use serde_json::{json, Value};

/// Rust's `str::trim` white space.
macro_rules! ws {
    () => {
        r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    };
}
/// A character that is neither white space nor a control.
macro_rules! edge {
    () => {
        r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    };
}

/// An RFC 3339 date-time as the server reads it (`T`, no leap second; a
/// real day is a calendar rule: 2026-02-30 passes the pattern and is
/// refused).
pub const DATE_TIME: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";
/// A calendar date, exactly `YYYY-MM-DD`.
pub const DATE: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// A birth date: a date from 1880.
pub const BIRTH_DATE: &str =
    r"^(18[89][0-9]|19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// Text of one or more lines: not blank, no control but tab and line ends.
pub const TEXT: &str = concat!(
    "^",
    ws!(),
    "*",
    edge!(),
    r"(?:[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*",
    edge!(),
    ")?",
    ws!(),
    "*$"
);
/// The same, or nothing at all.
pub const TEXT_OR_EMPTY: &str = concat!(
    "^",
    ws!(),
    "*(?:",
    edge!(),
    r"(?:[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*",
    edge!(),
    ")?)?",
    ws!(),
    "*$"
);
/// One line: not blank, no control at all.
pub const LINE: &str = concat!(
    "^",
    ws!(),
    "*",
    edge!(),
    r"(?:[^\x00-\x1f\x7f-\x9f]*",
    edge!(),
    ")?",
    ws!(),
    "*$"
);
/// Text that is not only white space (a name or title that may run on).
pub const NOT_BLANK: &str = concat!(
    "^",
    ws!(),
    r"*[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\s\S]*$"
);
/// A notice: not blank, no control but the line end.
pub const NOTICE: &str = concat!(
    "^",
    ws!(),
    "*",
    edge!(),
    r"(?:[^\x00-\x09\x0b-\x1f\x7f-\x9f]*",
    edge!(),
    ")?",
    ws!(),
    "*$"
);
/// A time of day `HH:MM` (white space around it allowed).
pub const HOUR_MINUTE: &str = concat!("^", ws!(), "*([01]?[0-9]|2[0-3]):[0-5]?[0-9]", ws!(), "*$");
/// Standard Base64 with canonical padding.
pub const BASE64: &str = concat!(
    "^",
    ws!(),
    r"*(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?",
    ws!(),
    "*$"
);
/// GB/T 2261.1 sex written as words or digits.
pub const SEX_TEXT: &str = concat!(
    "^",
    ws!(),
    "*(?:[0129]|[Mm](?:[Aa][Ll][Ee])?|[Ff](?:[Ee][Mm][Aa][Ll][Ee])?|[Uu][Nn][Kk][Nn][Oo][Ww][Nn]|男|女|未知|未说明)",
    ws!(),
    "*$"
);
/// A code of the hospital's configuration (department, room, queue,
/// session, screen, kiosk): whether it exists is the configuration's.
pub const CONFIG_CODE: &str = "^[A-Za-z0-9_-]{1,32}$";
/// A doctor's staff number (工号).
pub const DOCTOR_CODE: &str = "^[A-Za-z0-9._-]{1,32}$";
/// A visit number, a screen's or a report's code.
pub const CODE_64: &str = "^[A-Za-z0-9._-]{1,64}$";
/// A visit number typed at a kiosk (white space around it allowed).
pub const KIOSK_VISIT: &str = concat!("^", ws!(), "*[A-Za-z0-9._-]{1,64}", ws!(), "*$");
/// Configured departments, comma-separated (blanks around them and empty
/// items are skipped; none: every department of the caller's).
pub const DEPARTMENTS: &str = concat!(
    "^",
    ws!(),
    "*(?:[A-Za-z0-9_-]{1,32}",
    ws!(),
    "*)?(?:,",
    ws!(),
    "*(?:[A-Za-z0-9_-]{1,32}",
    ws!(),
    "*)?)*$"
);

/// Sex: a GB/T 2261.1 code as a number, or as text.
fn sex() -> Value {
    json!({"oneOf": [
        {"type": "integer", "enum": [0, 1, 2, 9]},
        {"type": "string", "pattern": SEX_TEXT}
    ]})
}

/// What each field says beyond its type: the JSON pointer of the field's
/// schema in the document and what is merged into it (a `oneOf` replaces
/// the type).
fn fields() -> Vec<(&'static str, Value)> {
    [
        registration_fields(),
        doctor_fields(),
        result_fields(),
        notice_fields(),
        account_fields(),
        room_fields(),
        schedule_fields(),
        screen_fields(),
        rule_fields(),
        kiosk_fields(),
        text_fields(),
    ]
    .concat()
}

/// The text fields of request bodies: one line (a reason, a patient's id
/// and name, an exam item) or not blank (a name or title).
fn text_fields() -> Vec<(&'static str, Value)> {
    let line = || json!({"pattern": LINE});
    let not_blank = || json!({"pattern": NOT_BLANK});
    vec![
        ("/components/schemas/PatientBody/properties/id", line()),
        ("/components/schemas/PatientBody/properties/name", line()),
        ("/components/schemas/ExamItem/properties/code", line()),
        ("/components/schemas/ExamItem/properties/name", line()),
        ("/components/schemas/CloseBody/properties/reason", line()),
        (
            "/components/schemas/StopClinicBody/properties/reason",
            line(),
        ),
        ("/components/schemas/TransferBody/properties/reason", line()),
        ("/components/schemas/ReasonBody/properties/reason", line()),
        (
            "/components/schemas/InterventionBody/properties/reason",
            line(),
        ),
        ("/components/schemas/SpecialBody/properties/reason", line()),
        ("/components/schemas/MoveBody/properties/reason", line()),
        (
            "/components/schemas/DoctorBody/properties/name",
            not_blank(),
        ),
        (
            "/components/schemas/ScreenBody/properties/name",
            not_blank(),
        ),
        (
            "/components/schemas/ReportBody/properties/title",
            not_blank(),
        ),
        (
            "/components/schemas/ResolveBody/properties/note",
            not_blank(),
        ),
    ]
}

/// A date-time field's pattern.
fn dt() -> Value {
    json!({"pattern": DATE_TIME})
}

/// A code field's pattern.
fn code(p: &str) -> Value {
    json!({"pattern": p})
}

/// The fields of registrations and appointments.
fn registration_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("/components/schemas/PatientBody/properties/sex", sex()),
        (
            "/components/schemas/PatientBody/properties/birth_date",
            json!({"pattern": BIRTH_DATE}),
        ),
        (
            "/components/schemas/RegistrationBody/properties/registered_at",
            dt(),
        ),
        ("/components/schemas/AppointmentBody/properties/start", dt()),
        ("/components/schemas/AppointmentBody/properties/end", dt()),
        (
            "/components/schemas/AppointmentPutBody/properties/booked_at",
            dt(),
        ),
    ]
}

/// The fields of doctors.
fn doctor_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/DoctorBody/properties/photo",
            json!({"contentEncoding": "base64", "minLength": 4, "maxLength": 699_052, "pattern": BASE64}),
        ),
        (
            "/components/schemas/DoctorBody/properties/sex",
            json!({"oneOf": [
                {"type": "integer", "enum": [0, 1, 2, 9]},
                {"type": "string", "pattern": SEX_TEXT},
                {"type": "null"}
            ]}),
        ),
        (
            "/components/schemas/DoctorEntry/allOf/1/properties/code",
            code(DOCTOR_CODE),
        ),
        (
            "/components/schemas/DoctorsBody/properties/doctors",
            json!({"maxItems": 2000}),
        ),
    ]
}

/// The fields of exam results.
fn result_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/ExamReportBody/properties/visit_no",
            code(CODE_64),
        ),
        (
            "/components/schemas/ExamReportBody/properties/item_code",
            json!({"minLength": 1, "maxLength": 32, "pattern": TEXT}),
        ),
        (
            "/components/schemas/ExamReportBody/properties/item_name",
            json!({"minLength": 1, "maxLength": 64, "pattern": TEXT}),
        ),
        (
            "/components/schemas/ExamReportBody/properties/findings",
            json!({"maxLength": 20_000, "pattern": TEXT_OR_EMPTY}),
        ),
        (
            "/components/schemas/ExamReportBody/properties/conclusion",
            json!({"maxLength": 5_000, "pattern": TEXT_OR_EMPTY}),
        ),
        (
            "/components/schemas/ExamReportBody/properties/reporter",
            json!({"minLength": 1, "maxLength": 32, "pattern": TEXT}),
        ),
        (
            "/components/schemas/ExamReportBody/properties/reported_at",
            dt(),
        ),
        (
            "/components/schemas/ExamReportBody/properties/images",
            json!({"maxItems": 8}),
        ),
        (
            "/components/schemas/ExamImageBody/properties/mime",
            json!({"enum": ["image/jpeg", "image/png", "image/webp", "image/bmp", "application/pdf"]}),
        ),
        (
            "/components/schemas/ExamImageBody/properties/data",
            json!({"contentEncoding": "base64", "minLength": 4, "maxLength": 5_592_408, "pattern": BASE64}),
        ),
        (
            "/components/schemas/ExamImageBody/properties/title",
            json!({"maxLength": 64, "pattern": TEXT_OR_EMPTY}),
        ),
    ]
}

/// The fields of notices.
fn notice_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/NoticeBody/properties/text",
            json!({"minLength": 1, "maxLength": 500, "pattern": NOTICE}),
        ),
        (
            "/components/schemas/NoticeBody/properties/level",
            json!({"enum": ["info", "urgent", null]}),
        ),
        (
            "/components/schemas/NoticeBody/properties/screens",
            json!({"minItems": 1, "items": {"type": "string", "pattern": CODE_64}}),
        ),
        ("/components/schemas/NoticeBody/properties/starts_at", dt()),
        ("/components/schemas/NoticeBody/properties/expires_at", dt()),
    ]
}

/// The fields of accounts and the session.
fn account_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/AccountBody/properties/name",
            json!({"minLength": 1, "maxLength": 40, "pattern": LINE}),
        ),
        (
            "/components/schemas/AccountBody/properties/scope",
            json!({"items": {"type": "string", "pattern": CONFIG_CODE}}),
        ),
        (
            "/components/schemas/ClientBody/properties/scopes",
            json!({"minItems": 1}),
        ),
        (
            "/components/schemas/ClientBody/properties/rate_per_minute",
            json!({"minimum": 1, "maximum": 1_000_000}),
        ),
        (
            "/components/schemas/PasswordBody/properties/new_password",
            json!({"minLength": 8, "maxLength": 128}),
        ),
    ]
}

/// The fields of room commands, stop-clinic, transfers.
fn room_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/CloseBody/properties/waiting",
            json!({"enum": ["keep", "redistribute", null]}),
        ),
        (
            "/components/schemas/StopClinicBody/properties/waiting",
            json!({"enum": ["keep", "redistribute", null]}),
        ),
        (
            "/components/schemas/StopClinicBody/properties/session",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/StopClinicBody/properties/queue_code",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/SignInBody/properties/doctor_code",
            code(DOCTOR_CODE),
        ),
        (
            "/components/schemas/TransferBody/properties/queue_code",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/TransferBody/properties/room_code",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/TransferBody/properties/doctor_code",
            code(DOCTOR_CODE),
        ),
    ]
}

/// The fields of schedules.
fn schedule_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/DayEntryBody/properties/session",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/DayEntryBody/properties/room_code",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/DayEntryBody/properties/doctor_code",
            code(DOCTOR_CODE),
        ),
        (
            "/components/schemas/DayEntryBody/properties/queues",
            json!({"uniqueItems": true, "items": {"type": "string", "pattern": CONFIG_CODE}}),
        ),
        (
            "/components/schemas/DayEntryBody/properties/patient_limit",
            json!({"minimum": 1, "maximum": 999}),
        ),
        (
            "/components/schemas/EntryBody/properties/doctor_code",
            code(DOCTOR_CODE),
        ),
        (
            "/components/schemas/EntryBody/properties/queues",
            json!({"uniqueItems": true, "items": {"type": "string", "pattern": CONFIG_CODE}}),
        ),
        (
            "/components/schemas/EntryBody/properties/patient_limit",
            json!({"minimum": 1, "maximum": 999}),
        ),
    ]
}

/// The fields of screens.
fn screen_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/ScreenBody/properties/department",
            code(CONFIG_CODE),
        ),
        (
            "/components/schemas/ScreenBody/properties/rooms",
            json!({"items": {"type": "string", "pattern": CONFIG_CODE}}),
        ),
        (
            "/components/schemas/ScreenBody/properties/title",
            json!({"minLength": 1, "maxLength": 40, "pattern": NOT_BLANK}),
        ),
    ]
}

/// The fields of queue rules.
fn rule_fields() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/components/schemas/RulesBody/properties/reason",
            json!({"pattern": LINE}),
        ),
        (
            "/components/schemas/RulesBody/properties/return_ratio",
            json!({"oneOf": [
                {"type": "integer", "enum": [0]},
                {"type": "integer", "minimum": 2, "maximum": 20},
                {"type": "null"}
            ]}),
        ),
        (
            "/components/schemas/RulesBody/properties/special_levels",
            json!({
                "propertyNames": {"type": "string", "enum": ["military", "elderly", "disabled", "pregnant", "child"]},
                "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 9}
            }),
        ),
        (
            "/components/schemas/RulesBody/properties/sessions",
            json!({"minItems": 1, "maxItems": 6}),
        ),
        (
            "/components/schemas/SessionInput/properties/name",
            json!({"minLength": 1, "maxLength": 16, "pattern": LINE}),
        ),
        (
            "/components/schemas/SessionInput/properties/start",
            json!({"pattern": HOUR_MINUTE}),
        ),
        (
            "/components/schemas/SessionInput/properties/end",
            json!({"pattern": HOUR_MINUTE}),
        ),
    ]
}

/// The fields of the kiosk.
fn kiosk_fields() -> Vec<(&'static str, Value)> {
    vec![(
        "/components/schemas/KioskCheckIn/properties/visit_no",
        json!({"pattern": KIOSK_VISIT}),
    )]
}

/// What each query parameter says beyond its type: the operation, the
/// parameter's name and what is merged into its schema.
fn queries() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let dt = || json!({"pattern": DATE_TIME});
    let date = || json!({"pattern": DATE});
    vec![
        ("/api/v1/faults", "get", "since", dt()),
        ("/api/v1/faults", "get", "until", dt()),
        (
            "/api/v1/faults",
            "get",
            "limit",
            json!({"minimum": 1, "maximum": 1000}),
        ),
        ("/api/v1/schedules", "get", "date", date()),
        ("/api/v1/stats/workload", "get", "from", date()),
        ("/api/v1/stats/workload", "get", "to", date()),
        ("/api/v1/stats/indicators", "get", "from", date()),
        ("/api/v1/stats/indicators", "get", "to", date()),
        (
            "/api/v1/visits/away",
            "get",
            "departments",
            json!({"pattern": DEPARTMENTS}),
        ),
        (
            "/api/v1/waiting-lists.xlsx",
            "get",
            "departments",
            json!({"pattern": DEPARTMENTS}),
        ),
    ]
}

/// Merges `patch` into the schema `target`; a `oneOf` replaces its type.
fn merge(target: &mut Value, patch: &Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        return;
    };
    if p.contains_key("oneOf") {
        t.remove("type");
        t.remove("format");
    }
    for (k, v) in p {
        match (t.get_mut(k), v) {
            (Some(existing @ Value::Object(_)), Value::Object(_)) => merge(existing, v),
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Applies the table to the document; answers the entries it could not
/// place (a field renamed: the test fails on any).
pub fn apply(doc: &mut Value) -> Vec<String> {
    let mut missing = Vec::new();
    for (pointer, patch) in fields() {
        match doc.pointer_mut(pointer) {
            Some(target) => merge(target, &patch),
            None => missing.push(pointer.to_string()),
        }
    }
    for (path, method, name, patch) in queries() {
        let found = doc
            .pointer_mut(&format!(
                "/paths/{}/{method}/parameters",
                path.replace('/', "~1")
            ))
            .and_then(Value::as_array_mut)
            .and_then(|ps| {
                ps.iter_mut()
                    .find(|p| p["name"] == name && p["in"] == "query")
            })
            .and_then(|p| p.get_mut("schema"));
        match found {
            Some(schema) => merge(schema, &patch),
            None => missing.push(format!("{method} {path} ?{name}")),
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_a_field_of_the_document() {
        use utoipa::OpenApi as _;
        let mut doc: Value =
            serde_json::to_value(crate::api::openapi::ApiDoc::openapi()).unwrap_or_default();
        assert_eq!(apply(&mut doc), Vec::<String>::new());
    }

    #[test]
    fn the_patterns_say_what_the_server_reads() {
        let re = |p: &str| regex_lite::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(re(DATE_TIME).is_match("2026-12-09T09:30:00+08:00"));
        assert!(!re(DATE_TIME).is_match("2026-12-09T09:30:00"));
        assert!(!re(DATE_TIME).is_match(""));
        assert!(!re(DATE_TIME).is_match("2026-12-09 09:30:00+08:00"));
        assert!(re(DEPARTMENTS).is_match("") && re(DEPARTMENTS).is_match(" NK, ,WK"));
        assert!(!re(DEPARTMENTS).is_match("内科"));
        assert!(re(DATE).is_match("2026-12-09") && !re(DATE).is_match("2026-12-9"));
        assert!(re(TEXT).is_match(" 未见异常\n"));
        assert!(!re(TEXT).is_match("   ") && !re(TEXT).is_match("a\u{1}b"));
        assert!(re(TEXT_OR_EMPTY).is_match(""));
        assert!(re(NOTICE).is_match("下午停诊\n请到二楼") && !re(NOTICE).is_match("a\tb"));
        assert!(re(SEX_TEXT).is_match(" 男 ") && !re(SEX_TEXT).is_match(""));
        assert!(re(BASE64).is_match("iVBORw0KGgo=") && !re(BASE64).is_match("AAA"));
        assert!(re(HOUR_MINUTE).is_match("8:05") && !re(HOUR_MINUTE).is_match("08:00:00"));
    }
}
