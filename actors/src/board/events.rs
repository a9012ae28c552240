//! What the board delivers without waiting (events go up or sideways,
//! never awaited): frames and calls to screens, `Refill` to two-stage
//! rooms, `Left` to the queue a transferred visit left.

use std::sync::Arc;
use triage_ground::ids::{ScreenCode, VisitNo};

use actix::prelude::*;

use crate::model::Audit;

use super::frame::Announcement;

/// The server is restarting: every session gets the `restarting` control
/// frame (outside the sequence) and is closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restarting;

/// Speak a call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Announce(pub Announcement);

/// A frame body encoded once for many screens (a JSON object without `seq`;
/// each screen prefixes its own).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast(pub Arc<str>);

/// Fill the room's short list (two-stage waiting) up to its cap from the
/// general list; nothing for a room without one or not open.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refill;

/// A visit moved away (转诊; the move is committed by the receiving
/// queue): forget it and commit the lock set that follows.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Left {
    pub visit_no: VisitNo,
    pub audit: Audit,
}

/// How the board reaches one screen (made from its address by
/// `ScreenActor::link`). Cloned for every room a broadcast reaches, so a
/// clone is one reference count (three boxed recipients each time cost
/// the calling path: `docs/performance.md`). Equal for the same screen
/// actor: the same link, or else the same code and the same recipient (a
/// link of another screen differs at the code, without comparing
/// recipients).
#[derive(Clone, Debug)]
pub struct ScreenLink(Arc<Links>);

#[derive(Debug)]
struct Links {
    code: ScreenCode,
    broadcast: Recipient<Broadcast>,
    announce: Recipient<Announce>,
    restarting: Recipient<Restarting>,
}

impl ScreenLink {
    /// The link of the screen `code` through its three recipients.
    pub fn new(
        code: ScreenCode,
        broadcast: Recipient<Broadcast>,
        announce: Recipient<Announce>,
        restarting: Recipient<Restarting>,
    ) -> Self {
        ScreenLink(Arc::new(Links {
            code,
            broadcast,
            announce,
            restarting,
        }))
    }

    /// The screen's code.
    pub fn code(&self) -> &ScreenCode {
        &self.0.code
    }

    /// Sends a frame (without waiting).
    pub fn broadcast(&self, frame: Broadcast) {
        self.0.broadcast.do_send(frame);
    }

    /// Sends a call to speak (without waiting).
    pub fn announce(&self, call: Announce) {
        self.0.announce.do_send(call);
    }

    /// Tells the screen the server restarts.
    pub fn restarting(&self) {
        self.0.restarting.do_send(Restarting);
    }
}

impl PartialEq for ScreenLink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.code == other.0.code && self.0.broadcast == other.0.broadcast)
    }
}

impl Eq for ScreenLink {}
