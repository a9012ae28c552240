//! Presence of screen devices: sessions, last heartbeat, sequence.

use triage_ground::ids::ScreenCode;

use super::*;

impl Board {
    /// Updates a screen's presence (sessions, heartbeat, sequence).
    pub fn set_presence(&self, screen: &ScreenCode, presence: ScreenPresence) {
        self.presence.insert(screen.clone(), presence);
    }

    /// A screen's presence; `sessions == 0` means offline.
    pub fn presence(&self, screen: &str) -> ScreenPresence {
        self.presence
            .get(screen)
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}
