//! The hospital's codes as types, parsed at the edge: a [`VisitNo`],
//! [`QueueCode`], [`RoomCode`], [`DoctorCode`], [`ScreenCode`] or
//! [`StaffCode`] that exists is well-formed (1–64 letters, digits, `-`, `_`
//! or `.`; doctor codes 1–32; staff codes 1–64 printable characters), so
//! the engine never checks a format again. Each reads as `&str`
//! (`Deref`), prints as itself and serialises as a plain string.
//!
//! Statuses, special groups and placements are enums of the engine crate
//! (`VisitStatus`, `SpecialTag`, `PlacementCode`). A code that does not
//! parse is a [`BadCode`] naming which kind it is; `crate::error` turns it
//! into the API's error (a malformed room code is 404 `room_not_found`, a
//! malformed visit number 422 `invalid_visit_no`, …).

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which kind of code did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeKind {
    Visit,
    Queue,
    Room,
    Doctor,
    Department,
    Screen,
    Staff,
}

/// A code that is not well-formed (the text is never kept: it may be
/// anything a client sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} is not well-formed", .kind.name())]
pub struct BadCode {
    pub kind: CodeKind,
}

impl CodeKind {
    /// What the code is, as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            CodeKind::Visit => "a visit number",
            CodeKind::Queue => "a queue code",
            CodeKind::Room => "a room code",
            CodeKind::Doctor => "a doctor code",
            CodeKind::Department => "a department code",
            CodeKind::Screen => "a screen code",
            CodeKind::Staff => "a staff code",
        }
    }
}

/// Letters, digits, `-`, `_`, `.`; 1 to `max` of them.
fn well_formed(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

macro_rules! code {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, kind = $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(
            feature = "diesel",
            derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
            diesel(sql_type = diesel::sql_types::Text)
        )]
        pub struct $name(String);

        /// Stored as its text.
        #[cfg(feature = "diesel")]
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.0.as_str(),
                    out,
                )
            }
        }

        /// Read back as the database holds it: the program wrote it.
        #[cfg(feature = "diesel")]
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<$name> {
                Ok($name(<String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    DB,
                >>::from_sql(bytes)?))
            }
        }

        /// Prints as the quoted code (`"NK-01"`), as messages show it.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl $name {
            /// Parses a code from a path, a header or a body.
            pub fn parse(s: &str) -> Result<$name, BadCode> {
                if well_formed(s, $max) {
                    Ok($name(s.to_string()))
                } else {
                    Err(BadCode { kind: $kind })
                }
            }

            /// A code the program itself knows to be well-formed (the
            /// configuration's, the database's); one that is not is kept
            /// as it is and will match nothing.
            pub fn trusted(s: impl Into<String>) -> $name {
                $name(s.into())
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

        /// As the text, padded as asked (`{:<14}`), as a `String` prints.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        /// Read as a plain string, checked as [`Self::parse`] checks it.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }
    };
}

code!(
    /// A HIS visit serial (就诊流水号): the idempotency key of a registration.
    VisitNo,
    max = 64,
    kind = CodeKind::Visit
);
code!(
    /// A queue's code (`NK`, `NK-D1001`).
    QueueCode,
    max = 64,
    kind = CodeKind::Queue
);
code!(
    /// A room's code (`NK-01`).
    RoomCode,
    max = 64,
    kind = CodeKind::Room
);
code!(
    /// A doctor's staff number in HIS (`D1001`).
    DoctorCode,
    max = 32,
    kind = CodeKind::Doctor
);
code!(
    /// A department's code (`NK`).
    DepartmentCode,
    max = 64,
    kind = CodeKind::Department
);
code!(
    /// A screen device's code (`NK-HALL`).
    ScreenCode,
    max = 64,
    kind = CodeKind::Screen
);

/// Who acts: a staff number or a system's name (`his`, `demo-simulator`),
/// 1–64 printable characters. The accounts issue makes it the
/// authenticated principal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StaffCode(String);

impl StaffCode {
    pub fn parse(s: &str) -> Result<StaffCode, BadCode> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) {
            return Err(BadCode {
                kind: CodeKind::Staff,
            });
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
    fn codes_are_well_formed_or_refused_naming_their_kind() {
        assert!(VisitNo::parse("V-2026.11_29").is_ok());
        for bad in ["", "V 1", "张三", "x/y", &"9".repeat(65)] {
            let e = VisitNo::parse(bad).err().map(|e| e.kind);
            assert_eq!(e, Some(CodeKind::Visit), "{bad:?}");
        }
        assert_eq!(
            RoomCode::parse("NK 01").err().map(|e| e.kind),
            Some(CodeKind::Room)
        );
        assert_eq!(
            DoctorCode::parse(&"D".repeat(33)).err().map(|e| e.kind),
            Some(CodeKind::Doctor)
        );
        assert_eq!(
            StaffCode::parse(" \u{7} ").err().map(|e| e.kind),
            Some(CodeKind::Staff)
        );
        let v = VisitNo::parse("V1").ok();
        assert_eq!(v.as_deref().map(|v| v.len()), Some(2));
        assert_eq!(
            format!("{:?}", RoomCode::parse("NK-01").ok()),
            "Some(\"NK-01\")"
        );
        let read: Result<QueueCode, _> = serde_json::from_str("\"NK\"");
        assert_eq!(read.ok().as_deref(), Some("NK"));
        assert!(serde_json::from_str::<QueueCode>("\"N K\"").is_err());
    }
}
