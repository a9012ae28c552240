//! Fields many request bodies share, parsed once here: why an action is
//! taken (the audit reason), a line of text, special-group codes, and sex
//! written as GB/T 2261.1 codes or words. The checks name the field and
//! keep the API's stable codes.

use serde_json::Value;
use triage_actors::model::{Sex, SpecialTag};
use triage_ground::error::{Error, ErrorCode};

/// Checks why a manual action is taken (recorded in the audit event):
/// 1-200 printable characters, trimmed.
pub fn audit_reason(reason: &str) -> Result<String, Error> {
    // Counted as sent (as the API document says), stored trimmed.
    let too_long = reason.chars().count() > 200;
    let reason = reason.trim();
    if reason.is_empty() || too_long || reason.chars().any(char::is_control) {
        return Err(Error::field(
            ErrorCode::InvalidReason,
            "reason",
            "say why, in 1-200 characters",
        ));
    }
    Ok(reason.to_string())
}

/// One line of text: 1-`max` characters as sent, not only white space, no
/// control character inside (the document's `LINE` pattern).
pub fn line_ok(s: &str, max: usize) -> bool {
    let t = s.trim();
    !t.is_empty() && s.chars().count() <= max && !t.chars().any(char::is_control)
}

/// Sex as HIS writes it: a GB/T 2261.1 code (number or text) or the
/// word, in Chinese or English.
pub fn parse_sex(v: &Value) -> Option<Sex> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_lowercase(),
        _ => return None,
    };
    match s.as_str() {
        "0" | "未知" | "unknown" => Some(Sex::Unknown),
        "1" | "男" | "m" | "male" => Some(Sex::Male),
        "2" | "女" | "f" | "female" => Some(Sex::Female),
        "9" | "未说明" => Some(Sex::Unstated),
        _ => None,
    }
}

/// Parses special-group codes (field `special[i]` names a bad one):
/// sorted, once each.
pub fn parse_special(codes: &[String]) -> Result<Vec<SpecialTag>, Error> {
    let mut special = Vec::with_capacity(codes.len());
    for (i, t) in codes.iter().enumerate() {
        let tag = SpecialTag::parse(t).ok_or_else(|| {
            Error::field(
                ErrorCode::UnknownSpecialTag,
                &format!("special[{i}]"),
                format!("unknown special tag {t:?} (known: {})", SpecialTag::codes()),
            )
        })?;
        special.push(tag);
    }
    special.sort();
    special.dedup();
    Ok(special)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sex_is_read_as_his_writes_it() {
        assert_eq!(parse_sex(&serde_json::json!(1)), Some(Sex::Male));
        assert_eq!(parse_sex(&serde_json::json!(" 女 ")), Some(Sex::Female));
        assert_eq!(parse_sex(&serde_json::json!("Unknown")), Some(Sex::Unknown));
        assert_eq!(parse_sex(&serde_json::json!("9")), Some(Sex::Unstated));
        assert_eq!(parse_sex(&serde_json::json!(3)), None);
        assert_eq!(parse_sex(&serde_json::json!(true)), None);
    }

    #[test]
    fn a_reason_is_one_to_two_hundred_printable_characters() {
        assert_eq!(audit_reason("  过号  ").ok().as_deref(), Some("过号"));
        assert!(audit_reason("   ").is_err());
        assert!(audit_reason("a\u{7}b").is_err());
        assert!(audit_reason(&"字".repeat(201)).is_err());
    }
}
