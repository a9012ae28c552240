//! Screens as managed devices: register a screen at run time, or move one
//! to other rooms or another role (搬迁, 备用屏 a backup display). The
//! change is stored (table `screens`, which replaces the configuration
//! file's definition of that code), then the running screen takes it at
//! once: its actor watches the new rooms and every open session gets a new
//! snapshot, so the screen changes without anyone touching it. A restart
//! rebuilds the same from the database.

use super::facade::Acting;
use actix::Actor;
use serde::Deserialize;
use triage_actors::screen::{Reassign, ScreenActor, ScreenConfig, ScreenKind};
use utoipa::ToSchema;

use super::facade::Engine;
use crate::config::Hospital;
use crate::db::store::{self, ScreenRow};
use crate::db::DbError;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{RoomCode, ScreenCode};

/// What a screen shows: `PUT /api/v1/screens/{code}` (creates it, or
/// reassigns it).
#[derive(Deserialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ScreenBody {
    /// What the hospital calls the device (1-40 characters), e.g.
    /// "内科候诊区2号屏".
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\s\S]*$"
    )]
    pub name: String,
    /// `overview` (综合屏: several rooms) or `door` (门口屏: one room).
    #[schema(pattern = "^(overview|door)$")]
    pub kind: String,
    /// The rooms it shows (a door screen exactly one).
    #[serde(default)]
    pub rooms: Option<Vec<String>>,
    /// An overview of a whole department (instead of `rooms`).
    #[serde(default)]
    pub department: Option<String>,
    /// The heading (default: the department's or the room's name).
    #[serde(default)]
    pub title: Option<String>,
    /// Whether it speaks the calls (default: overviews yes, doors no).
    #[serde(default)]
    pub voice: Option<bool>,
    /// Waiting patients shown per room, 1-10 (default: the hospital's).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub next_count: Option<usize>,
    /// A door screen that also lists its room's appointments of today
    /// (今日预约: slot and masked name); default no. Overviews cannot.
    #[serde(default)]
    pub appointments: bool,
}

impl ScreenBody {
    /// The screen this body describes, checked against the hospital.
    fn config(&self, code: &str, hospital: &Hospital) -> Result<ScreenConfig, Error> {
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > 40 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "name",
                "1-40 characters",
            ));
        }
        let kind = ScreenKind::parse(&self.kind)
            .ok_or_else(|| Error::field(ErrorCode::InvalidField, "kind", "overview or door"))?;
        let mut rooms: Vec<RoomCode> = Vec::new();
        let mut department_name = None;
        if let Some(d) = &self.department {
            let Some(dep) = hospital.departments.iter().find(|x| x.code == *d) else {
                return Err(Error::field(
                    ErrorCode::UnknownDepartment,
                    "department",
                    format!("no department {d:?}"),
                ));
            };
            department_name = Some(dep.name.clone());
            if self.rooms.is_none() {
                rooms.extend(
                    hospital
                        .rooms
                        .iter()
                        .filter(|r| r.department == *d)
                        .map(|r| r.code.clone()),
                );
            }
        }
        for (i, r) in self.rooms.iter().flatten().enumerate() {
            if hospital.room(r).is_none() {
                return Err(Error::field(
                    ErrorCode::UnknownRoom,
                    &format!("rooms[{i}]"),
                    format!("no room {r:?}"),
                ));
            }
            // Known, hence well-formed.
            if !rooms.iter().any(|x| x == r) {
                rooms.push(RoomCode::trusted(r.clone()));
            }
        }
        match kind {
            ScreenKind::Door if rooms.len() != 1 => {
                return Err(Error::field(
                    ErrorCode::InvalidScreens,
                    "rooms",
                    "a door screen shows exactly one room",
                ))
            }
            ScreenKind::Overview if rooms.is_empty() => {
                return Err(Error::field(
                    ErrorCode::InvalidScreens,
                    "rooms",
                    "an overview screen needs a department or rooms",
                ))
            }
            _ => {}
        }
        if self.appointments && kind != ScreenKind::Door {
            return Err(Error::field(
                ErrorCode::InvalidScreens,
                "appointments",
                "only a door screen lists its room's appointments",
            ));
        }
        let next_count = self.next_count.unwrap_or(hospital.next_count);
        if !(1..=10).contains(&next_count) {
            return Err(Error::field(ErrorCode::InvalidField, "next_count", "1-10"));
        }
        // Counted as sent, stored trimmed.
        let sent = self.title.as_deref().map_or(0, |t| t.chars().count());
        let title = match self.title.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && sent <= 40 => t.to_string(),
            Some(_) => {
                return Err(Error::field(
                    ErrorCode::InvalidField,
                    "title",
                    "1-40 characters",
                ))
            }
            None => department_name
                .or_else(|| {
                    (kind == ScreenKind::Door)
                        .then(|| {
                            rooms
                                .first()
                                .and_then(|r| hospital.room(r))
                                .map(|r| r.name.clone())
                        })
                        .flatten()
                })
                .unwrap_or_else(|| name.to_string()),
        };
        Ok(ScreenConfig {
            code: ScreenCode::trusted(code),
            name: name.to_string(),
            kind,
            title,
            rooms,
            voice: self.voice.unwrap_or(kind == ScreenKind::Overview),
            next_count,
            appointments: self.appointments,
        })
    }
}

