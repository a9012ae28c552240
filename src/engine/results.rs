//! Exam results (检查结果查询) from exam stations, RIS or LIS: a report for
//! a visit (item, findings, conclusion, reporter, time, status) with its
//! images as Base64 and their MIME type (decoded, checked against their
//! bytes and size-capped by `api::results` before anything is stored). Every version is kept;
//! the one in force is the latest by `reported_at` (then preliminary <
//! final < amended), so the same messages delivered twice or out of order
//! end in the same state. Read back as the seed asks: Base64 images plus
//! structured text.

use super::facade::Acting;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::facade::Engine;
use crate::db::results::{self, ImageRow, ReportRow};
use crate::db::store;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::VisitNo;

/// The status of a report version.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExamReportStatus {
    /// 初步报告.
    Preliminary,
    /// 正式报告.
    Final,
    /// 修正报告: replaces a final one, which stays in the history.
    Amended,
}

impl ExamReportStatus {
    /// The stored code.
    fn as_str(self) -> &'static str {
        match self {
            ExamReportStatus::Preliminary => "preliminary",
            ExamReportStatus::Final => "final",
            ExamReportStatus::Amended => "amended",
        }
    }

    fn parse(s: &str) -> Option<ExamReportStatus> {
        [
            ExamReportStatus::Preliminary,
            ExamReportStatus::Final,
            ExamReportStatus::Amended,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// An image of a report, parsed: its type (one the bytes are) and title.
#[derive(Clone, Debug)]
pub struct ExamImage {
    pub mime: &'static str,
    pub title: String,
    pub bytes: Vec<u8>,
}

/// A report version, parsed from what an exam station sent
/// (`api::results`): text trimmed, images decoded and checked.
#[derive(Clone, Debug)]
pub struct ExamReport {
    pub report_id: String,
    pub visit_no: VisitNo,
    pub item_code: String,
    pub item_name: String,
    pub findings: String,
    pub conclusion: String,
    pub reporter: String,
    pub reported_at: DateTime<Utc>,
    pub status: ExamReportStatus,
    pub images: Vec<ExamImage>,
}

/// An image as answered.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExamImageView {
    pub title: String,
    pub mime: String,
    pub bytes: usize,
    /// Standard Base64.
    pub data: String,
}

/// A version in a report's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExamVersionView {
    pub status: ExamReportStatus,
    pub reported_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub reporter: String,
    pub findings: String,
    pub conclusion: String,
    pub images: usize,
}

/// A report in force, with its images and every version.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExamReportView {
    pub report_id: String,
    pub visit_no: String,
    pub item_code: String,
    pub item_name: String,
    pub findings: String,
    pub conclusion: String,
    pub reporter: String,
    pub reported_at: DateTime<Utc>,
    pub status: ExamReportStatus,
    pub images: Vec<ExamImageView>,
    /// Every version received, oldest first (the last is the one above).
    pub history: Vec<ExamVersionView>,
}

/// What a `PUT` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// The first version of this report.
    Created,
    /// A new version, now in force.
    Updated,
    /// A new version older than the one in force: kept in the history.
    Superseded,
    /// This very version was already here: nothing changed.
    Unchanged,
}

fn rank(r: &ReportRow) -> (chrono::NaiveDateTime, Option<ExamReportStatus>, String) {
    (
        r.reported_at,
        ExamReportStatus::parse(&r.status),
        r.digest.clone(),
    )
}

/// The version in force among `versions`.
fn in_force(versions: &[ReportRow]) -> Option<&ReportRow> {
    versions.iter().max_by_key(|r| rank(r))
}

