//! Doctor master data (医生信息) from HIS: validated (photo decoded and
//! type-checked), stored with its audit event, then shown on the door
//! screens of the rooms the doctor staffs at once.

use super::facade::Acting;
use crate::db::columns::ScheduleStatus;
use base64::Engine as _;
use serde::Deserialize;
use triage_actors::board::view::DoctorView;
use triage_actors::model::Audit;

use super::facade::{doctor_view, Engine};
use crate::db::models::DoctorRow;
use crate::db::store;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::DoctorCode;

/// Largest doctor photo after decoding.
pub const PHOTO_LIMIT: usize = 512 * 1024;

/// A doctor's master data as HIS sends it.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct DoctorBody {
    /// 1-32 characters.
    #[schema(
        min_length = 1,
        max_length = 32,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\s\S]*$"
    )]
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

/// What a bulk update did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DoctorsAnswer {
    pub created: usize,
    pub replaced: usize,
    /// Sent again as stored: nothing written.
    pub unchanged: usize,
}

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

/// A title as shown: a GB/T 8561 code becomes its name; text stays.
pub fn title_text(title: &str) -> String {
    TITLE_CODES
        .iter()
        .find(|(code, _)| *code == title)
        .map_or(title.to_string(), |(_, name)| name.to_string())
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
    v["sex"] = serde_json::json!(row.sex);
    v["duty_status"] = serde_json::json!(if row.on_duty { "on_duty" } else { "off_duty" });
    v
}

impl Engine {
    /// Creates or replaces a doctor's master data; answers whether it was
    /// created and the public view.
    pub async fn put_doctor(
        &self,
        code: &DoctorCode,
        body: DoctorBody,
        who: Acting,
    ) -> Result<(bool, DoctorView), Error> {
        let audit = self.stamp(who);
        let row = self.doctor_row(code, &body, &audit, "")?;
        let view = doctor_view(&row);
        let outcome = self
            .db()
            .write(move |c| store::upsert_doctor(c, row, &audit))
            .await?;
        if outcome != store::Upserted::Unchanged {
            self.directory().publish_doctor(view.clone());
            tracing::info!(doctor_code = %code, outcome = ?outcome, "doctor master data stored");
        }
        Ok((outcome == store::Upserted::Created, view))
    }

