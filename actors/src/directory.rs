//! The directory of running actors: every queue, room and screen by the
//! hospital's code, over the [`Board`] they all publish to. The server
//! reaches an actor through it; actors never do — they hold the board, and
//! the addresses they send requests to (a room its queues).

use std::ops::Deref;
use std::sync::Arc;

use actix::Addr;
use dashmap::DashMap;
use triage_ground::ids::{QueueCode, RoomCode, ScreenCode};

use crate::board::view::RoomVariant;
use crate::board::Board;
use crate::queue::actor::QueueActor;
use crate::room::actor::RoomActor;
use crate::screen::ScreenActor;

/// Addresses of the running actors, and the board. Shared as `Arc`; reads
/// as the [`Board`] (`Deref`) for everything the board answers.
#[derive(Default)]
pub struct Directory {
    board: Arc<Board>,
    pub queues: DashMap<QueueCode, Addr<QueueActor>>,
    pub rooms: DashMap<RoomCode, Addr<RoomActor>>,
    pub screens: DashMap<ScreenCode, Addr<ScreenActor>>,
}

impl Directory {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The board the actors publish to (what their constructors take).
    pub fn board(&self) -> Arc<Board> {
        self.board.clone()
    }

    /// A queue runs: its address, and where `Left` reaches it.
    pub fn add_queue(&self, code: &QueueCode, addr: Addr<QueueActor>) {
        self.board.link_queue(code, addr.clone().recipient());
        self.queues.insert(code.clone(), addr);
    }

    /// A room runs.
    pub fn add_room(&self, code: &RoomCode, addr: Addr<RoomActor>) {
        self.rooms.insert(code.clone(), addr);
    }

    /// A screen runs and shows `rooms` in `variant`.
    pub fn add_screen(
        &self,
        code: &ScreenCode,
        addr: Addr<ScreenActor>,
        rooms: &[RoomCode],
        variant: RoomVariant,
    ) {
        let link = ScreenActor::link(code, &addr);
        for room in rooms {
            self.board.watch_room(room, link.clone(), variant);
        }
        self.board.link_screen(code, link);
        self.screens.insert(code.clone(), addr);
    }

    /// A screen is taken out of service: its actor, which the caller sends
    /// [`crate::screen::Retire`] (it unlinks itself from the board, refuses
    /// and closes its sessions, and stops). None if no screen of that code
    /// runs.
    pub fn remove_screen(&self, code: &ScreenCode) -> Option<Addr<ScreenActor>> {
        self.screens.remove(code).map(|(_, addr)| addr)
    }
}

impl Deref for Directory {
    type Target = Board;

    fn deref(&self) -> &Board {
        &self.board
    }
}