impl Engine {
    /// Stores a report version (validated whole first: a bad image or field
    /// changes nothing).
    pub async fn put_report(
        &self,
        body: ExamReport,
        who: Acting,
    ) -> Result<(Stored, ExamReportView), Error> {
        let audit = self.stamp(who);
        let ExamReport {
            report_id,
            visit_no,
            item_code,
            item_name,
            findings,
            conclusion,
            reporter,
            reported_at,
            status,
            images,
        } = body;
        let report_id = report_id.as_str();
        // The visit must exist.
        let v = visit_no.to_string();
        if self
            .db()
            .read(move |c| store::get_visit(c, &v))
            .await?
            .is_none()
        {
            return Err(Error::new(
                ErrorCode::VisitNotFound,
                format!("no visit {visit_no}"),
            ));
        }
        // The content's digest names the version.
        let mut h = Sha256::new();
        for part in [
            visit_no.as_str(),
            &item_code,
            &item_name,
            &findings,
            &conclusion,
            &reporter,
            &reported_at.to_rfc3339(),
            status.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        for image in &images {
            h.update(image.mime.as_bytes());
            h.update([0u8]);
            h.update(image.title.as_bytes());
            h.update([0u8]);
            h.update(Sha256::digest(&image.bytes));
        }
        let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let row = ReportRow {
            report_id: report_id.to_string(),
            digest: digest.clone(),
            visit_no: visit_no.to_string(),
            item_code,
            item_name,
            findings,
            conclusion,
            reporter,
            reported_at: reported_at.naive_utc(),
            status: status.as_str().to_string(),
            received_at: audit.at.naive_utc(),
            source: audit.operator.clone(),
        };
        let image_rows: Vec<ImageRow> = images
            .into_iter()
            .enumerate()
            .map(|(i, image)| ImageRow {
                report_id: report_id.to_string(),
                digest: digest.clone(),
                seq: i as i32,
                mime: image.mime.to_string(),
                title: image.title,
                data: image.bytes,
            })
            .collect();
        let (r, rid) = (row.clone(), report_id.to_string());
        let (stored, before) = self
            .db()
            .write(move |c| {
                let before = results::versions(c, &rid)?;
                if let Some(other) = before.iter().find(|b| b.visit_no != r.visit_no) {
                    return Ok(Err(other.visit_no.clone()));
                }
                let added = results::store(c, &r, &image_rows, &audit)?;
                Ok(Ok((added, before)))
            })
            .await?
            .map_err(|other| {
                Error::field(
                    ErrorCode::InvalidField,
                    "visit_no",
                    format!("report {report_id} belongs to visit {other}"),
                )
            })?;
        let outcome = if !stored {
            Stored::Unchanged
        } else if before.is_empty() {
            Stored::Created
        } else if in_force(&before).is_some_and(|f| rank(f) > rank(&row)) {
            Stored::Superseded
        } else {
            Stored::Updated
        };
        if outcome != Stored::Unchanged {
            tracing::info!(report_id, status = %row.status, outcome = ?outcome, "exam report stored");
        }
        let view = self.report(report_id).await?.ok_or_else(|| {
            Error::new(ErrorCode::ReportNotFound, "the report just stored is gone")
        })?;
        Ok((outcome, view))
    }

    /// One report in force with its history, if it exists.
    pub async fn report(&self, report_id: &str) -> Result<Option<ExamReportView>, Error> {
        let rid = report_id.to_string();
        Ok(self
            .db()
            .read(move |c| {
                let versions = results::versions(c, &rid)?;
                view(c, versions)
            })
            .await?)
    }

    /// The department of a visit (for access), or `visit_not_found`.
    pub async fn visit_department(&self, visit_no: &VisitNo) -> Result<String, Error> {
        let v = visit_no.to_string();
        self.db()
            .read(move |c| store::get_visit(c, &v))
            .await?
            .map(|row| row.department_code.into())
            .ok_or_else(|| Error::new(ErrorCode::VisitNotFound, format!("no visit {visit_no}")))
    }

    /// Every report of a visit, in force, with images and history.
    pub async fn visit_reports(&self, visit_no: &VisitNo) -> Result<Vec<ExamReportView>, Error> {
        let v = visit_no.to_string();
        Ok(self
            .db()
            .read(move |c| {
                let all = results::of_visit(c, &v)?;
                let mut by: std::collections::BTreeMap<String, Vec<ReportRow>> = Default::default();
                for r in all {
                    by.entry(r.report_id.clone()).or_default().push(r);
                }
                let mut out = Vec::new();
                for (_, versions) in by {
                    if let Some(v) = view(c, versions)? {
                        out.push(v);
                    }
                }
                out.sort_by(|a, b| {
                    a.reported_at
                        .cmp(&b.reported_at)
                        .then(a.report_id.cmp(&b.report_id))
                });
                Ok(out)
            })
            .await?)
    }
}

fn view(
    c: &mut crate::db::AnyConnection,
    mut versions: Vec<ReportRow>,
) -> Result<Option<ExamReportView>, crate::db::DbError> {
    versions.sort_by_key(rank);
    let Some(current) = versions.last().cloned() else {
        return Ok(None);
    };
    let status = |s: &str| ExamReportStatus::parse(s).unwrap_or(ExamReportStatus::Preliminary);
    let mut history = Vec::with_capacity(versions.len());
    for v in &versions {
        let n = results::images(c, &v.report_id, &v.digest)?.len();
        history.push(ExamVersionView {
            status: status(&v.status),
            reported_at: v.reported_at.and_utc(),
            received_at: v.received_at.and_utc(),
            reporter: v.reporter.clone(),
            findings: v.findings.clone(),
            conclusion: v.conclusion.clone(),
            images: n,
        });
    }
    let images = results::images(c, &current.report_id, &current.digest)?
        .into_iter()
        .map(|i| ExamImageView {
            title: i.title,
            mime: i.mime,
            bytes: i.data.len(),
            data: base64::engine::general_purpose::STANDARD.encode(&i.data),
        })
        .collect();
    Ok(Some(ExamReportView {
        report_id: current.report_id,
        visit_no: current.visit_no,
        item_code: current.item_code,
        item_name: current.item_name,
        findings: current.findings,
        conclusion: current.conclusion,
        reporter: current.reporter,
        reported_at: current.reported_at.and_utc(),
        status: status(&current.status),
        images,
        history,
    }))
}
