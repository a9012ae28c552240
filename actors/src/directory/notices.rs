//! Notices on screens (信息发布): the active ones, sent to their screens
//! encoded once.

use chrono::{DateTime, Utc};

use crate::screen::Broadcast;

use super::*;

impl Directory {
    /// Records a notice and sends it to its screens: the frame body is
    /// encoded once and shared; each screen only prefixes its sequence number.
    pub fn publish_notice(&self, notice: NoticeView, screens: Option<Vec<String>>) {
        let body: std::sync::Arc<str> = serde_json::json!({ "type": "notice", "notice": notice })
            .to_string()
            .into();
        self.broadcast(&body, screens.as_deref());
        self.notices.insert(notice.id, (notice, screens));
    }

    /// Withdraws a notice from its screens.
    pub fn withdraw_notice(&self, id: i64) {
        if let Some((_, (_, screens))) = self.notices.remove(&id) {
            let body: std::sync::Arc<str> =
                serde_json::json!({ "type": "notice_withdrawn", "notice_id": id })
                    .to_string()
                    .into();
            self.broadcast(&body, screens.as_deref());
        }
    }

    fn broadcast(&self, body: &std::sync::Arc<str>, screens: Option<&[String]>) {
        match screens {
            None => {
                for s in self.screens.iter() {
                    s.do_send(Broadcast(body.clone()));
                }
            }
            Some(list) => {
                for code in list {
                    if let Some(s) = self.screens.get(code) {
                        s.do_send(Broadcast(body.clone()));
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
            .filter(|n| n.1.as_ref().is_none_or(|l| l.iter().any(|s| s == screen)))
            .filter(|n| n.0.expires_at.is_none_or(|e| e > now))
            .map(|n| n.0.clone())
            .collect();
        out.sort_by_key(|n| n.id);
        out
    }
}
