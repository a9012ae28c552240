//! Notices published to screens (信息发布): stored (with their audit event)
//! before any screen sees them, shown from their start to their end time
//! (part of every snapshot meanwhile), withdrawable at any time.

use super::facade::Acting;
use chrono::{DateTime, Utc};
use serde::Serialize;
use triage_actors::board::view::NoticeView;
use triage_actors::model::Audit;
use utoipa::ToSchema;

use super::facade::Engine;
use crate::db::columns::NoticeLevel;
use crate::db::models::{NewNotice, NoticeRow};
use crate::db::store;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::ScreenCode;
use triage_ground::time::utc;

/// A notice to publish, its fields parsed (`api::notices` reads the body;
/// the stop-clinic notice is made here): the engine checks what needs the
/// running hospital (the screens exist) and the time (start and end).
#[derive(Clone, Debug)]
pub struct NoticeDraft {
    /// 1-500 characters ([`NoticeDraft::text`]).
    pub text: String,
    pub level: NoticeLevel,
    /// Chosen screens (at least one); `None` for every screen.
    pub screens: Option<Vec<ScreenCode>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NoticeDraft {
    /// A notice's text as it is kept: trimmed, 1-500 characters, no
    /// control character but line breaks.
    pub fn text(text: &str) -> Result<String, Error> {
        let trimmed = text.trim();
        if trimmed.is_empty()
            || text.chars().count() > 500
            || trimmed.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(Error::field(
                ErrorCode::InvalidNoticeText,
                "text",
                "1-500 characters",
            ));
        }
        Ok(trimmed.to_string())
    }
}

/// How far ahead a notice may be scheduled.
const MAX_LEAD_DAYS: i64 = 90;

/// A notice as stored.
#[derive(Serialize, ToSchema)]
pub struct NoticeAnswer {
    pub id: i64,
    pub text: String,
    #[schema(value_type = String)]
    pub level: NoticeLevel,
    /// Target screens; null for every screen.
    pub screens: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub starts_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Who published it (staff code or HIS client).
    pub operator: String,
    /// `scheduled` (starts later) or `showing`.
    pub state: String,
}

fn answer(r: &NoticeRow, now: DateTime<Utc>) -> NoticeAnswer {
    let starts_at = r.starts_at.map(utc);
    NoticeAnswer {
        id: r.id,
        text: r.text.clone(),
        level: r.level,
        screens: r.screen_list(),
        created_at: utc(r.created_at),
        starts_at,
        expires_at: r.expires_at.map(utc),
        operator: r.operator.clone(),
        state: if starts_at.is_some_and(|s| s > now) {
            "scheduled"
        } else {
            "showing"
        }
        .into(),
    }
}

/// The engine's view of a stored notice.
pub fn view(r: &NoticeRow) -> (NoticeView, Option<Vec<ScreenCode>>) {
    let a = answer(r, utc(r.created_at));
    (
        NoticeView {
            id: a.id,
            text: a.text,
            level: a.level.as_str().to_string(),
            created_at: a.created_at,
            starts_at: a.starts_at,
            expires_at: a.expires_at,
        },
        // Stored by this program, checked when published.
        a.screens
            .map(|list| list.into_iter().map(ScreenCode::trusted).collect()),
    )
}

impl Engine {
    /// Publishes a notice to its screens (all when none are named).
    pub async fn publish_notice(
        &self,
        body: NoticeDraft,
        who: Acting,
    ) -> Result<NoticeAnswer, Error> {
        self.publish_notice_at(body, self.stamp(who)).await
    }

    /// As [`Engine::publish_notice`], stamped by the command that runs it (one
    /// action, one instant).
    pub(crate) async fn publish_notice_at(
        &self,
        body: NoticeDraft,
        audit: Audit,
    ) -> Result<NoticeAnswer, Error> {
        if let Some(list) = &body.screens {
            for (i, code) in list.iter().enumerate() {
                if !self.directory().screens.contains_key(code.as_str()) {
                    return Err(Error::field(
                        ErrorCode::UnknownScreen,
                        &format!("screens[{i}]"),
                        format!("no screen {:?}", code.as_str()),
                    ));
                }
            }
        }
        // A start already past is a start now.
        let starts = body.starts_at.filter(|s| *s > audit.at);
        if starts.is_some_and(|s| s > audit.at + chrono::Duration::days(MAX_LEAD_DAYS)) {
            return Err(Error::field(
                ErrorCode::InvalidNoticeStart,
                "starts_at",
                format!("a notice starts within {MAX_LEAD_DAYS} days"),
            ));
        }
        let expires = body.expires_at;
        if expires.is_some_and(|e| e <= audit.at) {
            return Err(Error::field(
                ErrorCode::InvalidExpiry,
                "expires_at",
                "the notice would already be expired",
            ));
        }
        if let (Some(s), Some(e)) = (starts, expires) {
            if e <= s {
                return Err(Error::field(
                    ErrorCode::InvalidExpiry,
                    "expires_at",
                    "the notice must end after it starts",
                ));
            }
        }
        let screens = match &body.screens {
            None => NoticeRow::EVERY_SCREEN.into(),
            Some(l) => serde_json::to_string(&l.iter().map(ScreenCode::as_str).collect::<Vec<_>>())
                .map_err(|_| Error::internal())?,
        };
        let new = NewNotice {
            text: body.text,
            level: body.level,
            screens,
            operator: audit.operator.clone(),
            created_at: audit.at.naive_utc(),
            expires_at: expires.map(|e| e.naive_utc()),
            starts_at: starts.map(|s| s.naive_utc()),
        };
        let row = self
            .db()
            .write(move |c| store::insert_notice(c, new, &audit))
            .await?;
        let (v, screens) = view(&row);
        let now = self.now();
        self.directory().publish_notice(v, screens, now);
        tracing::info!(
            notice_id = row.id,
            scheduled = starts.is_some(),
            "notice published"
        );
        Ok(answer(&row, now))
    }

    /// The notices neither withdrawn nor expired: showing and scheduled.
    pub async fn notices(&self) -> Result<Vec<NoticeAnswer>, Error> {
        let now = self.now();
        let at = now.naive_utc();
        let rows = self
            .db()
            .read(move |c| store::active_notices(c, at))
            .await?;
        Ok(rows.iter().map(|r| answer(r, now)).collect())
    }

    /// Withdraws an active notice from its screens.
    pub async fn withdraw_notice(&self, id: i64, who: Acting) -> Result<(), Error> {
        let audit = self.stamp(who);
        let changed = self
            .db()
            .write(move |c| store::withdraw_notice(c, id, &audit))
            .await?;
        if !changed {
            return Err(Error::new(
                ErrorCode::NoticeNotFound,
                "no such active notice",
            ));
        }
        self.directory().withdraw_notice(id);
        Ok(())
    }
}
