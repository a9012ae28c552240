//! Notices on screens (信息发布): the ones not yet withdrawn or expired,
//! each sent to its screens encoded once, when it starts (at once, or at
//! its start time on the server's clock ticks), and taken off them when it
//! expires, so a screen whose own clock is wrong still shows them on time.
//! The day end's word to every screen goes the same way.

use chrono::{DateTime, Utc};
use triage_ground::ids::ScreenCode;

use super::events::Broadcast;
use super::frame::ScreenFrame;

use super::*;

impl Board {
    /// Records a notice; sends it to its screens if it shows at `now`
    /// (a later start is sent by [`Board::notice_tick`]). The frame
    /// body is encoded once and shared; each screen only prefixes its
    /// sequence number.
    pub fn publish_notice(
        &self,
        notice: NoticeView,
        screens: Option<Vec<ScreenCode>>,
        now: DateTime<Utc>,
    ) {
        let sent = notice.shows_at(now);
        if sent {
            self.broadcast(&shown(&notice), screens.as_deref());
        }
        self.notices.insert(
            notice.id,
            HeldNotice {
                view: notice,
                screens,
                sent,
            },
        );
    }

    /// Withdraws a notice from its screens.
    pub fn withdraw_notice(&self, id: i64) {
        if let Some((_, held)) = self.notices.remove(&id) {
            if held.sent {
                self.broadcast(&withdrawn(id), held.screens.as_deref());
            }
        }
    }

    /// The clock moved on: notices whose start has come go to their
    /// screens, expired ones leave them (and the directory). Answers how
    /// many started and how many ended.
    pub fn notice_tick(&self, now: DateTime<Utc>) -> (usize, usize) {
        let mut started = 0;
        let mut ended = Vec::new();
        for mut n in self.notices.iter_mut() {
            if n.view.expires_at.is_some_and(|e| e <= now) {
                ended.push(n.view.id);
            } else if !n.sent && n.view.shows_at(now) {
                // Sent while the entry is held: a withdrawal waits for it,
                // so its frame always follows this one.
                n.sent = true;
                self.broadcast(&shown(&n.view), n.screens.as_deref());
                started += 1;
            }
        }
        for id in &ended {
            self.withdraw_notice(*id);
        }
        (started, ended.len())
    }

    /// The day ended (日终): every screen drops the day's recent calls (its
    /// rooms and queues are already empty).
    pub fn day_closed(&self, day: &str) {
        let body = ScreenFrame::DayClosed {
            day: day.to_string(),
        }
        .encode();
        self.broadcast(&body, None);
    }

    fn broadcast(&self, body: &std::sync::Arc<str>, screens: Option<&[ScreenCode]>) {
        match screens {
            None => {
                for s in self.screen_links.iter() {
                    s.broadcast(Broadcast(body.clone()));
                }
            }
            Some(list) => {
                for code in list {
                    if let Some(s) = self.screen_links.get(code.as_str()) {
                        s.broadcast(Broadcast(body.clone()));
                    }
                }
            }
        }
    }

    /// Notices a screen shows at `now`, oldest first.
    pub fn notices_for(&self, screen: &str, now: DateTime<Utc>) -> Vec<NoticeView> {
        let mut out: Vec<NoticeView> = self
            .notices
            .iter()
            .filter(|n| {
                n.screens
                    .as_ref()
                    .is_none_or(|l| l.iter().any(|s| s == screen))
            })
            .filter(|n| n.view.shows_at(now))
            .map(|n| n.view.clone())
            .collect();
        out.sort_by_key(|n| n.id);
        out
    }
}

fn shown(notice: &NoticeView) -> std::sync::Arc<str> {
    ScreenFrame::Notice {
        notice: notice.clone(),
    }
    .encode()
}

fn withdrawn(id: i64) -> std::sync::Arc<str> {
    ScreenFrame::NoticeWithdrawn { notice_id: id }.encode()
}
