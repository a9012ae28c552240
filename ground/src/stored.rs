//! Enums stored as text columns. `stored_as_text!(Type)` writes a value
//! through diesel as its stable text (`Type::as_str`) and reads it back
//! with `Type::parse`; a stored text that names no value is broken data,
//! reported when the row is read. The type itself derives diesel's
//! `AsExpression` and `FromSqlRow` with `sql_type = Text`, and the crate
//! that uses the macro depends on diesel (the engine crate under its
//! `diesel` feature, the main crate's `db::columns`).

/// A stored text that names no value of its enum: broken data (the
/// database layer tells it from every other error by this type).
#[derive(Debug)]
pub struct UnknownText {
    /// What was stored.
    pub text: String,
    /// The enum it should have named.
    pub of: &'static str,
}

impl std::fmt::Display for UnknownText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is no {}", self.text, self.of)
    }
}

impl std::error::Error for UnknownText {}

/// Implements diesel's `ToSql` and `FromSql` (text) for an enum with
/// `fn as_str(self) -> &'static str` and `fn parse(&str) -> Option<Self>`.
#[macro_export]
macro_rules! stored_as_text {
    ($name:ident) => {
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
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<$name> {
                use diesel::deserialize::FromSql;
                use diesel::sql_types::Text;
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                match $name::parse(&text) {
                    Some(value) => Ok(value),
                    None => Err(Box::new($crate::stored::UnknownText {
                        text,
                        of: stringify!($name),
                    })),
                }
            }
        }
    };
}
