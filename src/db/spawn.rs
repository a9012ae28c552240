//! How the database starts its threads (the writer, the WAL checkpointer):
//! through a [`Spawner`] the server hands it, so they start and stop with
//! the rest of the background work, which the database does not know.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A stop signal for threads: they look at it between rounds of work.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Tells every thread holding this flag to stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Starts a named thread that returns when its flag is set.
pub trait Spawner {
    fn thread(&self, name: &'static str, work: Box<dyn FnOnce(StopFlag) + Send + 'static>);
}

/// A shared spawner spawns as the one it shares.
impl<T: Spawner + ?Sized> Spawner for Arc<T> {
    fn thread(&self, name: &'static str, work: Box<dyn FnOnce(StopFlag) + Send + 'static>) {
        (**self).thread(name, work);
    }
}
