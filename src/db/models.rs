//! Row structs (read) and insert forms (write), one pair per table.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use triage_actors::model::{
    DayEndStatus, EntryKind, PlacementCode, RoomStatus, SeatState, Sex, SpecialTag, StaffMarks,
    VisitStatus,
};

use super::columns::{AppointmentStatus, NoticeLevel, VisitType};
use triage_ground::ids::{DepartmentCode, DoctorCode, QueueCode, RoomCode, VisitNo};

use super::schema::{doctors, events, notices, queue_counters, queue_rules, rooms, visits};

#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = visits)]
pub struct VisitRow {
    pub visit_no: VisitNo,
    pub patient_id: String,
    pub patient_name: String,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub department_code: DepartmentCode,
    pub doctor_code: Option<DoctorCode>,
    pub visit_type: VisitType,
    pub registered_at: NaiveDateTime,
    pub appointment_start: Option<NaiveDateTime>,
    pub appointment_end: Option<NaiveDateTime>,
    pub special: String,
    pub exam_items: String,
    pub body: String,
    pub status: VisitStatus,
    pub queue_code: Option<QueueCode>,
    pub ticket_no: Option<String>,
    pub service_date: Option<String>,
    pub seq: Option<i64>,
    pub queue_mark: Option<i64>,
    pub entry_kind: Option<EntryKind>,
    pub tags: String,
    pub checked_in_at: Option<NaiveDateTime>,
    pub called_at: Option<NaiveDateTime>,
    pub room_code: Option<RoomCode>,
    pub call_count: i32,
    pub placement: Option<PlacementCode>,
    pub finished_at: Option<NaiveDateTime>,
    pub performer: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub miss_count: i32,
    /// When the entry was last (re)inserted: the recall time for a patient
    /// back after a missed call.
    pub marked_at: Option<NaiveDateTime>,
    /// Held by a nurse (挂起).
    pub held: bool,
    /// Pinned to the top by a nurse (置顶).
    pub pinned_at: Option<NaiveDateTime>,
    /// Locked head order (told they are next).
    pub locked_seq: Option<i64>,
    /// HIS registration sequence number (挂号序号).
    pub his_seq: Option<i64>,
    /// A nurse's move (调整顺序): the position asked for, the queue's
    /// `taken_total` then, and when.
    pub moved_position: Option<i32>,
    pub moved_mark: Option<i64>,
    pub moved_at: Option<NaiveDateTime>,
    /// On this room's short list (二级候诊), since when, in which order.
    pub assigned_room: Option<RoomCode>,
    pub assigned_at: Option<NaiveDateTime>,
    pub assigned_order: Option<i64>,
    /// A nurse's special-group marks over HIS's (`StaffMarks` as JSON).
    pub special_staff: String,
    /// How the day end closed the visit (`DayEndStatus` code), if it did.
    pub closed_as: Option<DayEndStatus>,
    /// The room an appointment booked (预约到诊室).
    pub appointed_room: Option<RoomCode>,
}

impl VisitRow {
    /// The row `new` becomes when inserted (the columns it leaves to their
    /// defaults as the schema sets them): a registration checked in within
    /// the commit that stores it is planned from this.
    pub fn registered(new: &NewVisit) -> Result<VisitRow, super::conn::DbError> {
        let broken = |what: &str| {
            super::conn::DbError::Corrupt(format!("registration {} has {what}", new.visit_no))
        };
        Ok(VisitRow {
            visit_no: VisitNo::parse(&new.visit_no).map_err(|_| broken("a bad number"))?,
            patient_id: new.patient_id.clone(),
            patient_name: new.patient_name.clone(),
            sex: new.sex,
            birth_date: new.birth_date.clone(),
            department_code: DepartmentCode::trusted(new.department_code.clone()),
            doctor_code: new.doctor_code.clone().map(DoctorCode::trusted),
            visit_type: new.visit_type,
            registered_at: new.registered_at,
            appointment_start: new.appointment_start,
            appointment_end: new.appointment_end,
            special: new.special.clone(),
            exam_items: new.exam_items.clone(),
            body: new.body.clone(),
            status: new.status,
            queue_code: None,
            ticket_no: None,
            service_date: None,
            seq: None,
            queue_mark: None,
            entry_kind: None,
            tags: "[]".into(),
            checked_in_at: None,
            called_at: None,
            room_code: None,
            call_count: 0,
            placement: None,
            finished_at: None,
            performer: None,
            created_at: new.created_at,
            updated_at: new.updated_at,
            miss_count: 0,
            marked_at: None,
            held: false,
            pinned_at: None,
            locked_seq: None,
            his_seq: new.his_seq,
            moved_position: None,
            moved_mark: None,
            moved_at: None,
            assigned_room: None,
            assigned_at: None,
            assigned_order: None,
            special_staff: serde_json::to_string(&StaffMarks::default())
                .map_err(|_| broken("unwritable marks"))?,
            closed_as: None,
            appointed_room: new.appointed_room.clone().map(RoomCode::trusted),
        })
    }

