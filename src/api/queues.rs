//! Queues: `GET /queues` (with the rules in force), `GET /queues/{code}`
//! (the waiting list in calling order, each patient with the rule that
//! placed them) and the rules `GET|PUT /queues/{code}/rules` — a change is
//! validated against the rules in force inside the queue actor, journaled
//! and audited old → new, then in force at once for everyone waiting.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use triage_actors::rules::QueueRules;
use utoipa::ToSchema;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{caller, from_value, optional_json, Caller};
use super::fields::audit_reason;
use crate::engine::{Engine, QueueAnswer};
use crate::rule_change::RuleChange;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::QueueCode;

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(get, path = "/api/v1/queues", tag = "configuration", responses((status = 200, description = "queues with their rules and waiting count")))]
pub async fn list_queues(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_hospital()?;
    let mut queues = Vec::with_capacity(engine.hospital().queues.len());
    for q in &engine.hospital().queues {
        if !caller.principal.may_read(engine.hospital(), &q.department) {
            continue;
        }
        // The rules in force (the API may have changed the configured ones).
        let rules = engine
            .directory()
            .rules_of(&q.code)
            .map_or_else(|| q.rules.clone(), |r| (*r).clone());
        queues.push(serde_json::json!({
            "code": q.code,
            "name": q.name,
            "department_code": q.department,
            "doctor_code": q.doctor,
            "prefix": q.prefix,
            "rules": rules,
            "waiting": engine.directory().queue_board(&q.code).waiting,
        }));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "queues": queues })))
}

/// Whether the caller may see this queue (404 first for one that does not
/// exist).
fn may_read(caller: &Caller, engine: &Engine, queue: &QueueCode) -> Result<(), Error> {
    let def = engine
        .hospital()
        .queue(queue)
        .ok_or_else(|| Error::new(ErrorCode::QueueNotFound, format!("no queue {queue:?}")))?;
    caller.principal.read(engine.hospital(), &def.department)
}

#[utoipa::path(get, path = "/api/v1/queues/{queue_code}", tag = "calling", params(("queue_code" = String, Path)), responses((status = 200, description = "the waiting list in calling order, each entry with the rule that placed it", body = QueueAnswer), (status = 404, body = ErrorBody)))]
pub async fn get_queue(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let queue = QueueCode::parse(&path)?;
    may_read(&caller, &engine, &queue)?;
    Ok(HttpResponse::Ok().json(engine.list_queue(&queue).await?))
}

/// A change of rules (every field of [`RuleChange`], absent ones keep
/// their value) and why.
#[derive(Deserialize)]
pub struct RulesBody {
    #[serde(flatten)]
    pub change: RuleChange,
    /// Why (recorded in the audit event).
    pub reason: String,
}

/// The document shows the body as what the server reads: one object with
/// every field of [`RuleChange`] and `reason`, nothing else. (Derived, it
/// would be `allOf` of a closed `RuleChange` and `reason`, which no body
/// satisfies.)
impl utoipa::PartialSchema for RulesBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Object, Schema, Type};
        use utoipa::openapi::RefOr;
        let mut schema = <RuleChange as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(o)) = &mut schema {
            let mut reason = Object::with_type(Type::String);
            reason.description =
                Some("Why (recorded in the audit event): 1-200 characters.".into());
            reason.min_length = Some(1);
            reason.max_length = Some(200);
            o.properties
                .insert("reason".into(), RefOr::T(Schema::Object(reason)));
            o.required.push("reason".into());
            o.description =
                Some("A change of rules (absent fields keep their value) and why.".into());
        }
        schema
    }
}

impl ToSchema for RulesBody {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RuleChange as ToSchema>::schemas(schemas);
    }
}

/// A queue's rules in force.
#[derive(Serialize, ToSchema)]
pub struct RulesAnswer {
    pub queue_code: String,
    #[schema(value_type = Object)]
    pub rules: QueueRules,
    /// The same rules in the vocabulary of `PUT` (every field): what a form
    /// shows and sends back changed.
    pub form: RuleChange,
}

impl RulesAnswer {
    fn of(queue_code: String, rules: QueueRules) -> RulesAnswer {
        RulesAnswer {
            queue_code,
            form: RuleChange::of(&rules),
            rules,
        }
    }
}

/// Splits a rules body into `reason` and a [`RuleChange`] (unknown fields
/// are refused, naming the field).
fn split_body(value: serde_json::Value) -> Result<(RuleChange, String), Error> {
    let mut obj = match value {
        serde_json::Value::Object(obj) => obj,
        _ => return Err(Error::new(ErrorCode::MalformedJson, "a JSON object")),
    };
    let reason = match obj.remove("reason") {
        Some(serde_json::Value::String(r)) => r,
        Some(_) => {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "reason",
                "reason is a string",
            ))
        }
        None => {
            return Err(Error::field(
                ErrorCode::MissingField,
                "reason",
                "missing field `reason`",
            ))
        }
    };
    let change: RuleChange = from_value(serde_json::Value::Object(obj))?;
    Ok((change, reason))
}

#[utoipa::path(get, path = "/api/v1/queues/{queue_code}/rules", tag = "configuration", params(("queue_code" = String, Path)),
    responses((status = 200, body = RulesAnswer), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_rules(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let queue = QueueCode::parse(&path)?;
    may_read(&caller, &engine, &queue)?;
    let rules = engine.rules(&queue).await?;
    Ok(HttpResponse::Ok().json(RulesAnswer::of(path.into_inner(), rules)))
}

#[utoipa::path(put, path = "/api/v1/queues/{queue_code}/rules", tag = "configuration", params(("queue_code" = String, Path)), request_body = RulesBody,
    responses((status = 200, description = "stored, audited, in force for everyone waiting", body = RulesAnswer),
              (status = 404, body = super::error::ErrorBody), (status = 422, description = "invalid; nothing changed", body = super::error::ErrorBody)))]
pub async fn put_rules(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    engine: web::Data<Engine>,
) -> Answer {
    // The queue first (404), then who (401/403), then the body (400/415/422).
    let queue = QueueCode::parse(&path)?;
    engine.rules(&queue).await?;
    let caller = caller(&req)?;
    let department = engine
        .hospital()
        .queue(&queue)
        .map(|q| q.department.to_string())
        .unwrap_or_default();
    caller
        .principal
        .change_rules(engine.hospital(), &department)?;
    let value = optional_json::<serde_json::Value>(&req, &body)?
        .map(|(v, _)| v)
        .ok_or_else(|| Error::new(ErrorCode::MissingBody, "a JSON body is required"))?;
    let (change, reason) = split_body(value)?;
    let audit = caller.acting_why(audit_reason(&reason)?);
    let rules = engine.change_rules(&queue, change, audit).await?;
    Ok(HttpResponse::Ok().json(RulesAnswer::of(path.into_inner(), rules)))
}
