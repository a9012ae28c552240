//! A screen device (综合屏 / 诊室门口屏): the [`ScreenActor`] keeps its
//! sequence number and its connected sessions, and turns room changes and
//! announcements into frames.
//!
//! Messages in: [`Connect`] / [`Disconnect`] / [`Resync`] / [`Heartbeat`] from
//! sessions, [`Announce`] and [`Broadcast`] (room, rooms and notice frames
//! encoded once) from the [`Directory`], [`InspectScreen`]. Out:
//! [`Frame`]s to each session's `Recipient`. The first frame a session gets is
//! a full snapshot carrying the current sequence number; every later frame
//! carries the next one. Frames are best effort: a screen that misses one sees
//! the gap and asks for a fresh snapshot.
//!
//! The WebSocket transport lives in the server crate; this actor knows only
//! recipients of text frames.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::directory::{Directory, RoomVariant, ScreenPresence};
use triage_ground::time::SharedClock;

/// A text frame for one screen session (encoded once, shared).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum Frame {
    Text(Arc<str>),
    /// The last frame: send it, then close the socket (the server is
    /// restarting; the screen shows so and reconnects by itself).
    Last(Arc<str>),
}

/// The server is restarting: every session gets the `restarting` control
/// frame (outside the sequence) and is closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restarting;

/// The screen is moved to other rooms or another role (搬迁, 备用屏): it
/// takes effect at once, and every open session gets a new snapshot (the
/// next `seq`) without anyone touching the screen.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reassign(pub ScreenConfig);

/// The `restarting` control frame.
pub const RESTARTING_FRAME: &str = r#"{"type":"restarting","message":"系统重启中，稍候自动恢复"}"#;

/// What a screen is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenKind {
    /// Department overview (综合屏): every room of an area.
    Overview,
    /// Room door screen (诊室门口屏).
    Door,
}

/// A screen's configuration, from the hospital configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenConfig {
    pub code: String,
    pub name: String,
    pub kind: ScreenKind,
    /// Heading shown on the screen (e.g. the department's name).
    pub title: String,
    pub rooms: Vec<String>,
    /// Whether this screen speaks announcements.
    pub voice: bool,
    /// How many waiting patients to show per room.
    pub next_count: usize,
    /// A door screen that lists its room's appointments of today (预约).
    #[serde(default)]
    pub appointments: bool,
}

/// A call to be spoken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub room_code: String,
    pub room_name: String,
    pub ticket_no: String,
    pub masked_name: String,
    /// The sentence to speak; already reduced per the privacy setting.
    pub text: String,
    pub repeat: u8,
    pub call_count: i32,
}

/// A session connects; it is sent a snapshot at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub session_id: u64,
    pub recipient: Recipient<Frame>,
}

/// A session is gone (its one cleanup path).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub session_id: u64,
}

/// A session saw a gap and asks for a fresh snapshot.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync {
    pub session_id: u64,
}

/// A session answered a heartbeat.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Heartbeat;

/// What the screen would show a session connecting now: its snapshot
/// (to compare with a rebuild).
#[derive(Message)]
#[rtype(result = "serde_json::Value")]
pub struct InspectScreen;

/// Speak a call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Announce(pub Announcement);

/// A frame body encoded once for many screens (a JSON object without `seq`;
/// each screen prefixes its own).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast(pub Arc<str>);

/// The actor for one screen device.
pub struct ScreenActor {
    config: ScreenConfig,
    seq: u64,
    sessions: HashMap<u64, Recipient<Frame>>,
    directory: Arc<Directory>,
    clock: SharedClock,
    last_seen: Option<chrono::DateTime<chrono::Utc>>,
}

impl ScreenActor {
    pub fn new(config: ScreenConfig, directory: Arc<Directory>, clock: SharedClock) -> Self {
        ScreenActor {
            config,
            seq: 0,
            sessions: HashMap::new(),
            directory,
            clock,
            last_seen: None,
        }
    }

    /// How this screen shows its rooms.
    pub fn variant(&self) -> RoomVariant {
        RoomVariant {
            next_count: self.config.next_count,
            with_introduction: self.config.kind == ScreenKind::Door,
            appointments: self.config.kind == ScreenKind::Door && self.config.appointments,
        }
    }

    /// The full snapshot at the current sequence number.
    pub fn snapshot(&self) -> Frame {
        Frame::Text(self.snapshot_text())
    }

