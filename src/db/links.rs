//! The patient's phone link (`/p/{token}`, issue 28): a token per visit
//! and service day, derived from the server key (HMAC-SHA256, 128 bits,
//! Base64url), so every check-in answer of a visit carries the same link
//! and a retried HIS call gets it again. The database keeps only the
//! token's SHA-256 with the visit it opens, written in the check-in's own
//! commit; a copy of the table opens nothing (ADR 0018).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::sync::Arc;
use triage_ground::secret;

use super::conn::{AnyConnection, DbError};
use super::schema::patient_links;

/// Where a patient's page lives, with the token after it.
pub const PATH: &str = "/p/";

/// Makes and reads patient links. Cheap to clone.
#[derive(Clone)]
pub struct PatientLinks {
    key: Arc<str>,
}

impl std::fmt::Debug for PatientLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientLinks")
    }
}

impl PatientLinks {
    /// Links signed with `key` (the server key's derived `patient-link`
    /// secret).
    pub fn new(key: String) -> PatientLinks {
        PatientLinks { key: key.into() }
    }

    /// Links under a random key of this process only (a scratch engine's:
    /// the drill, the self-test, a command): what they make opens nothing
    /// on a server.
    pub fn ephemeral() -> PatientLinks {
        PatientLinks::new(secret::random(32))
    }

    /// The token of `visit_no` on `day`.
    pub fn token(&self, day: NaiveDate, visit_no: &str) -> String {
        let mac = secret::sign(&self.key, &format!("patient-link\n{day}\n{visit_no}"));
        // 16 bytes of the MAC (hex → bytes → Base64url): 22 characters.
        let bytes: Vec<u8> = (0..16)
            .filter_map(|i| u8::from_str_radix(mac.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The page's path of `visit_no` on `day`.
    pub fn path(&self, day: NaiveDate, visit_no: &str) -> String {
        format!("{PATH}{}", self.token(day, visit_no))
    }

    /// Stores the link of `visit_no` on `day` (once; again is nothing).
    pub fn record(
        &self,
        c: &mut AnyConnection,
        at: NaiveDateTime,
        day: NaiveDate,
        visit_no: &str,
    ) -> Result<(), DbError> {
        let digest = digest(&self.token(day, visit_no));
        let known: i64 = patient_links::table.find(&digest).count().get_result(c)?;
        if known == 0 {
            diesel::insert_into(patient_links::table)
                .values((
                    patient_links::digest.eq(&digest),
                    patient_links::visit_no.eq(visit_no),
                    patient_links::service_date.eq(day.to_string()),
                    patient_links::created_at.eq(at),
                ))
                .execute(c)?;
        }
        Ok(())
    }
}

/// Whether `token` has the shape of one (22 Base64url characters): anything
/// else is answered without a database read.
pub fn well_formed(token: &str) -> bool {
    token.len() == 22
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn digest(token: &str) -> String {
    secret::sha256_hex(token.as_bytes())
}

/// The visit a token opens and the day it was made for.
pub fn find(c: &mut AnyConnection, token: &str) -> Result<Option<(String, String)>, DbError> {
    Ok(patient_links::table
        .find(digest(token))
        .select((patient_links::visit_no, patient_links::service_date))
        .first(c)
        .optional()?)
}

/// Forgets links of days before `day` (they opened nothing any more).
pub fn prune_before(c: &mut AnyConnection, day: NaiveDate) -> Result<usize, DbError> {
    Ok(
        diesel::delete(
            patient_links::table.filter(patient_links::service_date.lt(day.to_string())),
        )
        .execute(c)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_visits_and_days_alone_and_well_formed() {
        let links = PatientLinks::new("k".into());
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        let t = links.token(day, "V1");
        assert!(well_formed(&t), "{t}");
        assert_eq!(t, links.token(day, "V1"));
        assert_ne!(t, links.token(day, "V2"));
        assert_ne!(t, links.token(day.succ_opt().unwrap_or_default(), "V1"));
        assert_ne!(t, PatientLinks::new("other".into()).token(day, "V1"));
        assert_ne!(digest(&t), t);
        assert!(!well_formed("short"));
        assert!(!well_formed("aaaaaaaaaaaaaaaaaaaa/a"));
    }
}