/// The stored form of a screen.
pub fn row_of(c: &ScreenConfig, at: chrono::NaiveDateTime) -> Result<ScreenRow, Error> {
    Ok(ScreenRow {
        code: c.code.to_string(),
        name: c.name.clone(),
        kind: c.kind.as_str().into(),
        title: c.title.clone(),
        rooms: serde_json::to_string(&c.rooms).map_err(|_| Error::internal())?,
        voice: c.voice,
        next_count: i32::try_from(c.next_count).map_err(|_| Error::internal())?,
        updated_at: at,
        show_appointments: c.appointments,
    })
}

/// A stored screen as the engine runs it; broken rows are reported.
pub fn config_of(r: &ScreenRow) -> Result<ScreenConfig, DbError> {
    let broken = |what: &str| DbError::Corrupt(format!("screen {}: {what}", r.code));
    Ok(ScreenConfig {
        code: ScreenCode::trusted(r.code.clone()),
        name: r.name.clone(),
        kind: ScreenKind::parse(&r.kind).ok_or_else(|| broken("unknown kind"))?,
        title: r.title.clone(),
        rooms: serde_json::from_str(&r.rooms).map_err(|_| broken("unreadable rooms"))?,
        voice: r.voice,
        next_count: usize::try_from(r.next_count).map_err(|_| broken("bad next_count"))?,
        appointments: r.show_appointments,
    })
}

impl Engine {
    /// Every screen as it runs now, by code.
    pub fn screens(&self) -> Vec<ScreenConfig> {
        let mut list: Vec<ScreenConfig> = self
            .directory()
            .screen_configs
            .iter()
            .map(|s| s.value().clone())
            .collect();
        list.sort_by(|a, b| a.code.cmp(&b.code));
        list
    }

    /// One screen as it runs now.
    pub fn screen(&self, code: &str) -> Option<ScreenConfig> {
        self.directory().screen_configs.get(code).map(|s| s.clone())
    }

    /// The screen `code` as `body` describes it: registered if new,
    /// reassigned if it exists. Stored first, then the running screen
    /// changes at once. Answers the screen and whether it is new.
    pub async fn put_screen(
        &self,
        code: &ScreenCode,
        body: &ScreenBody,
        who: Acting,
    ) -> Result<(ScreenConfig, bool), Error> {
        let audit = self.stamp(who);
        let config = body.config(code.as_str(), self.hospital())?;
        let before = self.screen(code.as_str());
        if before.as_ref() == Some(&config) {
            return Ok((config, false));
        }
        let row = row_of(&config, audit.at.naive_utc())?;
        let (b, a) = (
            before
                .as_ref()
                .map(serde_json::to_value)
                .transpose()
                .map_err(|_| Error::internal())?,
            serde_json::to_value(&config).map_err(|_| Error::internal())?,
        );
        self.db()
            .write(move |c| store::put_screen(c, &row, b, a, &audit))
            .await?;
        self.run_screen(config.clone());
        tracing::info!(screen = %config.code, rooms = ?config.rooms, "screen assigned");
        Ok((config, before.is_none()))
    }

    /// Puts a screen's configuration in force: the running actor takes it
    /// (a new snapshot to every open session), or a new one starts.
    pub(crate) fn run_screen(&self, config: ScreenConfig) {
        self.directory()
            .screen_configs
            .insert(config.code.clone(), config.clone());
        match self
            .directory()
            .screens
            .get(&config.code)
            .map(|a| a.clone())
        {
            Some(addr) => addr.do_send(Reassign(config)),
            None => {
                let actor = ScreenActor::new(
                    config.clone(),
                    self.directory().board(),
                    self.clock().clone(),
                );
                let variant = actor.variant();
                self.directory()
                    .add_screen(&config.code, actor.start(), &config.rooms, variant);
            }
        }
    }
}
