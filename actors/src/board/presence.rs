//! Presence of screen devices: sessions, last heartbeat, sequence.

use super::*;

impl Board {
    /// Updates a screen's presence (sessions, heartbeat, sequence).
    pub fn set_presence(&self, screen: &str, presence: ScreenPresence) {
        self.presence.insert(screen.to_string(), presence);
    }

    /// A screen's presence; `sessions == 0` means offline.
    pub fn presence(&self, screen: &str) -> ScreenPresence {
        self.presence
            .get(screen)
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}
