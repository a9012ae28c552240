//! Doctor master data (医生信息) from HIS: validated (photo decoded and
//! type-checked), stored with its audit event, then shown on the door
//! screens of the rooms the doctor staffs at once.

use base64::Engine as _;
use serde::Deserialize;
use triage_actors::directory::DoctorView;
use triage_actors::model::Audit;

use super::{doctor_view, Engine};
use crate::db::models::DoctorRow;
use crate::db::store;
use crate::domain::DoctorCode;
use crate::error::{Error, ErrorCode};

/// Largest doctor photo after decoding.
pub const PHOTO_LIMIT: usize = 512 * 1024;

/// A doctor's master data as HIS sends it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DoctorBody {
    name: String,
    department_code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    introduction: String,
    /// Base64 image (PNG, JPEG or WebP), optional.
    #[serde(default)]
    photo: Option<String>,
}

fn image_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A doctor as the API lists it: the public view and the department.
fn listed(row: &DoctorRow) -> serde_json::Value {
    let mut v = serde_json::to_value(doctor_view(row)).unwrap_or_default();
    v["department_code"] = serde_json::json!(row.department_code);
    v
}

impl Engine {
    /// Creates or replaces a doctor's master data; answers whether it was
    /// created and the public view.
    pub async fn put_doctor(
        &self,
        code: &DoctorCode,
        body: DoctorBody,
        audit: Audit,
    ) -> Result<(bool, DoctorView), Error> {
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 32 {
            return Err(Error::field(
                ErrorCode::InvalidDoctorName,
                "name",
                "the doctor's name is required (at most 32 characters)",
            ));
        }
        if self.hospital.department(&body.department_code).is_none() {
            return Err(Error::field(
                ErrorCode::UnknownDepartment,
                "department_code",
                format!("no department {:?}", body.department_code),
            ));
        }
        if body.title.chars().count() > 32 || body.introduction.chars().count() > 2000 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "introduction",
                "title at most 32, introduction at most 2000 characters",
            ));
        }
        let (photo, photo_mime) = match &body.photo {
            None => (None, None),
            Some(b64) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| {
                        Error::field(ErrorCode::InvalidPhoto, "photo", "photo must be Base64")
                    })?;
                if raw.len() > PHOTO_LIMIT {
                    return Err(Error::field(
                        ErrorCode::InvalidPhoto,
                        "photo",
                        format!("photo is larger than {PHOTO_LIMIT} bytes"),
                    ));
                }
                let mime = image_mime(&raw).ok_or_else(|| {
                    Error::field(
                        ErrorCode::InvalidPhoto,
                        "photo",
                        "photo must be a PNG, JPEG or WebP image",
                    )
                })?;
                (Some(b64.trim().to_string()), Some(mime.to_string()))
            }
        };
        let row = DoctorRow {
            code: code.to_string(),
            name: name.to_string(),
            department_code: body.department_code.clone(),
            title: body.title.trim().to_string(),
            introduction: body.introduction.trim().to_string(),
            photo,
            photo_mime,
            updated_at: audit.at.naive_utc(),
        };
        let view = doctor_view(&row);
        let created = self
            .db
            .write(move |c| store::upsert_doctor(c, row, &audit))
            .await?;
        self.directory.publish_doctor(view.clone());
        tracing::info!(doctor_code = %code, created, "doctor master data stored");
        Ok((created, view))
    }

    /// Every doctor (public view and department).
    pub async fn doctors(&self) -> Result<Vec<serde_json::Value>, Error> {
        let rows = self.db.read(store::list_doctors).await?;
        Ok(rows.iter().map(listed).collect())
    }

    /// One doctor (public view and department).
    pub async fn doctor(&self, code: &DoctorCode) -> Result<serde_json::Value, Error> {
        let c = code.to_string();
        let row = self
            .db
            .read(move |conn| store::get_doctor(conn, &c))
            .await?
            .ok_or_else(|| Error::new(ErrorCode::DoctorNotFound, format!("no doctor {code:?}")))?;
        Ok(listed(&row))
    }

    /// A doctor's photo: the image and its MIME type.
    pub async fn doctor_photo(&self, code: &DoctorCode) -> Result<(Vec<u8>, String), Error> {
        let c = code.to_string();
        let row = self
            .db
            .read(move |conn| store::get_doctor(conn, &c))
            .await?;
        let (Some(b64), Some(mime)) = row.map(|r| (r.photo, r.photo_mime)).unwrap_or((None, None))
        else {
            return Err(Error::new(
                ErrorCode::PhotoNotFound,
                format!("no photo for doctor {code:?}"),
            ));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| Error::internal())?;
        Ok((bytes, mime))
    }
}
