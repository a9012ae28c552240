//! Fault records (故障工单) over HTTP: `GET /api/v1/faults` (filtered, with
//! mean times to acknowledge and resolve), `GET /api/v1/faults/{id}` (with
//! its timeline), `POST /api/v1/faults` (a nurse reports one: 报障), and
//! `POST /api/v1/faults/{id}/acknowledge | resolve | archive`. Any staff
//! member reads and reports; nurses and administrators acknowledge,
//! resolve and archive.
//!
//! The link in an alert mail: `GET /ack/{id}?who=…&sig=…` shows the fault
//! and a confirm button (a mail scanner following links changes nothing);
//! `POST /ack/{id}` with the same `who` and `sig` acknowledges it for that
//! on-call person. The signature (HMAC with a key kept in the database) is
//! the authority; no session is needed.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json};
use crate::alerts::store::Filter;
use crate::alerts::{Alerts, FaultList, FaultView};
use crate::auth::policy::Role;
use crate::db::columns::{FaultKind, FaultState};
use triage_ground::error::{Error, ErrorCode};

type Answer = Result<HttpResponse, ApiError>;

fn staff(caller: &Caller) -> Result<&crate::auth::policy::Staff, Error> {
    caller
        .principal
        .staff()
        .ok_or_else(|| Error::new(ErrorCode::Forbidden, "fault records are for staff"))
}

/// Acknowledging, resolving, archiving: nurses and administrators.
fn handles(caller: &Caller) -> Result<String, Error> {
    let s = staff(caller)?;
    match s.role {
        Role::Admin | Role::Nurse => Ok(s.code.clone()),
        Role::Doctor => Err(Error::new(
            ErrorCode::Forbidden,
            "faults are handled by the triage desk and administrators",
        )),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FaultQuery {
    /// `opened`, `acknowledged`, `resolved`, `archived`.
    #[param(pattern = "^(opened|acknowledged|resolved|archived)$")]
    pub state: Option<String>,
    /// `screen_offline`, `database`, `his_silent`, `error_rate`,
    /// `queue_wait`, `disk_low`, `backup_failed`, `backup_missing`, `reported`,
    /// `login_failures`, `operations`.
    #[param(
        pattern = "^(screen_offline|database|his_silent|error_rate|queue_wait|disk_low|backup_failed|backup_missing|reported|login_failures|operations)$"
    )]
    pub kind: Option<String>,
    /// Opened at or after (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Opened before (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<i64>,
}

fn instant(field: &str, text: &str) -> Result<chrono::NaiveDateTime, Error> {
    triage_ground::time::parse_rfc3339(text)
        .map(|t| t.naive_utc())
        .ok_or(())
        .map_err(|_| Error::field(ErrorCode::InvalidField, field, "an RFC 3339 time"))
}

#[utoipa::path(get, path = "/api/v1/faults", tag = "faults", operation_id = "list_faults", params(FaultQuery),
    responses((status = 200, description = "fault records, newest first, with the mean seconds to acknowledge and to resolve of those listed", body = FaultList),
              (status = 401, body = ErrorBody), (status = 403, description = "not staff", body = ErrorBody),
              (status = 422, description = "invalid_field (state, kind, since, until, limit)", body = ErrorBody)))]
pub async fn list(
    query: web::Query<FaultQuery>,
    caller: Caller,
    alerts: web::Data<Alerts>,
) -> Answer {
    staff(&caller)?;
    let q = query.into_inner();
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(FaultState::parse(s).ok_or_else(|| {
            Error::field(
                ErrorCode::InvalidField,
                "state",
                "opened, acknowledged, resolved or archived",
            )
        })?),
    };
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => Some(FaultKind::parse(k).ok_or_else(|| {
            let all: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
            Error::field(
                ErrorCode::InvalidField,
                "kind",
                format!("one of {}", all.join(", ")),
            )
        })?),
    };
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(Error::field(ErrorCode::InvalidField, "limit", "1 to 1000").into());
    }
    let filter = Filter {
        state,
        kind,
        since: q
            .since
            .as_deref()
            .map(|t| instant("since", t))
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|t| instant("until", t))
            .transpose()?,
        limit,
    };
    Ok(HttpResponse::Ok().json(alerts.list(filter).await?))
}

