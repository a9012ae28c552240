//! What the board delivers without waiting (events go up or sideways,
//! never awaited): frames and calls to screens, `Refill` to two-stage
//! rooms, `Left` to the queue a transferred visit left.

use std::sync::Arc;
use triage_ground::ids::VisitNo;

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
/// `ScreenActor::link`); equal for the same screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenLink {
    pub broadcast: Recipient<Broadcast>,
    pub announce: Recipient<Announce>,
    pub restarting: Recipient<Restarting>,
}
