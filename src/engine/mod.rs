//! The engine: the one way in. Every command of HIS, staff and the demo
//! goes through a method of [`Engine`] and answers a domain
//! [`Error`](triage_ground::error::Error); a command that touches several actors
//! (transfer, close with redistribution, rule change, correction) is still
//! one method here, and the actors tell each other what follows through the
//! directory — nothing in `src/` relays between them.
//!
//! - [`start`]: rebuilds every actor from the configuration and the
//!   database (the recovery path after a crash).
//! - [`registrations`]: registration (validated at the edge), HIS
//!   corrections, check-in, recall, cancel, a visit's view.
//! - [`calling`]: room commands, call by name, close with redistribution.
//! - [`queues`]: a queue's list, nurses' interventions, transfer, rules.
//! - [`doctors`]: doctor master data; [`notices`]: notices to screens.
//! - [`names`]: full names of the visits in queues, for staff pages.
//! - [`screens`]: screens registered or reassigned at run time.
//! - [`day`]: the hospital day and the day end (日终).
//! - [`seats`]: who sits in a room (医生签到 / 暂离 / 签退), stop-clinic.
//! - [`schedules`]: the schedule (出诊排班) and the session switch.
//! - [`waits`] and [`forecasts`]: each queue's wait forecast (P50–P90
//!   ranges, issue 28): what is kept, and how it is made.

pub mod appointments;
pub mod backtest;
pub mod calling;
pub mod closed;
pub mod day;
pub mod doctors;
pub mod facade;
pub mod forecasts;
pub mod names;
pub mod notices;
pub mod queues;
pub mod registrations;
pub mod results;
pub mod schedules;
pub mod screens;
pub mod seats;
pub mod start;
pub mod stats;
pub mod waits;

pub use calling::{CalledPatient, RoomAnswer, RoomCommand};
pub use facade::{doctor_view, visit_slot, Acting, Engine};
pub use queues::{InterventionAnswer, QueueAnswer, SpecialAnswer, TransferCommand, TransferTarget};
pub use registrations::{
    AwayVisit, CancelAnswer, CheckInAnswer, ExamEntry, Patient, Registration, RegistrationAnswer,
    VisitAnswer,
};
