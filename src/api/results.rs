//! Exam results (检查结果): `PUT /results/{report_id}` from exam stations,
//! RIS or LIS; `GET /results?visit_no=` (every report of a visit, Base64
//! images plus structured text) and `GET /results/{report_id}`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json, RESULT_BODY_LIMIT};
use crate::engine::results::{ExamReportBody, ExamReportView, Stored};
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::VisitNo;

type Answer = Result<HttpResponse, ApiError>;

/// What a `PUT` answers: what happened and the report in force.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ExamReportAnswer {
    pub outcome: Stored,
    pub report: ExamReportView,
}

#[utoipa::path(put, path = "/api/v1/results/{report_id}", tag = "HIS", params(("report_id" = String, Path, description = "1 to 64 letters, digits, '-', '_' or '.'")), request_body = ExamReportBody,
    responses(
        (status = 201, description = "the first version of this report", body = ExamReportAnswer),
        (status = 200, description = "a new version (updated, or superseded: older than the one in force and kept in the history), or this very version again (unchanged)", body = ExamReportAnswer),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "not an exam station (results scope) or administrator", body = ErrorBody),
        (status = 404, description = "no such visit", body = ErrorBody),
        (status = 413, description = "body over 32 MiB", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody),
        (status = 422, description = "a field is invalid, or an image is not Base64, not its declared type, or over 4 MiB (invalid_image); nothing stored", body = ErrorBody)))]
pub async fn put_result(
    path: web::Path<String>,
    body: Json<ExamReportBody, RESULT_BODY_LIMIT>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.report_results()?;
    let audit = caller.acting();
    let (outcome, report) = engine.put_report(&path, body.value, audit).await?;
    let answer = ExamReportAnswer { outcome, report };
    Ok(if outcome == Stored::Created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct VisitQuery {
    /// The visit whose reports are wanted (required).
    #[param(
        required = true,
        pattern = "^[A-Za-z0-9._-]{1,64}$",
        min_length = 1,
        max_length = 64
    )]
    pub visit_no: Option<String>,
}

/// Every report of a visit.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct VisitResultsAnswer {
    pub visit_no: String,
    pub reports: Vec<ExamReportView>,
}

#[utoipa::path(get, path = "/api/v1/results", tag = "HIS", params(VisitQuery),
    responses(
        (status = 200, description = "every report of the visit in force, with Base64 images and its history", body = VisitResultsAnswer),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "the visit's department is outside the caller's", body = ErrorBody),
        (status = 404, description = "no such visit", body = ErrorBody),
        (status = 422, description = "visit_no missing or malformed", body = ErrorBody)))]
pub async fn visit_results(
    query: web::Query<VisitQuery>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let raw = query
        .visit_no
        .as_deref()
        .ok_or_else(|| Error::field(ErrorCode::MissingField, "visit_no", "give ?visit_no="))?;
    let visit_no = VisitNo::parse(raw)?;
    let department = engine.visit_department(&visit_no).await?;
    caller
        .principal
        .read_results(engine.hospital(), &department)?;
    let reports = engine.visit_reports(&visit_no).await?;
    Ok(HttpResponse::Ok().json(VisitResultsAnswer {
        visit_no: visit_no.to_string(),
        reports,
    }))
}

#[utoipa::path(get, path = "/api/v1/results/{report_id}", tag = "HIS", params(("report_id" = String, Path)),
    responses(
        (status = 200, description = "the report in force with its history", body = ExamReportView),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "the visit's department is outside the caller's", body = ErrorBody),
        (status = 404, description = "no such report", body = ErrorBody)))]
pub async fn get_result(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let report = engine.report(&path).await?.ok_or_else(|| {
        Error::new(
            ErrorCode::ReportNotFound,
            format!("no report {:?}", path.as_str()),
        )
    })?;
    let department = engine
        .visit_department(&VisitNo::parse(&report.visit_no)?)
        .await?;
    caller
        .principal
        .read_results(engine.hospital(), &department)?;
    Ok(HttpResponse::Ok().json(report))
}
