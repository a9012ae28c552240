//! Queue rules through the API: `GET` and `PUT /api/v1/queues/{code}/rules`.
//! A change is validated (422, nothing changes), stored with an audit event
//! (old rules, new rules, who, why), then takes effect at once for everyone
//! waiting. Stored rules override the configuration file's at start-up.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use triage_actors::queue::{GetRules, SetRules};
use triage_actors::rules::QueueRules;
use utoipa::ToSchema;

use super::error::ApiError;
use super::{audit, parse_json, read_body, BODY_LIMIT};
use crate::config::KNOWN_TAGS;
use crate::db::models::QueueRulesRow;
use crate::db::store;
use crate::engine::Engine;

/// A change of rules; absent fields keep their value.
#[derive(Deserialize, ToSchema)]
pub struct RulesBody {
    /// Return visits: N normal patients between (0-50).
    pub return_interval: Option<i64>,
    /// `true`: return visits queue as normal patients.
    pub return_as_normal: Option<bool>,
    /// Return visits by ratio: one every K calls (2-20); 0 = interval rule.
    pub return_ratio: Option<i64>,
    /// Back after a missed call: N normal patients first (0-50).
    pub recall_interval: Option<i64>,
    /// After K priority/inserted calls in a row, a normal patient (1-50; 0 = off).
    pub fairness_cap: Option<i64>,
    /// Missed calls that end a visit as no-show (1-9).
    pub max_misses: Option<i64>,
    /// Locked head: the first L waiting patients are fixed (0 = off, up to 10).
    pub locked_head: Option<i64>,
    /// Appointment patients among walk-ins: `merged` or `always_first`.
    #[schema(value_type = Option<String>)]
    pub appointment_mode: Option<triage_actors::rules::AppointmentMode>,
    /// Minutes before the slot an appointment patient may check in
    /// (-1 = any time, 0 = not before the slot, up to 720).
    pub early_check_in_minutes: Option<i64>,
    /// Late appointment patients: N normal patients first (0-50; -1 = as if on time).
    pub late_arrival_interval: Option<i64>,
    /// Tag → level (1 first): military, elderly, disabled, pregnant, child.
    pub special_levels: Option<BTreeMap<String, i64>>,
    /// `elderly` from this age (50-120).
    pub elderly_min_age: Option<i64>,
    /// `child` below this age (1-18).
    pub child_max_age: Option<i64>,
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

fn in_range(v: i64, lo: i64, hi: i64, field: &str, what: &str) -> Result<u32, ApiError> {
    if (lo..=hi).contains(&v) {
        Ok(v as u32)
    } else {
        Err(ApiError::invalid(
            "invalid_rule",
            field,
            format!("{what}: {lo} to {hi}"),
        ))
    }
}

/// Applies a change to `current`, validating every field.
pub fn merge(current: &QueueRules, b: &RulesBody) -> Result<QueueRules, ApiError> {
    let mut r = current.clone();
    if let Some(n) = b.return_interval {
        r.return_interval = Some(in_range(
            n,
            0,
            50,
            "return_interval",
            "normal patients between return visits",
        )?);
    }
    if b.return_as_normal == Some(true) {
        r.return_interval = None;
    }
    if let Some(n) = b.return_ratio {
        r.return_ratio = if n == 0 {
            None
        } else {
            Some(in_range(
                n,
                2,
                20,
                "return_ratio",
                "one return patient every K calls",
            )?)
        };
    }
    if let Some(n) = b.recall_interval {
        r.recall_interval = in_range(
            n,
            0,
            50,
            "recall_interval",
            "normal patients before a recalled patient",
        )?;
    }
    if let Some(n) = b.fairness_cap {
        r.fairness_cap = if n == 0 {
            None
        } else {
            Some(in_range(
                n,
                1,
                50,
                "fairness_cap",
                "priority calls in a row (0 = no cap)",
            )?)
        };
    }
    if let Some(m) = b.appointment_mode {
        r.appointment_mode = m;
    }
    if let Some(n) = b.early_check_in_minutes {
        use triage_actors::rules::EarlyCheckIn;
        r.early_check_in = match n {
            -1 => EarlyCheckIn::Unlimited,
            0 => EarlyCheckIn::Forbidden,
            m => EarlyCheckIn::Minutes(in_range(
                m,
                1,
                720,
                "early_check_in_minutes",
                "-1, 0 or minutes",
            )?),
        };
    }
    if let Some(n) = b.late_arrival_interval {
        use triage_actors::rules::LateArrival;
        r.late_arrival = if n == -1 {
            LateArrival::AsOnTime
        } else {
            LateArrival::Interval(in_range(
                n,
                0,
                50,
                "late_arrival_interval",
                "-1 (as on time) or normal patients first",
            )?)
        };
    }
    if let Some(n) = b.locked_head {
        r.locked_head = in_range(n, 0, 10, "locked_head", "patients in the locked head")?;
    }
    if let Some(n) = b.max_misses {
        r.max_misses = in_range(n, 1, 9, "max_misses", "missed calls before no-show")?;
    }
    if let Some(levels) = &b.special_levels {
        let mut map = BTreeMap::new();
        for (tag, level) in levels {
            if !KNOWN_TAGS.contains(&tag.as_str()) {
                return Err(ApiError::invalid(
                    "unknown_special_tag",
                    &format!("special_levels.{tag}"),
                    format!("known tags: {}", KNOWN_TAGS.join(", ")),
                ));
            }
            map.insert(
                tag.clone(),
                in_range(*level, 1, 9, &format!("special_levels.{tag}"), "levels")? as u8,
            );
        }
        r.special_levels = map;
    }
    if let Some(n) = b.elderly_min_age {
        r.elderly_min_age = Some(in_range(n, 50, 120, "elderly_min_age", "years")?);
    }
    if let Some(n) = b.child_max_age {
        r.child_max_age = Some(in_range(n, 1, 18, "child_max_age", "years")?);
    }
    Ok(r)
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
    let (body, _): (RulesBody, String) = parse_json(&req, &bytes)?;
    audit.reason = Some(crate::service::audit_reason(&body.reason)?);
    let current = addr
        .send(GetRules)
        .await
        .map_err(triage_actors::EngineError::from)?;
    let rules = merge(&current, &body)?;
    let previous = serde_json::to_string(&current).unwrap_or_default();
    let row = QueueRulesRow {
        queue_code: code.clone(),
        rules: serde_json::to_string(&rules).map_err(|_| ApiError::internal())?,
        operator: audit.operator.clone(),
        updated_at: audit.at.naive_utc(),
    };
    engine
        .db
        .write(move |c| store::save_queue_rules(c, row, &previous, &audit))
        .await?;
    addr.send(SetRules(rules.clone()))
        .await
        .map_err(triage_actors::EngineError::from)?;
    tracing::info!(queue = %code, "queue rules changed");
    Ok(HttpResponse::Ok().json(RulesAnswer {
        queue_code: code,
        rules,
    }))
}
