//! The frames screens get (`GET /ws/screens/{code}`), one type for all of
//! them, and what they carry.
//!
//! Every frame is a JSON object whose `type` names it. `snapshot` carries
//! its `seq`; the screen actor adds `seq` to every other frame (a body
//! encoded once is shared by every screen). `restarting` is a control
//! frame outside the sequence.

use std::sync::Arc;
use triage_ground::ids::RoomCode;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::view::{NoticeView, RoomView, ScreenConfig};

/// A call to be spoken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub room_code: RoomCode,
    pub room_name: String,
    pub ticket_no: String,
    pub masked_name: String,
    /// The sentence to speak; already reduced per the privacy setting.
    pub text: String,
    pub repeat: u8,
    pub call_count: i32,
}

/// What the `restarting` frame says.
pub const RESTARTING_MESSAGE: &str = "系统重启中，稍候自动恢复";

/// The `restarting` control frame (also the staff channel's last word).
pub const RESTARTING_FRAME: &str = r#"{"type":"restarting","message":"系统重启中，稍候自动恢复"}"#;

/// A frame for a screen.
#[expect(
    clippy::large_enum_variant,
    reason = "a frame is built, encoded once and dropped; never kept"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScreenFrame {
    /// Everything the screen shows, first on every connection, on a gap
    /// (`resync`) and after a reassignment.
    Snapshot {
        seq: u64,
        server_time: DateTime<Utc>,
        screen: ScreenConfig,
        rooms: Vec<RoomView>,
        notices: Vec<NoticeView>,
    },
    /// One room changed.
    Room { room: RoomView },
    /// Several rooms this screen shows changed at once (one queue feeds them).
    Rooms { rooms: Vec<RoomView> },
    /// A call to show and speak.
    Call { call: Announcement },
    /// A notice starts showing.
    Notice { notice: NoticeView },
    /// A notice stops showing.
    NoticeWithdrawn { notice_id: i64 },
    /// The day ended (日终): the day's recent calls leave the screen.
    DayClosed { day: String },
    /// The server restarts: keep the last state, reconnect soon.
    Restarting { message: String },
}

impl ScreenFrame {
    /// The frame as a JSON value (keys sorted, as `serde_json` keeps them).
    pub fn to_value(&self) -> serde_json::Value {
        // Cannot fail: every key is a string.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The frame encoded once, to share (byte for byte what the `json!`
    /// bodies were: encoded through a value, keys sorted).
    pub fn encode(&self) -> Arc<str> {
        Arc::from(self.to_value().to_string())
    }
}

/// `body` (an encoded frame) with `seq` first: what one screen sends of a
/// body many share.
pub fn with_seq(body: &str, seq: u64) -> Arc<str> {
    let rest = body.strip_prefix('{').unwrap_or(body);
    Arc::from(format!("{{\"seq\":{seq},{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_encode_as_the_json_bodies_did() {
        let n = NoticeView {
            id: 7,
            text: "停诊".into(),
            level: "urgent".into(),
            created_at: DateTime::<Utc>::default(),
            starts_at: None,
            expires_at: None,
        };
        assert_eq!(
            &*ScreenFrame::Notice { notice: n.clone() }.encode(),
            serde_json::json!({ "type": "notice", "notice": n }).to_string()
        );
        assert_eq!(
            &*ScreenFrame::NoticeWithdrawn { notice_id: 7 }.encode(),
            serde_json::json!({ "type": "notice_withdrawn", "notice_id": 7 }).to_string()
        );
        assert_eq!(
            &*ScreenFrame::DayClosed {
                day: "2026-12-06".into()
            }
            .encode(),
            serde_json::json!({ "type": "day_closed", "day": "2026-12-06" }).to_string()
        );
        // The restarting frame keeps its own order (type first), as sent today.
        let restarting = ScreenFrame::Restarting {
            message: RESTARTING_MESSAGE.into(),
        };
        assert_eq!(
            serde_json::to_string(&restarting).ok().as_deref(),
            Some(RESTARTING_FRAME)
        );
        assert_eq!(&*with_seq(r#"{"a":1}"#, 5), r#"{"seq":5,"a":1}"#);
    }
}
