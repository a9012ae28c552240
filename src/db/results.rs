//! Exam reports (检查结果) in the database: every version as received
//! (`exam_reports`, keyed by report and content digest) and its decoded
//! images (`exam_report_images`); one write stores a new version, its
//! images and its audit event together.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use triage_actors::model::Audit;

use super::conn::{AnyConnection, DbError};
use super::models::NewEvent;
use super::schema::{exam_report_images, exam_reports};

/// A version of a report as stored.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = exam_reports)]
pub struct ReportRow {
    pub report_id: String,
    pub digest: String,
    pub visit_no: String,
    pub item_code: String,
    pub item_name: String,
    pub findings: String,
    pub conclusion: String,
    pub reporter: String,
    pub reported_at: NaiveDateTime,
    pub status: String,
    pub received_at: NaiveDateTime,
    pub source: String,
}

/// An image of a version.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = exam_report_images)]
pub struct ImageRow {
    pub report_id: String,
    pub digest: String,
    pub seq: i32,
    pub mime: String,
    pub title: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for ImageRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ImageRow {{ report_id: {:?}, digest: {:?}, seq: {}, mime: {:?}, title: {:?}, bytes: {} }}",
            self.report_id,
            self.digest,
            self.seq,
            self.mime,
            self.title,
            self.data.len()
        )
    }
}

/// Every version of `report_id`.
pub fn versions(c: &mut AnyConnection, report_id: &str) -> Result<Vec<ReportRow>, DbError> {
    Ok(exam_reports::table
        .filter(exam_reports::report_id.eq(report_id))
        .select(ReportRow::as_select())
        .load(c)?)
}

/// Every version of every report of `visit_no`.
pub fn of_visit(c: &mut AnyConnection, visit_no: &str) -> Result<Vec<ReportRow>, DbError> {
    Ok(exam_reports::table
        .filter(exam_reports::visit_no.eq(visit_no))
        .order((exam_reports::report_id, exam_reports::reported_at))
        .select(ReportRow::as_select())
        .load(c)?)
}

/// The images of one version, in order.
pub fn images(
    c: &mut AnyConnection,
    report_id: &str,
    digest: &str,
) -> Result<Vec<ImageRow>, DbError> {
    Ok(exam_report_images::table
        .filter(exam_report_images::report_id.eq(report_id))
        .filter(exam_report_images::digest.eq(digest))
        .order(exam_report_images::seq)
        .select(ImageRow::as_select())
        .load(c)?)
}

/// Stores a version (unless that very version is there: answers `false`)
/// with its images and the `result_stored` audit event. Runs in the
/// writer's transaction.
pub fn store(
    c: &mut AnyConnection,
    row: &ReportRow,
    images: &[ImageRow],
    audit: &Audit,
) -> Result<bool, DbError> {
    let exists: i64 = exam_reports::table
        .filter(exam_reports::report_id.eq(&row.report_id))
        .filter(exam_reports::digest.eq(&row.digest))
        .count()
        .get_result(c)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(exam_reports::table)
        .values(row)
        .execute(c)?;
    for i in images {
        diesel::insert_into(exam_report_images::table)
            .values(i)
            .execute(c)?;
    }
    let detail = serde_json::json!({
        "report_id": row.report_id,
        "status": row.status,
        "item_code": row.item_code,
        "digest": row.digest,
        "images": images.len(),
    });
    super::audit::append(
        c,
        NewEvent {
            at: audit.at.naive_utc(),
            kind: "result_stored".into(),
            operator: audit.operator.clone(),
            source: audit.source.clone(),
            visit_no: Some(row.visit_no.clone()),
            room_code: None,
            queue_code: None,
            detail: detail.to_string(),
            prev_hash: None,
            hash: None,
        },
    )?;
    Ok(true)
}

/// Every report version and image, as text (for the tests' dumps).
pub fn dump(c: &mut AnyConnection) -> Result<String, DbError> {
    let mut out = String::new();
    for r in exam_reports::table
        .order((exam_reports::report_id, exam_reports::digest))
        .select(ReportRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("exam_reports {r:?}\n"));
    }
    for r in exam_report_images::table
        .order((
            exam_report_images::report_id,
            exam_report_images::digest,
            exam_report_images::seq,
        ))
        .select(ImageRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("exam_report_images {r:?}\n"));
    }
    Ok(out)
}