    /// Creates or replaces many doctors in one transaction: every entry is
    /// checked first (a bad one, or a staff number given twice, refuses
    /// the whole update and changes nothing), then each door screen the
    /// doctors staff updates.
    pub async fn put_doctors(
        &self,
        body: DoctorsBody,
        who: Acting,
    ) -> Result<DoctorsAnswer, Error> {
        let audit = self.stamp(who);
        if body.doctors.len() > BULK_MAX {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "doctors",
                format!("at most {BULK_MAX} doctors in one update"),
            ));
        }
        let mut rows = Vec::with_capacity(body.doctors.len());
        let mut seen = std::collections::HashMap::new();
        for (i, e) in body.doctors.iter().enumerate() {
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
            rows.push(self.doctor_row(&code, &e.doctor, &audit, &prefix)?);
        }
        let views: Vec<DoctorView> = rows.iter().map(doctor_view).collect();
        let outcomes = self
            .db()
            .write(move |c| {
                rows.into_iter()
                    .map(|row| store::upsert_doctor(c, row, &audit))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let count = |o: store::Upserted| outcomes.iter().filter(|x| **x == o).count();
        let answer = DoctorsAnswer {
            created: count(store::Upserted::Created),
            replaced: count(store::Upserted::Replaced),
            unchanged: count(store::Upserted::Unchanged),
        };
        for (v, o) in views.into_iter().zip(&outcomes) {
            if *o != store::Upserted::Unchanged {
                self.directory().publish_doctor(v);
            }
        }
        tracing::info!(
            created = answer.created,
            replaced = answer.replaced,
            unchanged = answer.unchanged,
            "doctor master data stored (bulk)"
        );
        Ok(answer)
    }

    /// A doctor's stored row from what HIS sent, checked; `prefix` names
    /// the entry in a bulk update (`doctors[3].`).
    fn doctor_row(
        &self,
        code: &DoctorCode,
        body: &DoctorBody,
        audit: &Audit,
        prefix: &str,
    ) -> Result<DoctorRow, Error> {
        let f = |name: &str| format!("{prefix}{name}");
        let name = body.name.trim();
        if name.is_empty() || body.name.chars().count() > 32 {
            return Err(Error::field(
                ErrorCode::InvalidDoctorName,
                &f("name"),
                "the doctor's name is required (at most 32 characters)",
            ));
        }
        if self.hospital().department(&body.department_code).is_none() {
            return Err(Error::field(
                ErrorCode::UnknownDepartment,
                &f("department_code"),
                format!("no department {:?}", body.department_code),
            ));
        }
        if body.title.chars().count() > 32 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                &f("title"),
                "a title is at most 32 characters",
            ));
        }
        if body.introduction.chars().count() > 2000 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                &f("introduction"),
                "an introduction is at most 2000 characters",
            ));
        }
        let (photo, photo_mime) = match &body.photo {
            None => (None, None),
            Some(b64) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| {
                        Error::field(ErrorCode::InvalidPhoto, &f("photo"), "photo must be Base64")
                    })?;
                if raw.len() > PHOTO_LIMIT {
                    return Err(Error::field(
                        ErrorCode::InvalidPhoto,
                        &f("photo"),
                        format!("photo is larger than {PHOTO_LIMIT} bytes"),
                    ));
                }
                let mime = image_mime(&raw).ok_or_else(|| {
                    Error::field(
                        ErrorCode::InvalidPhoto,
                        &f("photo"),
                        "photo must be a PNG, JPEG or WebP image",
                    )
                })?;
                (Some(b64.trim().to_string()), Some(mime.to_string()))
            }
        };
        let sex = match &body.sex {
            None => None,
            Some(v) => Some(
                super::registrations::normalise_sex(v)
                    .ok_or_else(|| {
                        Error::field(
                            ErrorCode::InvalidSex,
                            &f("sex"),
                            "sex is a GB/T 2261.1 code (0, 1, 2, 9) or 男/女",
                        )
                    })?
                    .to_string(),
            ),
        };
        let on_duty = match body.duty_status.as_deref() {
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
        Ok(DoctorRow {
            sex,
            on_duty,
            code: code.to_string(),
            name: name.to_string(),
            department_code: body.department_code.clone(),
            title: title_text(body.title.trim()),
            introduction: body.introduction.trim().to_string(),
            photo,
            photo_mime,
            updated_at: audit.at.naive_utc(),
        })
    }

    /// Every doctor (public view and department).
    pub async fn doctors(&self) -> Result<Vec<serde_json::Value>, Error> {
        let rows = self.db().read(store::list_doctors).await?;
        Ok(rows.iter().map(listed).collect())
    }

    /// One doctor (public view and department).
    pub async fn doctor(&self, code: &DoctorCode) -> Result<serde_json::Value, Error> {
        let c = code.to_string();
        let row = self
            .db()
            .read(move |conn| store::get_doctor(conn, &c))
            .await?
            .ok_or_else(|| Error::new(ErrorCode::DoctorNotFound, format!("no doctor {code:?}")))?;
        Ok(listed(&row))
    }

    /// A doctor's photo: the image and its MIME type.
    pub async fn doctor_photo(&self, code: &DoctorCode) -> Result<(Vec<u8>, String), Error> {
        let c = code.to_string();
        let row = self
            .db()
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

/// One thing to fix in the doctors' master data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// `missing_photo`, `missing_title`, `missing_introduction`,
    /// `unknown_department`, `duplicate_name`, `room_doctor_unknown`.
    pub kind: String,
    pub doctor_code: Option<String>,
    pub room_code: Option<String>,
    pub detail: String,
}

/// The integrity report of the doctors' master data (医生信息完整性检查).
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Integrity {
    pub checked_at: chrono::DateTime<chrono::Utc>,
    pub doctors: usize,
    /// Findings by kind (every kind listed, 0 when none).
    pub counts: std::collections::BTreeMap<String, usize>,
    pub findings: Vec<Finding>,
}

/// The kinds of findings, in the order the report lists them.
pub const FINDING_KINDS: [&str; 6] = [
    "room_doctor_unknown",
    "unknown_department",
    "duplicate_name",
    "missing_title",
    "missing_photo",
    "missing_introduction",
];