#[utoipa::path(get, path = "/api/v1/faults/{id}", tag = "faults", params(("id" = i64, Path)),
    responses((status = 200, description = "one fault record with its timeline (opened, notified, reminded, acknowledged, resolved, archived)", body = FaultView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "fault_not_found", body = ErrorBody)))]
pub async fn get(path: web::Path<i64>, caller: Caller, alerts: web::Data<Alerts>) -> Answer {
    staff(&caller)?;
    Ok(HttpResponse::Ok().json(alerts.fault(path.into_inner()).await?))
}

/// A fault a nurse reports (报障).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// 1-100 characters, e.g. "3诊室门口屏黑屏".
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// What is seen, 0-1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub detail: String,
    /// Where (a room or place), 0-100 characters.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub place: String,
}

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, Error> {
    // At least `min` once trimmed, at most `max` as sent (the document's
    // lengths), stored trimmed.
    let v = value.trim();
    if v.chars().count() < min || value.chars().count() > max {
        return Err(Error::field(
            ErrorCode::InvalidField,
            field,
            format!("{min} to {max} characters"),
        ));
    }
    Ok(v.to_string())
}

#[utoipa::path(post, path = "/api/v1/faults", tag = "faults", request_body = ReportBody,
    responses((status = 201, description = "reported (报障): a fault record opened, the on-call person told", body = FaultView),
              (status = 401, body = ErrorBody), (status = 403, description = "not staff", body = ErrorBody),
              (status = 422, description = "invalid_field (title, detail, place)", body = ErrorBody)))]
pub async fn report(body: Json<ReportBody>, caller: Caller, alerts: web::Data<Alerts>) -> Answer {
    let who = staff(&caller)?.code.clone();
    let b = body.value;
    let title = text("title", &b.title, 1, 100)?;
    let detail = text("detail", &b.detail, 0, 1000)?;
    let place = text("place", &b.place, 0, 100)?;
    let detail = if detail.is_empty() {
        title.clone()
    } else {
        detail
    };
    let place = if place.is_empty() {
        "（未填写）".to_string()
    } else {
        place
    };
    let f = alerts.report(&who, &title, &detail, &place).await?;
    Ok(HttpResponse::Created().json(f))
}

/// Resolving by hand: what was done.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// 1-500 characters, e.g. "更换网线后恢复".
    #[schema(min_length = 1, max_length = 500)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/faults/{id}/acknowledge", tag = "faults", params(("id" = i64, Path)),
    responses((status = 200, description = "acknowledged (已响应): no more reminders or escalations; again: unchanged", body = FaultView),
              (status = 401, body = ErrorBody), (status = 403, description = "not a nurse or an administrator", body = ErrorBody),
              (status = 404, description = "fault_not_found", body = ErrorBody)))]
pub async fn acknowledge(
    path: web::Path<i64>,
    caller: Caller,
    alerts: web::Data<Alerts>,
) -> Answer {
    let who = handles(&caller)?;
    Ok(HttpResponse::Ok().json(alerts.acknowledge(path.into_inner(), &who).await?))
}

#[utoipa::path(post, path = "/api/v1/faults/{id}/resolve", tag = "faults", params(("id" = i64, Path)), request_body = ResolveBody,
    responses((status = 200, description = "resolved (已处理) with the note; everyone told hears (messages not sent yet are dropped); resolved or archived already: unchanged", body = FaultView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "fault_not_found", body = ErrorBody),
              (status = 422, description = "invalid_field (note)", body = ErrorBody)))]
