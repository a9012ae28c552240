//! The N-ahead watch: after a queue changed, the patients now within N of
//! a room (N per queue, `notify_ahead`) get their `patient.ahead` webhook,
//! once per visit, day and queue. It reads the queue as the staff see it
//! (held and not yet callable patients do not count, a short list counts
//! only for its room) and writes the new events in one commit, each only
//! if the patient still waits there (a call may have come meanwhile); a
//! write that fails is tried at the next look. After a restart it reads
//! what was written today, so nobody is told twice; a patient of an
//! earlier day still waiting after midnight is not told again.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use triage_actors::staff::StaffQueue;
use triage_ground::time::service_date;

use crate::db::webhooks::{self, Ahead};
use crate::engine::Engine;
use crate::patient::ahead_at;

/// What the watch has seen.
#[derive(Default)]
pub struct AheadWatch {
    /// The day `known` is of.
    day: Option<NaiveDate>,
    /// The events written today.
    known: HashSet<String>,
    /// Each queue's change count at its last look.
    seen: HashMap<String, u64>,
}

/// One patient to tell.
struct Near {
    key: String,
    visit_no: String,
    ticket_no: String,
    queue: String,
    ahead: usize,
}

impl AheadWatch {
    /// Looks at the queues that changed; answers how many were told.
    pub async fn look(&mut self, engine: &Engine) -> usize {
        let now = engine.now();
        let day = service_date(now);
        if self.day != Some(day) {
            match engine
                .db()
                .read(move |c| webhooks::known_ahead(c, day))
                .await
            {
                Ok(known) => {
                    self.known = known.into_iter().collect();
                    self.seen.clear();
                    self.day = Some(day);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read today's N-ahead webhooks");
                    return 0;
                }
            }
        }
        let mut near = Vec::new();
        let mut looked = Vec::new();
        for q in &engine.hospital().queues {
            let n = engine.hospital().notify_ahead(&q.code) as usize;
            let changes = engine.directory().changes_of(&q.code);
            if n == 0 || self.seen.get(q.code.as_str()) == Some(&changes) {
                continue;
            }
            let Some(addr) = engine.directory().queues.get(&q.code).map(|a| a.clone()) else {
                continue;
            };
            let Ok(view) = addr.send(StaffQueue).await else {
                continue;
            };
            looked.push((q.code.to_string(), changes));
            for (at, e) in view.entries.iter().enumerate() {
                // A patient of another day (waiting past midnight until the
                // day end) is not told again: their link is of their day.
                if !e.callable || e.held || service_date(e.checked_in_at) != day {
                    continue;
                }
                let key = format!("ahead:{day}:{}:{}", e.visit_no, q.code);
                if self.known.contains(&key) {
                    continue;
                }
                let ahead = ahead_at(&view, at);
                if ahead <= n {
                    near.push(Near {
                        key,
                        visit_no: e.visit_no.to_string(),
                        ticket_no: e.ticket_no.to_string(),
                        queue: q.code.to_string(),
                        ahead,
                    });
                }
            }
        }
        let keys: Vec<String> = near.iter().map(|n| n.key.clone()).collect();
        let told = near.len();
        if !near.is_empty() {
            let written = engine
                .db()
                .write(move |c| {
                    for n in &near {
                        let a = Ahead {
                            day,
                            visit_no: &n.visit_no,
                            ticket_no: &n.ticket_no,
                            queue_code: &n.queue,
                            ahead: n.ahead,
                        };
                        webhooks::record_ahead(c, now, &a)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "cannot write the N-ahead webhooks; trying again");
                return 0;
            }
        }
        self.known.extend(keys);
        self.seen.extend(looked);
        told
    }
}
