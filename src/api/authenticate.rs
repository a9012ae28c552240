//! The HTTP edge of authentication: every request under `/api/v1` passes
//! [`authenticate`], which finds the principal — a staff session (cookie),
//! or a HIS client (API key, its signature when required, its rate limit,
//! the staff member it acts for) — and puts it in the request's
//! extensions, or refuses the request (401, 403, 429) before any handler
//! runs. No credentials at all is no principal: handlers that need one
//! answer 401 through the `Caller` extractor.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures_util::StreamExt;

use super::error::ApiError;
use crate::auth::policy::{Principal, Scope};
use crate::auth::{csrf_token, his, Auth, CSRF_HEADER, SESSION_COOKIE};
use triage_ground::error::{Error, ErrorCode};

/// The largest body a signed request may carry (a doctor with a photo).
const SIGNED_BODY_LIMIT: usize = 1024 * 1024 + 1024;

/// The session and password endpoints: the only ones a session that must
/// change its password may use.
const SESSION_PATHS: [&str; 2] = ["/api/v1/session", "/api/v1/session/password"];

/// The client address of a request (the audit log's "from where", the
/// key of the login limits): the peer's, or behind a trusted proxy the
/// workstation's its forwarding header names (`[security]
/// trusted_proxies`, ADR 0017).
pub fn source_of(req: &actix_web::HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let joined = |name: &str| {
        let values: Vec<&str> = req
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    match req.app_data::<web::Data<Auth>>() {
        Some(auth) => auth
            .client_address(peer, joined("x-forwarded-for").as_deref())
            .to_string(),
        None => peer.to_string(),
    }
}

/// Finds who is calling; see the module documentation.
pub async fn authenticate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(auth) = req.app_data::<web::Data<Auth>>().cloned() else {
        let e = ApiError::from(Error::new(ErrorCode::InternalError, "no accounts"));
        return Ok(req.error_response(e).map_into_right_body());
    };
    match identify(&auth, &mut req).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
        }
        Ok(None) => {}
        Err(e) => return Ok(req.error_response(e).map_into_right_body()),
    }
    Ok(next.call(req).await?.map_into_left_body())
}

async fn identify(auth: &Auth, req: &mut ServiceRequest) -> Result<Option<Principal>, ApiError> {
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("").to_string());
    if let Some(value) = bearer {
        return client(auth, req, &value).await.map(Some);
    }
    let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
    let Some(session_id) = cookie else {
        return Ok(None);
    };
    let is_login = req.path() == SESSION_PATHS[0] && req.method() == Method::POST;
    let principal = match auth.session(&session_id) {
        Ok(p) => p,
        // A stale cookie does not stand in the way of logging in again.
        Err(_) if is_login => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !reads && !is_login {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !triage_ground::secret::same(sent, &csrf_token(&session_id)) {
            return Err(Error::new(
                ErrorCode::CsrfFailed,
                "a write from a staff page must carry its X-CSRF-Token",
            )
            .into());
        }
    }
    if let Principal::Staff {
        must_change: true, ..
    } = principal
    {
        if !SESSION_PATHS.contains(&req.path()) {
            return Err(Error::new(
                ErrorCode::PasswordChangeRequired,
                "change your password first (POST /api/v1/session/password)",
            )
            .into());
        }
    }
    Ok(Some(principal))
}

fn unauthorized(code: ErrorCode, message: &str) -> ApiError {
    Error::new(code, message).into()
}

