//! Broken data, named. A stored text that names no visit status, entry
//! kind, placement, sex, day-end status, room status or seat fails the whole read of its
//! row (`DbError::Corrupt`); before that error leaves the database layer,
//! the rows behind it are looked up so the log says which visit or room
//! to mend (its number, never the patient).

use diesel::prelude::*;
use triage_actors::model::{
    DayEndStatus, EntryKind, PlacementCode, RoomStatus, SeatState, Sex, VisitStatus,
};

use super::conn::{AnyConnection, DbError};
use super::schema::{rooms, visits};

/// The error of a read, with the rows behind broken data named: a stored
/// text that names no visit status, entry kind, placement, sex, room
/// status or seat fails the whole read, and the log must say which visit
/// or room to mend (its number, never the patient). Any other error passes
/// through.
pub fn name_broken(c: &mut AnyConnection, e: DbError) -> DbError {
    let DbError::Corrupt(cause) = e else {
        return e;
    };
    let statuses: Vec<&str> = VisitStatus::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
    let placements: Vec<&str> = PlacementCode::ALL.iter().map(|p| p.as_str()).collect();
    let sexes: Vec<&str> = Sex::ALL.iter().map(|s| s.as_str()).collect();
    let closed: Vec<&str> = DayEndStatus::ALL.iter().map(|s| s.as_str()).collect();
    let visits: Vec<String> = visits::table
        .filter(
            visits::status
                .ne_all(statuses)
                .or(visits::sex.ne_all(sexes))
                .or(visits::entry_kind.ne_all(kinds).assume_not_null())
                .or(visits::placement.ne_all(placements).assume_not_null())
                .or(visits::closed_as.ne_all(closed).assume_not_null()),
        )
        .select(visits::visit_no)
        .limit(5)
        .load(c)
        .unwrap_or_default();
    let statuses: Vec<&str> = RoomStatus::ALL.iter().map(|s| s.as_str()).collect();
    let seats: Vec<&str> = SeatState::ALL.iter().map(|s| s.as_str()).collect();
    let rooms: Vec<String> = rooms::table
        .filter(rooms::status.ne_all(statuses).or(rooms::seat.ne_all(seats)))
        .select(rooms::code)
        .limit(5)
        .load(c)
        .unwrap_or_default();
    if visits.is_empty() && rooms.is_empty() {
        return DbError::Corrupt(cause);
    }
    DbError::Corrupt(format!(
        "{cause} (visits: {}; rooms: {})",
        visits.join(", "),
        rooms.join(", ")
    ))
}
