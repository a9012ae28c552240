//! A screen device (综合屏 / 诊室门口屏): the [`ScreenActor`] keeps its
//! sequence number and its connected sessions, and turns room changes and
//! announcements into frames.
//!
//! Messages in: [`Connect`] / [`Disconnect`] / [`Resync`] / [`Heartbeat`] from
//! sessions, [`Announce`] and [`Broadcast`] (room, rooms and notice frames
//! encoded once) from the [`Board`], [`InspectScreen`]. Out:
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

use crate::board::events::ScreenLink;
use crate::board::frame::{with_seq, ScreenFrame};
use crate::board::view::{RoomVariant, ScreenPresence};
use crate::board::Board;
use triage_ground::ids::ScreenCode;

// What sessions and the server know of a screen, at its old paths (defined
// on the board, which delivers them).
pub use crate::board::events::{Announce, Broadcast, Restarting};
pub use crate::board::frame::Announcement;
pub use crate::board::view::{ScreenConfig, ScreenKind};
use triage_ground::time::SharedClock;

/// A text frame for one screen session (encoded once, shared).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum Frame {
    Text(Arc<str>),
    /// The last frame: send it, then close the socket (the server is
    /// restarting; the screen shows so and reconnects by itself).
    Last(Arc<str>),
    /// The screen's refusal (it was taken out of service): send it, then
    /// close the socket for good (the page wipes every patient).
    Refused(Arc<str>),
}

/// The screen is taken out of service (停用): nothing on the board routes
/// to it any more (its rooms, its link, its configuration, its presence),
/// every open session is told it is refused and closed, and the actor
/// stops, so that nothing queued after it brings the screen back.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// The screen is moved to other rooms or another role (搬迁, 备用屏): it
/// takes effect at once, and every open session gets a new snapshot (the
/// next `seq`) without anyone touching the screen.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reassign(pub ScreenConfig);

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

/// The actor for one screen device.
pub struct ScreenActor {
    config: ScreenConfig,
    seq: u64,
    sessions: HashMap<u64, Recipient<Frame>>,
    board: Arc<Board>,
    clock: SharedClock,
    last_seen: Option<chrono::DateTime<chrono::Utc>>,
}

impl ScreenActor {
    pub fn new(config: ScreenConfig, board: Arc<Board>, clock: SharedClock) -> Self {
        ScreenActor {
            config,
            seq: 0,
            sessions: HashMap::new(),
            board,
            clock,
            last_seen: None,
        }
    }

    /// How the board reaches the screen `code` at `addr`.
    pub fn link(code: &ScreenCode, addr: &Addr<ScreenActor>) -> ScreenLink {
        ScreenLink::new(
            code.clone(),
            addr.clone().recipient(),
            addr.clone().recipient(),
            addr.clone().recipient(),
        )
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
            .filter_map(|r| self.board.room_view_as(r, variant))
            .collect();
        ScreenFrame::Snapshot {
            seq: self.seq,
            server_time: self.clock.now(),
            screen: self.config.clone(),
            rooms,
            notices: self.board.notices_for(&self.config.code, self.clock.now()),
        }
        .encode()
    }

    fn broadcast(&mut self, frame: ScreenFrame) {
        if self.sessions.is_empty() {
            // Nobody to tell: the sequence still moves, so a screen that
            // connects later starts from a snapshot anyway.
            self.seq += 1;
            return;
        }
        self.seq += 1;
        let mut body = frame.to_value();
        body["seq"] = serde_json::Value::from(self.seq);
        let frame = Frame::Text(Arc::from(body.to_string()));
        for r in self.sessions.values() {
            r.do_send(frame.clone());
        }
        self.report_presence();
    }

    fn report_presence(&self) {
        self.board.set_presence(
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
        let me = ScreenActor::link(&self.config.code, &ctx.address());
        self.board.unwatch_screen(&me);
        self.config = msg.0;
        let variant = self.variant();
        for room in &self.config.rooms {
            self.board.watch_room(room, me.clone(), variant);
        }
        self.board
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
        let last = Frame::Last(ScreenFrame::restarting());
        for (_, r) in self.sessions.drain() {
            r.do_send(last.clone());
        }
        self.report_presence();
    }
}

impl Handler<Retire> for ScreenActor {
    type Result = ();

    fn handle(&mut self, _msg: Retire, ctx: &mut Self::Context) {
        let me = ScreenActor::link(&self.config.code, &ctx.address());
        self.board.unwatch_screen(&me);
        self.board.unlink_screen(&self.config.code);
        let refused = Frame::Refused(ScreenFrame::Unauthorized.encode());
        for (_, r) in self.sessions.drain() {
            r.do_send(refused.clone());
        }
        ctx.stop();
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
        let frame = Frame::Text(with_seq(&msg.0, self.seq));
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
        self.broadcast(ScreenFrame::Call { call });
    }
}
