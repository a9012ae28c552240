//! Doctor master data (医生信息) from HIS: parsed by `api::doctors` (photo
//! decoded and type-checked), stored with its audit event, then shown on
//! the door screens of the rooms the doctor staffs at once.

use super::facade::Acting;
use crate::db::columns::ScheduleStatus;
use base64::Engine as _;
use triage_actors::board::view::DoctorView;
use triage_actors::model::Sex;

use super::facade::{doctor_view, Engine};
use crate::db::models::DoctorRow;
use crate::db::store;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::DoctorCode;

/// A doctor's master data, parsed from what HIS sent (`api::doctors`).
#[derive(Clone, Debug)]
pub struct DoctorRecord {
    /// Trimmed, 1-32 characters.
    pub name: String,
    /// A department of the hospital's configuration.
    pub department_code: String,
    /// As shown (a GB/T 8561 code already its name).
    pub title: String,
    pub introduction: String,
    /// The photo as Base64 and its image type.
    pub photo: Option<(String, &'static str)>,
    pub sex: Option<Sex>,
    /// 在岗 (true) or 停诊.
    pub on_duty: bool,
}

impl DoctorRecord {
    /// The stored row of doctor `code` at `at`.
    fn row(self, code: &DoctorCode, at: chrono::DateTime<chrono::Utc>) -> DoctorRow {
        let (photo, photo_mime) = match self.photo {
            Some((b64, mime)) => (Some(b64), Some(mime.to_string())),
            None => (None, None),
        };
        DoctorRow {
            sex: self.sex,
            on_duty: self.on_duty,
            code: code.to_string(),
            name: self.name,
            department_code: self.department_code,
            title: self.title,
            introduction: self.introduction,
            photo,
            photo_mime,
            updated_at: at.naive_utc(),
        }
    }
}

/// What a bulk update did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DoctorsAnswer {
    pub created: usize,
    pub replaced: usize,
    /// Sent again as stored: nothing written.
    pub unchanged: usize,
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
    /// A doctor's public facts in force: the door screens of the rooms he
    /// staffs redraw, and those rooms tell their staff pages again (the
    /// label reads 停诊 when HIS has him off duty, on screens and pages
    /// alike).
    fn publish_doctor(&self, view: DoctorView) {
        for room in self.directory().publish_doctor(view) {
            if let Some(addr) = self.directory().rooms.get(&room) {
                addr.do_send(triage_actors::room::messages::Republish);
            }
        }
    }

    /// Creates or replaces a doctor's master data; answers whether it was
    /// created and the public view.
    pub async fn put_doctor(
        &self,
        code: &DoctorCode,
        record: DoctorRecord,
        who: Acting,
    ) -> Result<(bool, DoctorView), Error> {
        let audit = self.stamp(who);
        let row = record.row(code, audit.at);
        let view = doctor_view(&row);
        let outcome = self
            .db()
            .write(move |c| store::upsert_doctor(c, row, &audit))
            .await?;
        if outcome != store::Upserted::Unchanged {
            self.publish_doctor(view.clone());
            tracing::info!(doctor_code = %code, outcome = ?outcome, "doctor master data stored");
        }
        Ok((outcome == store::Upserted::Created, view))
    }

    /// Creates or replaces many doctors (checked, each staff number once)
    /// in one transaction, then each door screen the doctors staff
    /// updates.
    pub async fn put_doctors(
        &self,
        doctors: Vec<(DoctorCode, DoctorRecord)>,
        who: Acting,
    ) -> Result<DoctorsAnswer, Error> {
        let audit = self.stamp(who);
        let rows: Vec<DoctorRow> = doctors
            .into_iter()
            .map(|(code, record)| record.row(&code, audit.at))
            .collect();
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
                self.publish_doctor(v);
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
