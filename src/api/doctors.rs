//! Doctor master data from HIS: `PUT|GET /doctors/{code}`, `GET /doctors`,
//! `GET /doctors/{code}/photo`; a doctor stops the clinic (停诊): `POST
//! /doctors/{code}/stop-clinic`. The master data HIS sends (`DoctorBody`,
//! `DoctorsBody`) is parsed here into the engine's `DoctorRecord`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json, DOCTORS_BODY_LIMIT, DOCTOR_BODY_LIMIT};
use super::fields::parse_sex;
use crate::config::Hospital;
use crate::engine::doctors::{DoctorRecord, DoctorsAnswer, Integrity};
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::DoctorCode;

/// Largest doctor photo after decoding.
pub const PHOTO_LIMIT: usize = 512 * 1024;

/// Most doctors in one bulk update.
pub const BULK_MAX: usize = 2000;

/// GB/T 8561 专业技术职务 codes of physicians, as HIS often sends them.
pub const TITLE_CODES: [(&str, &str); 5] = [
    ("231", "主任医师"),
    ("232", "副主任医师"),
    ("233", "主治医师"),
    ("234", "医师"),
    ("235", "医士"),
];

/// A doctor's master data as HIS sends it.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct DoctorBody {
    /// 1-32 characters.
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    /// A department of the hospital's configuration.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub department_code: String,
    /// A GB/T 8561 code (231 主任医师 … 235 医士) or the title as text; at
    /// most 32 characters.
    #[serde(default)]
    #[schema(max_length = 32)]
    pub title: String,
    /// At most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub introduction: String,
    /// Base64 image (PNG, JPEG or WebP), optional.
    #[serde(default)]
    pub photo: Option<String>,
    /// GB/T 2261.1 (0, 1, 2, 9) or 男/女; optional.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "1")]
    pub sex: Option<serde_json::Value>,
    /// `on_duty` (在岗, the default) or `off_duty` (停诊): the door screens
    /// of the rooms the doctor staffs show it at once.
    #[serde(default)]
    #[schema(pattern = "^(on_duty|off_duty|在岗|停诊)$")]
    pub duty_status: Option<String>,
}

/// One doctor of a bulk update: the staff number and the master data.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct DoctorEntry {
    /// The staff number (工号).
    pub code: String,
    #[serde(flatten)]
    pub doctor: DoctorBody,
}

/// Many doctors at once (HIS's nightly or full sync).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoctorsBody {
    pub doctors: Vec<DoctorEntry>,
}

/// A title as shown: a GB/T 8561 code becomes its name; text stays.
pub fn title_text(title: &str) -> String {
    TITLE_CODES
        .iter()
        .find(|(code, _)| *code == title)
        .map_or(title.to_string(), |(_, name)| name.to_string())
}

/// The image type of a photo, by its first bytes.
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

impl DoctorBody {
    /// The master data, checked in this order: the name, a department of
    /// `hospital`, the title, the introduction, the photo (Base64 of a
    /// PNG, JPEG or WebP image up to [`PHOTO_LIMIT`]), sex, duty status;
    /// `prefix` names the entry in a bulk update (`doctors[3].`).
    pub fn parse(self, hospital: &Hospital, prefix: &str) -> Result<DoctorRecord, Error> {
        let f = |name: &str| format!("{prefix}{name}");
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > 32 {
            return Err(Error::field(
                ErrorCode::InvalidDoctorName,
                &f("name"),
                "the doctor's name is required (at most 32 characters)",
            ));
        }
        if hospital.department(&self.department_code).is_none() {
            return Err(Error::field(
                ErrorCode::UnknownDepartment,
                &f("department_code"),
                format!("no department {:?}", self.department_code),
            ));
        }
        if self.title.chars().count() > 32 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                &f("title"),
                "a title is at most 32 characters",
            ));
        }
        if self.introduction.chars().count() > 2000 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                &f("introduction"),
                "an introduction is at most 2000 characters",
            ));
        }
        let photo = match &self.photo {
            None => None,
            Some(b64) => {
                let bad =
                    |message: String| Error::field(ErrorCode::InvalidPhoto, &f("photo"), message);
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| bad("photo must be Base64".into()))?;
                if raw.len() > PHOTO_LIMIT {
                    return Err(bad(format!("photo is larger than {PHOTO_LIMIT} bytes")));
                }
                let mime = image_mime(&raw)
                    .ok_or_else(|| bad("photo must be a PNG, JPEG or WebP image".into()))?;
                Some((b64.trim().to_string(), mime))
            }
        };
        let sex = match &self.sex {
            None => None,
            Some(v) => Some(parse_sex(v).ok_or_else(|| {
                Error::field(
                    ErrorCode::InvalidSex,
                    &f("sex"),
                    "sex is a GB/T 2261.1 code (0, 1, 2, 9) or 男/女",
                )
            })?),
        };
        let on_duty = match self.duty_status.as_deref() {
            None | Some("on_duty") | Some("在岗") => true,
            Some("off_duty") | Some("停诊") => false,
            Some(_) => {
                return Err(Error::field(
                    ErrorCode::InvalidField,
                    &f("duty_status"),
                    "duty_status is on_duty (在岗) or off_duty (停诊)",
                ))
            }
        };
        Ok(DoctorRecord {
            name: name.to_string(),
            title: title_text(self.title.trim()),
            introduction: self.introduction.trim().to_string(),
            department_code: self.department_code,
            photo,
            sex,
            on_duty,
        })
    }
}

