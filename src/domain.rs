//! The hospital's codes as types, parsed at the edge: a [`VisitNo`],
//! [`QueueCode`], [`RoomCode`], [`DoctorCode`], [`ScreenCode`] or
//! [`StaffCode`] that exists is well-formed (1–64 letters, digits, `-`, `_`
//! or `.`; doctor codes 1–32; staff codes 1–64 printable characters), so
//! the engine never checks a format again. Each reads as `&str`
//! (`Deref`), prints as itself and serialises as a plain string.
//!
//! Statuses, special groups and placements are enums of the engine crate
//! (`VisitStatus`, `SpecialTag`, `PlacementCode`).

use std::fmt;
use std::ops::Deref;

use serde::{Serialize, Serializer};

use crate::error::{Error, ErrorCode};

/// Letters, digits, `-`, `_`, `.`; 1 to `max` of them.
fn well_formed(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

macro_rules! code {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, refused = $code:expr, field = $field:expr, $message:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        /// Prints as the quoted code (`"NK-01"`), as messages show it.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl $name {
            /// Parses a code from a path, a header or a body.
            pub fn parse(s: &str) -> Result<$name, Error> {
                if well_formed(s, $max) {
                    Ok($name(s.to_string()))
                } else {
                    Err(Error::field($code, $field, $message(s)))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

code!(
    /// A HIS visit serial (就诊流水号): the idempotency key of a registration.
    VisitNo,
    max = 64,
    refused = ErrorCode::InvalidVisitNo,
    field = "visit_no",
    |_| "visit numbers are 1-64 letters, digits, '-', '_' or '.'".to_string()
);
code!(
    /// A queue's code (`NK`, `NK-D1001`).
    QueueCode,
    max = 64,
    refused = ErrorCode::QueueNotFound,
    field = "queue_code",
    |s| format!("no queue {s:?}")
);
code!(
    /// A room's code (`NK-01`).
    RoomCode,
    max = 64,
    refused = ErrorCode::RoomNotFound,
    field = "room_code",
    |s| format!("no room {s:?}")
);
code!(
    /// A doctor's staff number in HIS (`D1001`).
    DoctorCode,
    max = 32,
    refused = ErrorCode::InvalidDoctorCode,
    field = "doctor_code",
    |_| "doctor codes are 1-32 letters, digits, '-', '_' or '.'".to_string()
);
code!(
    /// A screen device's code (`NK-HALL`).
    ScreenCode,
    max = 64,
    refused = ErrorCode::ScreenNotFound,
    field = "screen_code",
    |s| format!("no screen {s:?}")
);

/// Who acts: a staff number or a system's name (`his`, `demo-simulator`),
/// 1–64 printable characters. The accounts issue makes it the
/// authenticated principal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StaffCode(String);

impl StaffCode {
    pub fn parse(s: &str) -> Result<StaffCode, Error> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) {
            return Err(Error::new(
                ErrorCode::InvalidOperator,
                "X-Operator must be 1-64 printable characters",
            ));
        }
        Ok(StaffCode(s.to_string()))
    }

    /// A system's own name (never from a request).
    pub fn system(name: &'static str) -> StaffCode {
        StaffCode(name.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StaffCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_well_formed_or_refused_with_their_code() {
        assert!(VisitNo::parse("V-2026.11_29").is_ok());
        for bad in ["", "V 1", "张三", "x/y", &"9".repeat(65)] {
            let e = VisitNo::parse(bad).err().map(|e| e.code);
            assert_eq!(e, Some(ErrorCode::InvalidVisitNo), "{bad:?}");
        }
        assert_eq!(
            RoomCode::parse("NK 01").err().map(|e| e.code),
            Some(ErrorCode::RoomNotFound)
        );
        assert_eq!(
            DoctorCode::parse(&"D".repeat(33)).err().map(|e| e.code),
            Some(ErrorCode::InvalidDoctorCode)
        );
        assert_eq!(
            StaffCode::parse(" \u{7} ").err().map(|e| e.code),
            Some(ErrorCode::InvalidOperator)
        );
        let v = VisitNo::parse("V1").ok();
        assert_eq!(v.as_deref().map(|v| v.len()), Some(2));
        assert_eq!(
            format!("{:?}", RoomCode::parse("NK-01").ok()),
            "Some(\"NK-01\")"
        );
    }
}