    fn snapshot_text(&self) -> Arc<str> {
        let variant = self.variant();
        let rooms: Vec<_> = self
            .config
            .rooms
            .iter()
            .filter_map(|r| self.directory.room_view_as(r, variant))
            .collect();
        let body = json!({
            "type": "snapshot",
            "seq": self.seq,
            "server_time": self.clock.now(),
            "screen": self.config,
            "rooms": rooms,
            "notices": self.directory.notices_for(&self.config.code, self.clock.now()),
        });
        Arc::from(body.to_string())
    }

    fn broadcast(&mut self, mut body: serde_json::Value) {
        if self.sessions.is_empty() {
            // Nobody to tell: the sequence still moves, so a screen that
            // connects later starts from a snapshot anyway.
            self.seq += 1;
            return;
        }
        self.seq += 1;
        body["seq"] = json!(self.seq);
        let frame = Frame::Text(Arc::from(body.to_string()));
        for r in self.sessions.values() {
            r.do_send(frame.clone());
        }
        self.report_presence();
    }

    fn report_presence(&self) {
        self.directory.set_presence(
            &self.config.code,
            ScreenPresence {
                sessions: self.sessions.len(),
                last_seen: self.last_seen,
                seq: self.seq,
            },
        );
    }
}

impl Actor for ScreenActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        self.report_presence();
    }
}

impl Handler<Connect> for ScreenActor {
    type Result = ();

    fn handle(&mut self, msg: Connect, _ctx: &mut Self::Context) {
        msg.recipient.do_send(self.snapshot());
        self.sessions.insert(msg.session_id, msg.recipient);
        self.last_seen = Some(self.clock.now());
        self.report_presence();
    }
}

impl Handler<Disconnect> for ScreenActor {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _ctx: &mut Self::Context) {
        self.sessions.remove(&msg.session_id);
        self.report_presence();
    }
}

impl Handler<Reassign> for ScreenActor {
    type Result = ();

    fn handle(&mut self, msg: Reassign, ctx: &mut Self::Context) {
        let me = ctx.address();
        self.directory.unwatch_screen(&me);
        self.config = msg.0;
        let variant = self.variant();
        for room in &self.config.rooms {
            self.directory.watch_room(room, me.clone(), variant);
        }
        self.directory
            .screen_configs
            .insert(self.config.code.clone(), self.config.clone());
        self.seq += 1;
        let snapshot = self.snapshot();
        for r in self.sessions.values() {
            r.do_send(snapshot.clone());
        }
        self.report_presence();
    }
}

impl Handler<Resync> for ScreenActor {
    type Result = ();

    fn handle(&mut self, msg: Resync, _ctx: &mut Self::Context) {
        if let Some(r) = self.sessions.get(&msg.session_id) {
            r.do_send(self.snapshot());
        }
    }
}

impl Handler<Heartbeat> for ScreenActor {
    type Result = ();

    fn handle(&mut self, _msg: Heartbeat, _ctx: &mut Self::Context) {
        self.last_seen = Some(self.clock.now());
        self.report_presence();
    }
}

impl Handler<Restarting> for ScreenActor {
    type Result = ();

    fn handle(&mut self, _msg: Restarting, _ctx: &mut Self::Context) {
        let last = Frame::Last(Arc::from(RESTARTING_FRAME));
        for (_, r) in self.sessions.drain() {
            r.do_send(last.clone());
        }
        self.report_presence();
    }
}

impl Handler<InspectScreen> for ScreenActor {
    type Result = MessageResult<InspectScreen>;

    fn handle(&mut self, _msg: InspectScreen, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(serde_json::from_str(&self.snapshot_text()).unwrap_or_default())
    }
}

impl Handler<Broadcast> for ScreenActor {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _ctx: &mut Self::Context) {
        self.seq += 1;
        if self.sessions.is_empty() {
            return;
        }
        let body = msg.0.strip_prefix('{').unwrap_or(&msg.0);
        let frame = Frame::Text(Arc::from(format!("{{\"seq\":{},{}", self.seq, body)));
        for r in self.sessions.values() {
            r.do_send(frame.clone());
        }
    }
}

impl Handler<Announce> for ScreenActor {
    type Result = ();

    fn handle(&mut self, msg: Announce, _ctx: &mut Self::Context) {
        let mut call = msg.0;
        if !self.config.voice {
            call.repeat = 0;
        }
        self.broadcast(json!({ "type": "call", "call": call }));
    }
}