pub async fn resolve(
    path: web::Path<i64>,
    body: Json<ResolveBody>,
    caller: Caller,
    alerts: web::Data<Alerts>,
) -> Answer {
    let who = handles(&caller)?;
    let note = text("note", &body.value.note, 1, 500)?;
    Ok(HttpResponse::Ok().json(alerts.resolve(path.into_inner(), &who, note).await?))
}

#[utoipa::path(post, path = "/api/v1/faults/{id}/archive", tag = "faults", params(("id" = i64, Path)),
    responses((status = 200, description = "archived (归档)", body = FaultView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "fault_not_found", body = ErrorBody),
              (status = 409, description = "fault_state: resolve it first", body = ErrorBody)))]
pub async fn archive(path: web::Path<i64>, caller: Caller, alerts: web::Data<Alerts>) -> Answer {
    let who = handles(&caller)?;
    Ok(HttpResponse::Ok().json(alerts.archive(path.into_inner(), &who).await?))
}

/// The link of an alert mail.
#[derive(Deserialize)]
pub struct AckLink {
    who: String,
    sig: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title>\
             <link rel=\"stylesheet\" href=\"/display/staff/staff.css\"></head>\
             <body><main class=\"ack\"><h1>{t}</h1>{body}</main></body></html>",
            t = escape(title)
        ))
}

fn refused() -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><meta charset=\"utf-8\"><title>链接无效</title><p>链接无效或已被篡改。</p>")
}

fn later() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((
            actix_web::http::header::RETRY_AFTER,
            super::error::RETRY_AFTER_UNAVAILABLE.to_string(),
        ))
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><meta charset=\"utf-8\"><title>请稍后再试</title><p>暂时无法确认（系统数据库不可用），请稍后再试。</p>")
}

/// `GET /ack/{id}`: the fault and a confirm button.
pub async fn ack_page(
    path: web::Path<i64>,
    q: web::Query<AckLink>,
    alerts: web::Data<Alerts>,
) -> HttpResponse {
    let id = path.into_inner();
    if !alerts.verify_link(id, &q.who, &q.sig) {
        return refused();
    }
    let f = match alerts.fault(id).await {
        Ok(f) => f,
        Err(e) if e.code == ErrorCode::FaultNotFound => return refused(),
        Err(_) => return later(),
    };
    let state = match f.state {
        FaultState::Opened => "待确认",
        FaultState::Acknowledged => "已确认",
        FaultState::Resolved => "已恢复",
        FaultState::Archived => "已归档",
    };
    let button = if f.state == FaultState::Opened {
        format!(
            "<form method=\"post\" action=\"/ack/{id}\"><input type=\"hidden\" name=\"who\" value=\"{}\"><input type=\"hidden\" name=\"sig\" value=\"{}\"><button type=\"submit\">确认已收到，我来处理</button></form>",
            escape(&q.who),
            escape(&q.sig)
        )
    } else {
        String::new()
    };
    page(
        &format!("故障工单 #{id}"),
        &format!(
            "<p><strong>{}</strong></p><p>{}</p><p>地点：{}</p><p>状态：{state}</p>{button}",
            escape(&f.title),
            escape(&f.detail),
            escape(&f.place)
        ),
    )
}

/// `POST /ack/{id}`: acknowledges for the person the link was sent to.
pub async fn ack_confirm(
    path: web::Path<i64>,
    form: web::Form<AckLink>,
    alerts: web::Data<Alerts>,
) -> HttpResponse {
    let id = path.into_inner();
    if !alerts.verify_link(id, &form.who, &form.sig) {
        return refused();
    }
    match alerts.acknowledge(id, &format!("mail:{}", form.who)).await {
        Ok(f) => page(
            &format!("故障工单 #{id}"),
            &format!(
                "<p>已确认：{}。不再提醒，也不再升级通知。</p><p>状态：{}</p>",
                escape(&f.title),
                if f.state == FaultState::Acknowledged {
                    "已确认"
                } else {
                    "已恢复或归档"
                }
            ),
        ),
        Err(_) => later(),
    }
}