    /// How the visit entered its queue (normal when it never did).
    pub fn entry_kind(&self) -> EntryKind {
        self.entry_kind.unwrap_or(EntryKind::Normal)
    }

    /// The placement code recorded with the call or the send to a short
    /// list; none is broken data, reported.
    pub fn placement(&self) -> Result<PlacementCode, super::conn::DbError> {
        self.placement.ok_or_else(|| self.broken("no placement"))
    }

    /// Every special tag the queue gave the visit (registration and age).
    pub fn tags(&self) -> Result<Vec<SpecialTag>, super::conn::DbError> {
        serde_json::from_str(&self.tags).map_err(|_| self.broken("unreadable tags"))
    }

    /// The special tags of the registration: what HIS sent with a nurse's
    /// marks applied.
    pub fn registered_tags(&self) -> Result<Vec<SpecialTag>, super::conn::DbError> {
        Ok(self.staff_marks()?.apply(&self.his_tags()?))
    }

    /// The special tags HIS sent.
    pub fn his_tags(&self) -> Result<Vec<SpecialTag>, super::conn::DbError> {
        serde_json::from_str(&self.special).map_err(|_| self.broken("unreadable registered tags"))
    }

    /// A nurse's marks over what HIS sent.
    pub fn staff_marks(&self) -> Result<StaffMarks, super::conn::DbError> {
        serde_json::from_str(&self.special_staff)
            .map_err(|_| self.broken("unreadable special-group marks"))
    }

    /// The patient's birth date, if HIS sent one.
    pub fn birth_date(&self) -> Result<Option<chrono::NaiveDate>, super::conn::DbError> {
        self.birth_date
            .as_deref()
            .map(|d| {
                d.parse()
                    .map_err(|_| self.broken("an unreadable birth date"))
            })
            .transpose()
    }

    /// A field a waiting or called visit must have.
    pub fn required<T: Clone>(
        &self,
        value: &Option<T>,
        what: &str,
    ) -> Result<T, super::conn::DbError> {
        value
            .clone()
            .ok_or_else(|| self.broken(&format!("no {what}")))
    }

    /// Broken stored data, naming the visit (never the patient).
    pub fn broken(&self, what: &str) -> super::conn::DbError {
        super::conn::DbError::Corrupt(format!(
            "visit {} ({}) has {what}",
            self.visit_no, self.status
        ))
    }
}

/// The registration part of a visit (what HIS sends).
///
/// A field left `None` is stored as NULL (none of these columns has a
/// default), so many rows insert as one statement with one text.
#[derive(
    Insertable, AsChangeset, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize,
)]
#[diesel(table_name = visits, treat_none_as_default_value = false)]
pub struct NewVisit {
    pub visit_no: String,
    pub patient_id: String,
    pub patient_name: String,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub department_code: String,
    pub doctor_code: Option<String>,
    pub visit_type: VisitType,
    pub registered_at: NaiveDateTime,
    pub appointment_start: Option<NaiveDateTime>,
    pub appointment_end: Option<NaiveDateTime>,
    pub special: String,
    pub exam_items: String,
    pub body: String,
    pub status: VisitStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub his_seq: Option<i64>,
    /// The room an appointment booked (none for a registration).
    pub appointed_room: Option<String>,
}

/// The registration's fields a HIS message replaces (update form of
/// [`NewVisit`]); serialised into the engine's sealed correction record.
#[derive(AsChangeset, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = visits, treat_none_as_null = true)]
pub struct RegistrationChanges {
    pub patient_id: String,
    pub patient_name: String,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub department_code: String,
    pub doctor_code: Option<String>,
    pub visit_type: VisitType,
    pub registered_at: NaiveDateTime,
    pub appointment_start: Option<NaiveDateTime>,
    pub appointment_end: Option<NaiveDateTime>,
    pub special: String,
    pub exam_items: String,
    pub body: String,
    pub updated_at: NaiveDateTime,
    pub his_seq: Option<i64>,
    /// Absent in corrections journaled before appointments existed.
    #[serde(default)]
    pub appointed_room: Option<String>,
}