/// A HIS client: its key, its signature, its allowance, who it acts for.
async fn client(auth: &Auth, req: &mut ServiceRequest, value: &str) -> Result<Principal, ApiError> {
    // The scheme's name is case-insensitive (RFC 9110 §11.1): `bearer`,
    // `BEARER` and `Bearer` alike.
    let key = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::BadCredentials,
                "send Authorization: Bearer <API key>",
            )
        })?;
    // A signing client sends only its key id (`tk_<id>`): the secret never
    // travels, so a captured request gives nothing to sign new ones with.
    // Otherwise the whole key, checked against its digest.
    let (client, id_only) = match his::key_id(key) {
        Some(id) => (
            auth.client(id)
                .filter(|c| triage_ground::secret::same(&c.key_hash, &his::verifier(key))),
            false,
        ),
        None => (his::bare_key_id(key).and_then(|id| auth.client(id)), true),
    };
    let client = client
        .ok_or_else(|| unauthorized(ErrorCode::BadCredentials, "unknown or revoked API key"))?;
    let signed = req.headers().contains_key(his::SIGNATURE_HEADER);
    if (client.require_signature || id_only) && !signed {
        return Err(unauthorized(
            ErrorCode::SignatureRequired,
            "this client must sign its requests (X-Triage-Signature)",
        ));
    }
    if signed {
        verify_signature(auth, req, &client).await?;
    }
    if let Err(wait) = auth.client_allowance(&client) {
        tracing::warn!(client = %client.name, "HIS client over its rate limit");
        return Err(ApiError::too_many(
            format!(
                "over this client's limit of {} requests per minute",
                client_rate(&client)
            ),
            wait,
        ));
    }
    let acting = match req.headers().get(his::ACTING_HEADER) {
        None => None,
        Some(v) => {
            if !client.scopes.contains(&Scope::Calling) {
                return Err(Error::new(
                    ErrorCode::Forbidden,
                    "only a client with the calling scope may act for staff",
                )
                .into());
            }
            Some(auth.acting_staff(v.to_str().unwrap_or(""))?)
        }
    };
    Ok(Principal::Client {
        name: client.name.clone(),
        scopes: client.scopes.clone(),
        acting,
    })
}

fn client_rate(c: &crate::auth::Client) -> u32 {
    c.rate_per_minute
}

fn header<'a>(req: &'a ServiceRequest, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Checks a signed request: its time, its signature over the body (read
/// here and put back for the handler), then its nonce.
async fn verify_signature(
    auth: &Auth,
    req: &mut ServiceRequest,
    client: &crate::auth::Client,
) -> Result<(), ApiError> {
    let timestamp = header(req, his::TIMESTAMP_HEADER).to_string();
    let nonce = header(req, his::NONCE_HEADER).to_string();
    let signature = header(req, his::SIGNATURE_HEADER).to_string();
    let now = auth.now().timestamp();
    let at: i64 = timestamp.parse().map_err(|_| {
        unauthorized(
            ErrorCode::StaleRequest,
            "X-Triage-Timestamp must be unix seconds",
        )
    })?;
    if now.abs_diff(at) > his::MAX_SKEW.unsigned_abs() {
        return Err(unauthorized(
            ErrorCode::StaleRequest,
            "the request's timestamp is more than 300 s from the server's clock",
        ));
    }
    if !his::nonce_ok(&nonce) {
        return Err(unauthorized(
            ErrorCode::BadSignature,
            "X-Triage-Nonce must be 8-64 letters, digits, '-' or '_'",
        ));
    }
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::from(Error::new(
                ErrorCode::UnreadableBody,
                "the request body could not be read",
            ))
        })?;
        if body.len() + chunk.len() > SIGNED_BODY_LIMIT {
            return Err(
                Error::new(ErrorCode::PayloadTooLarge, "the request body is too large").into(),
            );
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_string(), |p| p.as_str().to_string());
    let acting = header(req, his::ACTING_HEADER).to_string();
    let text = his::string_to_sign(
        req.method().as_str(),
        &path,
        &timestamp,
        &nonce,
        &acting,
        &body,
    );
    if !auth.signature_ok(client, &text, &signature) {
        tracing::warn!("HIS request refused: bad signature");
        return Err(unauthorized(
            ErrorCode::BadSignature,
            "the signature does not match this request",
        ));
    }
    if !auth.fresh_nonce(&client.key_id, &nonce, at).await? {
        tracing::warn!("HIS request refused: nonce used before");
        return Err(unauthorized(
            ErrorCode::ReplayedRequest,
            "this nonce was used before: a replayed request",
        ));
    }
    req.set_payload(Payload::from(body));
    Ok(())
}