impl DoctorsBody {
    /// Every entry checked (a bad one, or a staff number given twice,
    /// refuses the whole update): at most [`BULK_MAX`], each staff number
    /// then its master data.
    pub fn parse(self, hospital: &Hospital) -> Result<Vec<(DoctorCode, DoctorRecord)>, Error> {
        if self.doctors.len() > BULK_MAX {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "doctors",
                format!("at most {BULK_MAX} doctors in one update"),
            ));
        }
        let mut parsed = Vec::with_capacity(self.doctors.len());
        let mut seen = std::collections::HashMap::new();
        for (i, e) in self.doctors.into_iter().enumerate() {
            let prefix = format!("doctors[{i}].");
            let code = DoctorCode::parse(&e.code).map_err(|bad| {
                let mut err = Error::from(bad);
                err.field = Some(format!("{prefix}code"));
                err
            })?;
            if let Some(first) = seen.insert(code.to_string(), i) {
                return Err(Error::field(
                    ErrorCode::InvalidField,
                    &format!("{prefix}code"),
                    format!(
                        "staff number {code} is given twice (doctors[{first}] and doctors[{i}])"
                    ),
                ));
            }
            let record = e.doctor.parse(hospital, &prefix)?;
            parsed.push((code, record));
        }
        Ok(parsed)
    }
}

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(put, path = "/api/v1/doctors/{doctor_code}", tag = "HIS", params(("doctor_code" = String, Path)), request_body = DoctorBody, responses((status = 201, description = "created"), (status = 200, description = "replaced"), (status = 400, description = "malformed body", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
pub async fn put_doctor(
    path: web::Path<String>,
    body: Json<DoctorBody, DOCTOR_BODY_LIMIT>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.master_data()?;
    let code = DoctorCode::parse(&path)?;
    let record = body.value.parse(engine.hospital(), "")?;
    let (created, view) = engine.put_doctor(&code, record, caller.acting()).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[utoipa::path(put, path = "/api/v1/doctors", tag = "HIS", request_body = DoctorsBody,
    responses(
        (status = 200, description = "every doctor created or replaced; door screens updated", body = DoctorsAnswer),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "not HIS with master_data, nor an administrator", body = ErrorBody),
        (status = 413, description = "body over 32 MiB", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody),
        (status = 422, description = "an entry is invalid (its field named as doctors[i].field) or a staff number is given twice; nothing changed", body = ErrorBody)))]
pub async fn put_doctors(
    body: Json<DoctorsBody, DOCTORS_BODY_LIMIT>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.master_data()?;
    let doctors = body.value.parse(engine.hospital())?;
    Ok(HttpResponse::Ok().json(engine.put_doctors(doctors, caller.acting()).await?))
}

#[utoipa::path(get, path = "/api/v1/doctors/integrity", tag = "configuration",
    responses(
        (status = 200, description = "the integrity report: counts by kind and every finding", body = Integrity),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "a client without master_data or read", body = ErrorBody)))]
pub async fn integrity(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_schedule()?;
    Ok(HttpResponse::Ok().json(engine.doctors_integrity().await?))
}

#[utoipa::path(get, path = "/api/v1/doctors", tag = "configuration", responses((status = 200, description = "doctors")))]
pub async fn list_doctors(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_hospital()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "doctors": engine.doctors().await? })))
}

#[utoipa::path(get, path = "/api/v1/doctors/{doctor_code}", tag = "configuration", params(("doctor_code" = String, Path)), responses((status = 200, description = "a doctor"), (status = 404, body = ErrorBody)))]
pub async fn get_doctor(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.read_hospital()?;
    Ok(HttpResponse::Ok().json(engine.doctor(&DoctorCode::parse(&path)?).await?))
}

