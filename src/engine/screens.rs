//! Screens as managed devices: register a screen at run time, or move one
//! to other rooms or another role (搬迁, 备用屏 a backup display). The
//! change is stored (table `screens`, which replaces the configuration
//! file's definition of that code), then the running screen takes it at
//! once: its actor watches the new rooms and every open session gets a new
//! snapshot, so the screen changes without anyone touching it. A restart
//! rebuilds the same from the database.

use super::facade::Acting;
use actix::Actor;
use triage_actors::screen::{Reassign, Retire, ScreenActor, ScreenConfig, ScreenKind};

use super::facade::Engine;
use crate::db::store::{self, ScreenRow};
use crate::db::DbError;
use triage_ground::error::Error;
use triage_ground::ids::{RoomCode, ScreenCode};

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
        retired_at: None,
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

    /// The rooms the screen `code` shows, running or only stored (a retired
    /// screen's last rooms); none for a code never used.
    pub async fn screen_rooms_known(&self, code: &ScreenCode) -> Result<Vec<RoomCode>, Error> {
        if let Some(s) = self.screen(code.as_str()) {
            return Ok(s.rooms);
        }
        let rows = self.db().read(store::load_screens).await?;
        Ok(rows
            .iter()
            .find(|r| r.code == code.as_str())
            .map(config_of)
            .transpose()?
            .map(|s| s.rooms)
            .unwrap_or_default())
    }

    /// The screen `code` as `body` describes it: registered if new,
    /// reassigned if it exists. Stored first, then the running screen
    /// changes at once. Answers the screen and whether it is new.
    pub async fn put_screen(
        &self,
        code: &ScreenCode,
        config: ScreenConfig,
        who: Acting,
    ) -> Result<(ScreenConfig, bool), Error> {
        let _one_at_a_time = self.screening.lock().await;
        let audit = self.stamp(who);
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

    /// Takes the screen `code` out of service (停用): stored first (its row
    /// marked retired, so that a screen of the configuration file stays
    /// retired across restarts; its device token ended), then it stops at
    /// once: its open sessions are refused and closed, `/screens` lists it
    /// no more. Answers what it showed and whether a live token ended.
    pub async fn retire_screen(
        &self,
        code: &ScreenCode,
        who: Acting,
    ) -> Result<(ScreenConfig, bool), Error> {
        let _one_at_a_time = self.screening.lock().await;
        let config = self.screen(code.as_str()).ok_or_else(|| {
            Error::new(
                triage_ground::error::ErrorCode::ScreenNotFound,
                format!("no screen {code:?}"),
            )
        })?;
        let audit = self.stamp(who);
        let mut row = row_of(&config, audit.at.naive_utc())?;
        row.retired_at = Some(row.updated_at);
        let before = serde_json::to_value(&config).map_err(|_| Error::internal())?;
        let ended = self
            .db()
            .write(move |c| store::retire_screen(c, &row, before, &audit))
            .await?;
        if let Some(addr) = self.directory().remove_screen(&config.code) {
            // Answered once it is off the board (it stops next).
            addr.send(Retire)
                .await
                .map_err(triage_actors::EngineError::from)?;
        }
        tracing::info!(screen = %config.code, "screen retired");
        Ok((config, ended))
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