impl From<&NewVisit> for RegistrationChanges {
    fn from(v: &NewVisit) -> Self {
        RegistrationChanges {
            patient_id: v.patient_id.clone(),
            patient_name: v.patient_name.clone(),
            sex: v.sex,
            birth_date: v.birth_date.clone(),
            department_code: v.department_code.clone(),
            doctor_code: v.doctor_code.clone(),
            visit_type: v.visit_type,
            registered_at: v.registered_at,
            appointment_start: v.appointment_start,
            appointment_end: v.appointment_end,
            special: v.special.clone(),
            exam_items: v.exam_items.clone(),
            body: v.body.clone(),
            updated_at: v.updated_at,
            his_seq: v.his_seq,
            appointed_room: v.appointed_room.clone(),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = doctors)]
pub struct DoctorRow {
    pub code: String,
    pub name: String,
    pub department_code: String,
    pub title: String,
    pub introduction: String,
    pub photo: Option<String>,
    pub photo_mime: Option<String>,
    pub updated_at: NaiveDateTime,
    /// GB/T 2261.1 code, if HIS sent one.
    pub sex: Option<Sex>,
    /// On duty (在岗) or not seeing patients (停诊).
    pub on_duty: bool,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = rooms)]
pub struct RoomRow {
    pub code: RoomCode,
    pub status: RoomStatus,
    pub current_visit_no: Option<VisitNo>,
    pub updated_at: NaiveDateTime,
    pub mix_cursor: i64,
    /// Who sits in the room (`SeatState` code).
    pub seat: SeatState,
    pub seated_doctor: Option<DoctorCode>,
    /// The queues called while a doctor is signed in or out (JSON list).
    pub draws_from: Option<String>,
    /// Their mix (JSON list).
    pub mix: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = queue_counters)]
pub struct CounterRow {
    pub queue_code: QueueCode,
    pub normal_calls_total: i64,
    pub last_insert_mark: i64,
    pub ticket_date: String,
    pub ticket_last: i32,
    pub next_seq: i64,
    pub updated_at: NaiveDateTime,
    pub consecutive_priority: i64,
    pub calls_since_return: i64,
    pub taken_total: i64,
    /// JSON list of arrival numbers (see `Counters::overtakes`).
    pub overtakes: String,
}

#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub kind: String,
    pub operator: String,
    pub source: String,
    pub visit_no: Option<String>,
    pub room_code: Option<String>,
    pub queue_code: Option<String>,
    pub detail: String,
    /// The audit chain: the hash of the row before, and this row's.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// An event to append; `db::audit::append` sets its place in the chain.
///
/// A field left `None` is stored as NULL (none of these columns has a
/// default): one statement text for every event.
#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct NewEvent {
    pub at: NaiveDateTime,
    pub kind: String,
    pub operator: String,
    pub source: String,
    pub visit_no: Option<String>,
    pub room_code: Option<String>,
    pub queue_code: Option<String>,
    pub detail: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl From<&EventRow> for NewEvent {
    fn from(r: &EventRow) -> Self {
        NewEvent {
            at: r.at,
            kind: r.kind.clone(),
            operator: r.operator.clone(),
            source: r.source.clone(),
            visit_no: r.visit_no.clone(),
            room_code: r.room_code.clone(),
            queue_code: r.queue_code.clone(),
            detail: r.detail.clone(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        }
    }
}

#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = notices)]
pub struct NoticeRow {
    pub id: i64,
    pub text: String,
    pub level: NoticeLevel,
    /// `*` for every screen, else a JSON list of screen codes.
    pub screens: String,
    pub operator: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    /// When it starts showing; none for at once.
    pub starts_at: Option<NaiveDateTime>,
}

impl NoticeRow {
    /// What `screens` holds for a notice to every screen.
    pub const EVERY_SCREEN: &'static str = "*";

    /// The screens the notice is for; `None` for every screen (or a list
    /// that cannot be read, shown everywhere rather than nowhere).
    pub fn screen_list(&self) -> Option<Vec<String>> {
        if self.screens == Self::EVERY_SCREEN {
            return None;
        }
        serde_json::from_str(&self.screens).ok()
    }
}

#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = notices)]
pub struct NewNotice {
    pub text: String,
    pub level: NoticeLevel,
    pub screens: String,
    pub operator: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub starts_at: Option<NaiveDateTime>,
}

/// Rules of a queue set through the API (JSON of `QueueRules`).
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = queue_rules)]
pub struct QueueRulesRow {
    pub queue_code: String,
    pub rules: String,
    pub operator: String,
    pub updated_at: NaiveDateTime,
}

/// What the server keeps of an appointment beside its visit: the HIS
/// version applied, the digest of that message, and whether it was
/// cancelled (a tombstone, also for an appointment never received).
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone, PartialEq)]
#[diesel(table_name = super::schema::appointments, treat_none_as_null = true)]
pub struct AppointmentRow {
    pub appointment_id: String,
    pub version: i64,
    pub digest: String,
    pub room_code: Option<String>,
    pub status: AppointmentStatus,
    pub updated_at: NaiveDateTime,
}
