//! Exam results (检查结果): `PUT /results/{report_id}` from exam stations,
//! RIS or LIS; `GET /results?visit_no=` (every report of a visit, Base64
//! images plus structured text) and `GET /results/{report_id}`. A report
//! as sent (`ExamReportBody`) is parsed here, images decoded and checked
//! against their bytes, into the engine's `ExamReport`.

use actix_web::{web, HttpResponse};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json, RESULT_BODY_LIMIT};
use crate::engine::results::{ExamImage, ExamReport, ExamReportStatus, ExamReportView, Stored};
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::VisitNo;

type Answer = Result<HttpResponse, ApiError>;

/// Largest image after decoding.
pub const IMAGE_LIMIT: usize = 4 * 1024 * 1024;
/// Most images in one report.
pub const IMAGES_MAX: usize = 8;
/// The image types a report may carry.
pub const IMAGE_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "application/pdf",
];

/// An image as sent: Base64 and its declared type.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExamImageBody {
    /// One of image/jpeg, image/png, image/webp, image/bmp,
    /// application/pdf; it must match the bytes.
    pub mime: String,
    /// Standard Base64 of at most 4 MiB decoded.
    pub data: String,
    #[serde(default)]
    pub title: String,
}

/// A report as an exam station sends it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExamReportBody {
    pub visit_no: String,
    /// The exam item's code (e.g. the HIS charge item).
    pub item_code: String,
    pub item_name: String,
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub conclusion: String,
    /// Who reported (staff number or name of the reporting doctor).
    pub reporter: String,
    #[serde(with = "triage_ground::time::rfc3339::utc")]
    pub reported_at: DateTime<Utc>,
    pub status: ExamReportStatus,
    #[serde(default)]
    pub images: Vec<ExamImageBody>,
}

/// The type the bytes are, if one of [`IMAGE_TYPES`].
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() > 14 && bytes.starts_with(b"BM") {
        Some("image/bmp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, Error> {
    // Counted as sent (as every text field of the API), stored trimmed.
    let v = value.trim();
    if (required && v.is_empty())
        || value.chars().count() > max
        || v.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::field(
            ErrorCode::InvalidField,
            field,
            format!(
                "{field} must be {}at most {max} characters of text",
                if required { "given, " } else { "" }
            ),
        ));
    }
    Ok(v.to_string())
}

impl ExamReportBody {
    /// The report version, checked whole in this order (a bad field or
    /// image changes nothing): the report id of the path, the visit
    /// number, the texts, the number of images, then each image's type,
    /// Base64, size, bytes and title.
    pub fn parse(self, report_id: &str) -> Result<ExamReport, Error> {
        let report_id = report_id.trim();
        if report_id.is_empty()
            || report_id.len() > 64
            || !report_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "report_id",
                "a report id is 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let visit_no = VisitNo::parse(&self.visit_no)?;
        let item_code = text("item_code", &self.item_code, 32, true)?;
        let item_name = text("item_name", &self.item_name, 64, true)?;
        let findings = text("findings", &self.findings, 20_000, false)?;
        let conclusion = text("conclusion", &self.conclusion, 5_000, false)?;
        let reporter = text("reporter", &self.reporter, 32, true)?;
        if self.images.len() > IMAGES_MAX {
            return Err(Error::field(
                ErrorCode::InvalidImage,
                "images",
                format!("at most {IMAGES_MAX} images per report"),
            ));
        }
        let images = self
            .images
            .iter()
            .enumerate()
            .map(|(i, img)| img.parse(&format!("images[{i}]")))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(ExamReport {
            report_id: report_id.to_string(),
            visit_no,
            item_code,
            item_name,
            findings,
            conclusion,
            reporter,
            reported_at: self.reported_at,
            status: self.status,
            images,
        })
    }
}

impl ExamImageBody {
    /// The image: a type of [`IMAGE_TYPES`], Base64 of at most
    /// [`IMAGE_LIMIT`] bytes that are of that type, a title of at most 64
    /// characters; `field` names it (`images[2]`).
    fn parse(&self, field: &str) -> Result<ExamImage, Error> {
        let bad = |part: &str, message: String| {
            Error::field(ErrorCode::InvalidImage, &format!("{field}.{part}"), message)
        };
        let mime = IMAGE_TYPES
            .into_iter()
            .find(|t| *t == self.mime)
            .ok_or_else(|| {
                bad(
                    "mime",
                    format!("the type must be one of {}", IMAGE_TYPES.join(", ")),
                )
            })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.data.trim())
            .map_err(|_| bad("data", "the image is not Base64".into()))?;
        if bytes.len() > IMAGE_LIMIT {
            return Err(bad(
                "data",
                format!("the image is larger than {IMAGE_LIMIT} bytes"),
            ));
        }
        if sniff(&bytes) != Some(mime) {
            return Err(bad(
                "mime",
                format!(
                    "the bytes are not {mime} ({})",
                    sniff(&bytes).map_or("not an accepted type".to_string(), |t| format!(
                        "they are {t}"
                    ))
                ),
            ));
        }
        let title = text(&format!("{field}.title"), &self.title, 64, false)?;
        Ok(ExamImage { mime, title, bytes })
    }
}

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
    let report = body.value.parse(&path)?;
    let (outcome, report) = engine.put_report(report, caller.acting()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_name_their_type() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"hello"), None);
    }
}