#[utoipa::path(get, path = "/api/v1/doctors/{doctor_code}/photo", tag = "configuration", params(("doctor_code" = String, Path)), responses((status = 200, description = "the photo (PNG, JPEG or WebP)"), (status = 404, body = ErrorBody)))]
pub async fn doctor_photo(path: web::Path<String>, engine: web::Data<Engine>) -> Answer {
    let (bytes, mime) = engine.doctor_photo(&DoctorCode::parse(&path)?).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::CACHE_CONTROL, "max-age=300"))
        .body(bytes))
}

/// A stop-clinic (停诊): why, and what becomes of the patients waiting.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopClinicBody {
    /// 1-200 characters, e.g. "医生临时外出".
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
    /// `keep`: the doctor's patients wait, frozen, for the doctor to open
    /// again; `redistribute`: they move to the department's shared queue,
    /// keeping their check-in time. Absent: `[schedule] stop_clinic`.
    #[serde(default)]
    pub waiting: Option<String>,
    /// A session of today (`am`, `pm`, `eve`); absent: the rest of the day.
    #[serde(default)]
    pub session: Option<String>,
    /// With `redistribute`: the queue the patients move to (another queue
    /// of the doctor's department); absent: the department's shared queue.
    #[serde(default)]
    pub queue_code: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/doctors/{code}/stop-clinic", tag = "calling", params(("code" = String, Path)), request_body = StopClinicBody,
    responses((status = 200, description = "stopped (停诊) for a session or the rest of the day: the doctor's rooms closed (if the session is in force), their schedule entries stopped, a notice on their screens and the department's overviews until the session or the day ends; every patient who was waiting for the doctor", body = crate::engine::seats::StopClinicAnswer),
              (status = 403, description = "a HIS client without master_data, or a nurse of another department", body = ErrorBody),
              (status = 409, description = "not_a_doctor", body = ErrorBody),
              (status = 422, description = "no reason, waiting not keep/redistribute, unknown_session, a session that is over, unknown_queue or invalid_transfer_target (queue_code)", body = ErrorBody)))]
pub async fn stop_clinic(
    path: web::Path<String>,
    body: Json<StopClinicBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = DoctorCode::parse(&path)?;
    let department = engine.doctor_department(code.as_str()).ok_or_else(|| {
        triage_ground::error::Error::new(
            triage_ground::error::ErrorCode::NotADoctor,
            format!("{:?} is not a doctor in the master data", code.as_str()),
        )
    })?;
    match caller.principal.staff() {
        Some(_) => caller.principal.arrange(engine.hospital(), &department)?,
        None => caller.principal.master_data()?,
    }
    let reason = super::fields::audit_reason(&body.value.reason)?;
    let redistribute = match body.value.waiting.as_deref() {
        None => engine.hospital().schedule.redistribute_on_stop,
        Some("keep") => false,
        Some("redistribute") => true,
        Some(_) => {
            return Err(triage_ground::error::Error::field(
                triage_ground::error::ErrorCode::InvalidField,
                "waiting",
                "keep or redistribute",
            )
            .into())
        }
    };
    let audit = caller.acting_why(reason.clone());
    Ok(HttpResponse::Ok().json(
        engine
            .stop_clinic(
                code.as_str(),
                body.value.session.as_deref(),
                redistribute,
                body.value.queue_code.as_deref(),
                reason,
                audit,
            )
            .await?,
    ))
}

/// Today's stop-clinics (停诊) of the caller's departments.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StopsAnswer {
    pub stops: Vec<crate::engine::seats::StopRecord>,
}

#[utoipa::path(get, path = "/api/v1/stop-clinics", tag = "calling",
    responses((status = 200, description = "today's stop-clinics (停诊) of the caller's departments, from HIS or the console: who, which sessions, why, the rooms closed and every patient who was waiting then", body = StopsAnswer),
              (status = 401, body = ErrorBody), (status = 403, description = "not staff", body = ErrorBody)))]
pub async fn stops_today(
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    if caller.principal.staff().is_none() {
        return Err(triage_ground::error::Error::new(
            triage_ground::error::ErrorCode::Forbidden,
            "the list of stop-clinics is for staff",
        )
        .into());
    }
    let hospital = engine.hospital().clone();
    let stops = engine
        .stops_today(|d| caller.principal.may_read(&hospital, d))
        .await?;
    Ok(HttpResponse::Ok().json(StopsAnswer { stops }))
}
