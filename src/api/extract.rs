//! Extractors of the HTTP edge: a JSON body read with a size cap and parsed
//! with the failing field's path ([`Json`], [`OptionalJson`]), and the
//! authenticated caller ([`Caller`]).
//! Every failure is the JSON error envelope with a stable code.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::auth::policy::Principal;
use crate::engine::{Acting, Engine};
use triage_ground::error::{Error, ErrorCode};

/// Largest registration or command body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest doctor body (a Base64 photo).
pub const DOCTOR_BODY_LIMIT: usize = 1024 * 1024;
/// Largest bulk doctors body (their photos in Base64).
pub const DOCTORS_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Largest exam report body (its images in Base64).
pub const RESULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A JSON object body of at most `LIMIT` bytes, parsed into `T`; `text` is
/// its canonical form (sorted keys), which makes a repeated message
/// recognisable.
pub struct Json<T, const LIMIT: usize = BODY_LIMIT> {
    pub value: T,
    pub text: String,
}

/// A JSON body that may be absent (empty, only white space, or `null`).
pub struct OptionalJson<T>(pub Option<T>);

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for Json<T, LIMIT> {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(payload, LIMIT).await?;
            let (value, text) = parse_json(&req, &bytes)?;
            Ok(Json { value, text })
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(payload, BODY_LIMIT).await?;
            if absent(&bytes) {
                return Ok(OptionalJson(None));
            }
            Ok(OptionalJson(Some(parse_json(&req, &bytes)?.0)))
        })
    }
}

/// Who calls (the authenticated principal: see `api::authenticate`) and
/// from where (the peer address). A request without credentials has no
/// caller: 401 `unauthenticated`.
pub struct Caller {
    pub principal: Principal,
    source: String,
}

impl Caller {
    /// Who acts on a command: the principal and its address (the engine
    /// stamps the time).
    pub fn acting(&self) -> Acting {
        Acting::new(self.principal.operator(), self.source.clone())
    }

    /// The stamp of an accounts change (the accounts' own audit events).
    pub fn stamp(&self, engine: &Engine) -> crate::db::accounts::Stamp {
        crate::db::accounts::Stamp {
            operator: self.principal.operator(),
            source: self.source.clone(),
            at: engine.now().naive_utc(),
        }
    }

    /// As [`Caller::acting`], recording why.
    pub fn acting_why(&self, reason: String) -> Acting {
        self.acting().because(reason)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(caller(req))
    }
}

/// The caller of a request, for handlers that must look at something else
/// first (the resource, the action).
pub fn caller(req: &HttpRequest) -> Result<Caller, ApiError> {
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthenticated,
                "log in (staff) or send an API key (Authorization: Bearer)",
            )
        })?;
    Ok(Caller {
        principal,
        source: crate::api::authenticate::source_of(req),
    })
}

/// A JSON body already read (at most [`BODY_LIMIT`] bytes), or `None` when
/// there is none: for handlers that look at the body only after something
/// else (the resource, the action).
pub fn optional_json<T: DeserializeOwned>(
    req: &HttpRequest,
    bytes: &Bytes,
) -> Result<Option<(T, String)>, Error> {
    if bytes.len() > BODY_LIMIT {
        return Err(Error::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {BODY_LIMIT} bytes"),
        ));
    }
    if absent(bytes) {
        return Ok(None);
    }
    parse_json(req, bytes).map(Some)
}

/// An optional body that is not there: none, white space only, or JSON
/// `null`.
fn absent(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null"
}

/// Reads a body up to `limit` bytes; more is a 413 with the JSON envelope.
async fn read_body(mut payload: Payload, limit: usize) -> Result<Bytes, Error> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            Error::new(
                ErrorCode::UnreadableBody,
                "the request body could not be read",
            )
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::new(
                ErrorCode::PayloadTooLarge,
                format!("request body is larger than {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Parses a JSON body: content type, syntax, then shape (with the failing
/// field's path). Also returns the canonical text (sorted keys) of the body.
fn parse_json<T: DeserializeOwned>(req: &HttpRequest, body: &Bytes) -> Result<(T, String), Error> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !ct.starts_with("application/json") && !ct.contains("+json") {
            return Err(Error::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json",
            ));
        }
    }
    if body.is_empty() {
        return Err(Error::new(
            ErrorCode::MissingBody,
            "a JSON body is required",
        ));
    }
    let mut value = strict_json(body)?;
    whole_numbers(&mut value);
    if !value.is_object() {
        return Err(Error::new(
            ErrorCode::MalformedJson,
            "the body must be a JSON object",
        ));
    }
    let canonical = value.to_string();
    Ok((from_value(value)?, canonical))
}

/// Reads JSON text as a value, refusing an object that has the same key
/// twice (JSON parsers disagree on which one wins; HIS must not depend on
/// one): 400 `malformed_json`, nothing changes.
pub fn strict_json(body: &[u8]) -> Result<serde_json::Value, Error> {
    use serde::Deserialize as _;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Strict::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v.0))
        .map_err(|e| {
            // serde_json's own messages name a line and column, never
            // the text sent; ours names no key.
            Error::new(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {e}"),
            )
        })?;
    Ok(value)
}

/// A JSON value whose objects have each key once.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if fields.insert(key, v).is_some() {
                return Err(serde::de::Error::custom("an object has the same key twice"));
            }
        }
        Ok(fields.into())
    }
}

/// JSON has one kind of number: `3.0` is the integer 3 (as JSON Schema
/// says, and some clients send whole numbers so). Whole numbers written
/// with a fraction become integers before the body is read, so an integer
/// field takes them; other numbers are left as they are.
fn whole_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Exactly representable and within i64: 2^53 bounds both.
                const EXACT: f64 = 9_007_199_254_740_992.0;
                if f.fract() == 0.0 && f.abs() <= EXACT {
                    *value = serde_json::Value::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Deserialises a JSON value, naming the failing field's path.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let code = if inner.starts_with("missing field") {
            ErrorCode::MissingField
        } else if inner.starts_with("unknown field") {
            ErrorCode::UnknownField
        } else {
            ErrorCode::InvalidField
        };
        // A missing field's path is its parent; an unknown one's is itself.
        let field = if code == ErrorCode::MissingField {
            let name = inner.split('`').nth(1).unwrap_or("").to_string();
            if path == "." || path.is_empty() {
                name
            } else {
                format!("{path}.{name}")
            }
        } else {
            path
        };
        Error::field(code, &field, inner)
    })
}
