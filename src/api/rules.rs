//! Queue rules through the API: `GET` and `PUT /api/v1/queues/{code}/rules`.
//! A change is validated (422, nothing changes), stored with an audit event
//! (old rules, new rules, who, why), then takes effect at once for everyone
//! waiting. Stored rules override the configuration file's at start-up.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use triage_actors::queue::{ChangeRules, GetRules};
use triage_actors::rules::QueueRules;
use utoipa::ToSchema;

use super::error::ApiError;
use super::{audit, from_value, parse_json, read_body, BODY_LIMIT};
use crate::engine::Engine;
use crate::rule_change::RuleChange;

/// A change of rules (every field of [`RuleChange`], absent ones keep
/// their value) and why.
#[derive(Deserialize, ToSchema)]
pub struct RulesBody {
    #[serde(flatten)]
    pub change: RuleChange,
    /// Why (recorded in the audit event).
    pub reason: String,
}

/// A queue's rules in force.
#[derive(Serialize, ToSchema)]
pub struct RulesAnswer {
    pub queue_code: String,
    #[schema(value_type = Object)]
    pub rules: QueueRules,
}

/// Reads a rules body: `reason` plus a [`RuleChange`] (unknown fields are
/// refused, naming the field).
fn parse_body(req: &HttpRequest, bytes: &web::Bytes) -> Result<(RuleChange, String), ApiError> {
    let (value, _): (serde_json::Value, String) = parse_json(req, bytes)?;
    let mut obj = match value {
        serde_json::Value::Object(obj) => obj,
        _ => return Err(ApiError::bad_request("malformed_json", "a JSON object")),
    };
    let reason = match obj.remove("reason") {
        Some(serde_json::Value::String(r)) => r,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_field",
                "reason",
                "reason is a string",
            ))
        }
        None => {
            return Err(ApiError::invalid(
                "missing_field",
                "reason",
                "missing field `reason`",
            ))
        }
    };
    let change: RuleChange = from_value(serde_json::Value::Object(obj))?;
    Ok((change, reason))
}

/// Applies a change to `current`; the first problem is the answer (422).
pub fn merge(
    current: &QueueRules,
    change: &RuleChange,
) -> Result<QueueRules, triage_actors::EngineError> {
    change.apply(current).map_err(|errors| {
        let (code, field, message) = match errors.into_iter().next() {
            Some(e) => (e.code, e.field, e.message),
            None => (
                "invalid_rule",
                String::new(),
                "the change was refused".into(),
            ),
        };
        triage_actors::EngineError::InvalidRules {
            code,
            field,
            message,
        }
    })
}

fn queue(
    engine: &Engine,
    code: &str,
) -> Result<actix::Addr<triage_actors::queue::QueueActor>, ApiError> {
    engine
        .directory
        .queues
        .get(code)
        .map(|a| a.clone())
        .ok_or_else(|| ApiError::not_found("queue_not_found", format!("no queue {code:?}")))
}

#[utoipa::path(get, path = "/api/v1/queues/{queue_code}/rules", tag = "configuration", params(("queue_code" = String, Path)),
    responses((status = 200, body = RulesAnswer), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn get(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let rules = queue(&engine, &code)?
        .send(GetRules)
        .await
        .map_err(triage_actors::EngineError::from)?;
    Ok(HttpResponse::Ok().json(RulesAnswer {
        queue_code: code,
        rules,
    }))
}

#[utoipa::path(put, path = "/api/v1/queues/{queue_code}/rules", tag = "configuration", params(("queue_code" = String, Path)), request_body = RulesBody,
    responses((status = 200, description = "stored, audited, in force for everyone waiting", body = RulesAnswer),
              (status = 404, body = super::openapi::ErrorBody), (status = 422, description = "invalid; nothing changed", body = super::openapi::ErrorBody)))]
pub async fn put(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let addr = queue(&engine, &code)?;
    let mut audit = audit(&req, &engine, "anonymous")?;
    let bytes = read_body(payload, BODY_LIMIT).await?;
    let (change, reason) = parse_body(&req, &bytes)?;
    audit.reason = Some(crate::service::audit_reason(&reason)?);
    let rules = addr
        .send(ChangeRules {
            merge: Box::new(move |current| merge(current, &change)),
            audit,
        })
        .await
        .map_err(triage_actors::EngineError::from)??;
    tracing::info!(queue = %code, "queue rules changed");
    Ok(HttpResponse::Ok().json(RulesAnswer {
        queue_code: code,
        rules,
    }))
}