/// Checks the stored doctors against the hospital: what is missing, what
/// names nothing, what two doctors share, and rooms (configured, seated
/// now, or scheduled today) whose doctor is not in the master data.
pub fn integrity(
    c: &mut crate::db::AnyConnection,
    hospital: &crate::config::Hospital,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Integrity, crate::db::DbError> {
    use diesel::prelude::*;
    let doctors = store::list_doctors(c)?;
    let known: std::collections::HashSet<&str> = doctors.iter().map(|d| d.code.as_str()).collect();
    let mut findings = Vec::new();
    let mut find = |kind: &str, doctor: Option<&str>, room: Option<&str>, detail: String| {
        findings.push(Finding {
            kind: kind.into(),
            doctor_code: doctor.map(str::to_string),
            room_code: room.map(str::to_string),
            detail,
        })
    };
    // Rooms whose doctor is unknown: configured, seated, scheduled today.
    let seated: Vec<(String, Option<String>)> = crate::db::schema::rooms::table
        .select((
            crate::db::schema::rooms::code,
            crate::db::schema::rooms::seated_doctor,
        ))
        .load(c)?;
    for r in &hospital.rooms {
        if let Some(d) = r.doctor.as_deref().filter(|d| !known.contains(d)) {
            find(
                "room_doctor_unknown",
                Some(d),
                Some(&r.code),
                format!("{} 配置的医生 {d} 不在医生信息中", r.name),
            );
        }
    }
    for (room, d) in &seated {
        if let Some(d) = d.as_deref().filter(|d| !known.contains(d)) {
            find(
                "room_doctor_unknown",
                Some(d),
                Some(room),
                format!("{room} 当前坐诊医生 {d} 不在医生信息中"),
            );
        }
    }
    let today = triage_ground::time::service_date(now).to_string();
    for e in crate::db::schedules::day(c, &today)? {
        if !known.contains(e.doctor_code.as_str()) && e.status == ScheduleStatus::Active {
            find(
                "room_doctor_unknown",
                Some(&e.doctor_code),
                Some(&e.room_code),
                format!(
                    "今日排班（{}）的医生 {} 不在医生信息中",
                    e.session, e.doctor_code
                ),
            );
        }
    }
    let mut names: std::collections::BTreeMap<(&str, &str), Vec<&str>> = Default::default();
    for d in &doctors {
        if hospital.department(&d.department_code).is_none() {
            find(
                "unknown_department",
                Some(&d.code),
                None,
                format!("科室 {} 未配置", d.department_code),
            );
        }
        names
            .entry((d.department_code.as_str(), d.name.as_str()))
            .or_default()
            .push(&d.code);
        if d.title.trim().is_empty() {
            find("missing_title", Some(&d.code), None, "缺少职称".into());
        }
        if d.photo.is_none() {
            find("missing_photo", Some(&d.code), None, "缺少照片".into());
        }
        if d.introduction.trim().is_empty() {
            find(
                "missing_introduction",
                Some(&d.code),
                None,
                "缺少简介".into(),
            );
        }
    }
    for ((dept, _), codes) in names {
        if codes.len() > 1 {
            for code in &codes {
                find(
                    "duplicate_name",
                    Some(code),
                    None,
                    format!(
                        "{dept} 科室有 {} 位同名医生（{}），屏幕无法区分",
                        codes.len(),
                        codes.join("、")
                    ),
                );
            }
        }
    }
    findings.sort_by_key(|f| {
        (
            FINDING_KINDS.iter().position(|k| *k == f.kind),
            f.doctor_code.clone(),
            f.room_code.clone(),
        )
    });
    let counts = FINDING_KINDS
        .iter()
        .map(|k| {
            (
                k.to_string(),
                findings.iter().filter(|f| f.kind == *k).count(),
            )
        })
        .collect();
    Ok(Integrity {
        checked_at: now,
        doctors: doctors.len(),
        counts,
        findings,
    })
}

impl Integrity {
    /// The report to print or keep.
    pub fn doc(&self) -> crate::report::Doc {
        let mut d = crate::report::Doc::new("医生信息完整性检查 (doctor master data integrity)");
        d.para(format!(
            "检查时间 at: {}　医生人数 doctors: {}　问题数 findings: {}",
            self.checked_at
                .with_timezone(&triage_ground::time::shanghai())
                .format("%Y-%m-%d %H:%M"),
            self.doctors,
            self.findings.len()
        ));
        d.heading("按类型 By kind").table(
            &["类型 kind", "数量 count"],
            self.counts
                .iter()
                .map(|(k, n)| vec![k.clone(), n.to_string()])
                .collect(),
        );
        d.heading("明细 Findings").table(
            &["类型 kind", "医生 doctor", "诊室 room", "说明 detail"],
            self.findings
                .iter()
                .map(|f| {
                    vec![
                        f.kind.clone(),
                        f.doctor_code.clone().unwrap_or_default(),
                        f.room_code.clone().unwrap_or_default(),
                        f.detail.clone(),
                    ]
                })
                .collect(),
        );
        d
    }
}

impl Engine {
    /// The integrity report now.
    pub async fn doctors_integrity(&self) -> Result<Integrity, Error> {
        let (h, now) = (self.hospital().clone(), self.now());
        Ok(self.db().read(move |c| integrity(c, &h, now)).await?)
    }
}
