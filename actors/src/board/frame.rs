//! The frames screens get (`GET /ws/screens/{code}`), one type for all of
//! them, and what they carry.
//!
//! Every frame is a JSON object whose `type` names it, and every frame a
//! screen or kiosk socket sends is a [`ScreenFrame`]: nothing on that
//! channel is written by hand. `snapshot` carries its `seq`; the screen
//! actor adds `seq` to every other data frame (a body encoded once is
//! shared by every screen). `pong`, `restarting` and `unauthorized` are
//! control frames outside the sequence, sent by the socket itself.

use std::sync::{Arc, LazyLock};
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

/// What the `restarting` frame says (on the staff channel too).
pub const RESTARTING_MESSAGE: &str = "系统重启中，稍候自动恢复";

/// The `restarting` frame, encoded once for every screen of the server.
static RESTARTING: LazyLock<Arc<str>> = LazyLock::new(|| {
    ScreenFrame::Restarting {
        message: RESTARTING_MESSAGE.into(),
    }
    .encode()
});

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
    /// The server restarts: keep the last state, reconnect soon (the
    /// socket closes next).
    Restarting { message: String },
    /// No valid device token (or it was revoked): the socket closes next.
    Unauthorized,
    /// The answer to the screen's `ping`.
    Pong,
}

impl ScreenFrame {
    /// Whether the frame is the socket's own, outside the sequence (no
    /// `seq`).
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            ScreenFrame::Restarting { .. } | ScreenFrame::Unauthorized | ScreenFrame::Pong
        )
    }

    /// The frame as a JSON value (keys sorted, as `serde_json` keeps them).
    pub fn to_value(&self) -> serde_json::Value {
        // Cannot fail: every key is a string.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The frame encoded once, to share, byte for byte as it has always
    /// been sent: a data frame through a value (keys sorted, what the
    /// `json!` bodies were), a control frame as declared (`type` first).
    pub fn encode(&self) -> Arc<str> {
        let text = if self.is_control() {
            // Cannot fail either: a tag and strings.
            serde_json::to_string(self).unwrap_or_default()
        } else {
            self.to_value().to_string()
        };
        Arc::from(text)
    }

    /// The `restarting` frame as sent (encoded once, shared by every
    /// screen).
    pub fn restarting() -> Arc<str> {
        Arc::clone(&RESTARTING)
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

    /// A frame's `type`, one arm per variant: a new frame does not compile
    /// here until it is named, and [`NAMES`] then wants its fixture.
    fn name(f: &ScreenFrame) -> &'static str {
        match f {
            ScreenFrame::Snapshot { .. } => "snapshot",
            ScreenFrame::Room { .. } => "room",
            ScreenFrame::Rooms { .. } => "rooms",
            ScreenFrame::Call { .. } => "call",
            ScreenFrame::Notice { .. } => "notice",
            ScreenFrame::NoticeWithdrawn { .. } => "notice_withdrawn",
            ScreenFrame::DayClosed { .. } => "day_closed",
            ScreenFrame::Restarting { .. } => "restarting",
            ScreenFrame::Unauthorized => "unauthorized",
            ScreenFrame::Pong => "pong",
        }
    }

    /// In the order one screen receives them: the data frames of the
    /// sequence, a `pong` between them, the server's last word, and the
    /// refusal a screen gets when it comes back with a revoked token.
    const NAMES: [&str; 10] = [
        "snapshot",
        "room",
        "call",
        "rooms",
        "notice",
        "notice_withdrawn",
        "day_closed",
        "pong",
        "restarting",
        "unauthorized",
    ];

    /// What the server puts on the wire for `frame` (`seq` from the screen).
    fn sent(frame: &ScreenFrame, seq: Option<u64>) -> Arc<str> {
        let body = frame.encode();
        match seq {
            // The snapshot carries its own; a control frame has none.
            Some(seq) if !frame.is_control() && !matches!(frame, ScreenFrame::Snapshot { .. }) => {
                with_seq(&body, seq)
            }
            _ => body,
        }
    }

    /// The fixtures in `tests/fixtures/screen-frames/` are the contract the
    /// display client's browser tests read: each is a frame exactly as the
    /// server sends it (no field more or less; a control frame byte for
    /// byte), and every frame has one.
    #[test]
    fn every_frame_has_a_fixture_the_server_sends_exactly() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/screen-frames");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut seen = Vec::new();
        let mut last_seq = None;
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
            let wire: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let frame: ScreenFrame = serde_json::from_value(wire.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let seq = wire.get("seq").and_then(serde_json::Value::as_u64);
            let sent = sent(&frame, seq);
            let read: serde_json::Value =
                serde_json::from_str(&sent).unwrap_or_else(|e| panic!("{e}: {sent}"));
            assert_eq!(
                read,
                wire,
                "{} is not what the server sends",
                path.display()
            );
            if frame.is_control() {
                assert_eq!(
                    &*sent,
                    text.strip_suffix('\n').unwrap_or(&text),
                    "{}: a control frame goes out byte for byte as its fixture",
                    path.display()
                );
            }
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            assert_eq!(
                stem.split_once('-').map(|(_, n)| n),
                Some(name(&frame)),
                "{}",
                path.display()
            );
            // In order, as one screen receives them.
            if let (Some(prev), Some(seq)) = (last_seq, seq) {
                assert_eq!(seq, prev + 1, "{}", path.display());
            }
            last_seq = seq.or(last_seq);
            seen.push(name(&frame));
        }
        assert_eq!(seen, NAMES, "one fixture per frame, in this order");
    }

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
        // The control frames keep their own order (type first), as sent
        // since they were written by hand; `restarting` is encoded once.
        assert_eq!(
            &*ScreenFrame::restarting(),
            r#"{"type":"restarting","message":"系统重启中，稍候自动恢复"}"#
        );
        assert!(Arc::ptr_eq(
            &ScreenFrame::restarting(),
            &ScreenFrame::restarting()
        ));
        assert_eq!(
            &*ScreenFrame::Unauthorized.encode(),
            r#"{"type":"unauthorized"}"#
        );
        assert_eq!(&*ScreenFrame::Pong.encode(), r#"{"type":"pong"}"#);
        assert_eq!(&*with_seq(r#"{"a":1}"#, 5), r#"{"seq":5,"a":1}"#);
    }
}
