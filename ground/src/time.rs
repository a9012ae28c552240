//! Time, on the ground floor: the [`Clock`] every part asks (the system's,
//! or an [`AnchoredClock`] set to a named instant), the hospital's offset
//! (Asia/Shanghai, a fixed +08:00), the service day of an instant, stored
//! naive UTC back to an instant, strict dates and RFC 3339 times, daily
//! windows. Nothing here reads the host's wall clock but [`SystemClock`],
//! and a program may start on a named instant instead (`TRIAGE_CLOCK`, for
//! tests and drills).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, Utc};

/// The time source; injected so rules are tested without sleeps and
/// programs run on a named instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Now, to the microsecond: both databases store microseconds, so what
    /// memory holds equals what a restart reads back.
    fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock set to a named instant that then runs with real (monotonic)
/// time, and can be set again or moved forward: tests name the instant they
/// run at (a Wednesday 09:30 China time) and move it across a session end,
/// the day end or midnight; `TRIAGE_CLOCK` starts the program on one for
/// drills. Never reads the host's wall clock.
#[derive(Debug)]
pub struct AnchoredClock {
    inner: std::sync::Mutex<Anchor>,
}

#[derive(Clone, Copy, Debug)]
struct Anchor {
    /// The instant the clock showed at `since`.
    at: DateTime<Utc>,
    since: std::time::Instant,
    /// Stands still (only `set` and `advance` move it).
    frozen: bool,
}

impl AnchoredClock {
    /// A clock showing `at` now, running from here on.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self::with(at, false)
    }

    /// A clock showing `at` that moves only when told.
    pub fn frozen_at(at: DateTime<Utc>) -> Self {
        Self::with(at, true)
    }

    fn with(at: DateTime<Utc>, frozen: bool) -> Self {
        AnchoredClock {
            inner: std::sync::Mutex::new(Anchor {
                at,
                since: std::time::Instant::now(),
                frozen,
            }),
        }
    }

    fn anchor(&self) -> std::sync::MutexGuard<'_, Anchor> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shows `at` from now on (and runs on from it, unless frozen).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut a = self.anchor();
        a.at = at;
        a.since = std::time::Instant::now();
    }

    /// Moves the clock forward (or back, for a negative span).
    pub fn advance(&self, by: chrono::Duration) {
        let now = self.now();
        self.set(now + by);
    }
}

impl Clock for AnchoredClock {
    fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        let a = *self.anchor();
        let ran = if a.frozen {
            chrono::Duration::zero()
        } else {
            chrono::Duration::from_std(a.since.elapsed())
                .unwrap_or_else(|_| chrono::Duration::zero())
        };
        (a.at + ran).trunc_subsecs(6)
    }
}

/// A clock shared by the actors, the background work and the handlers.
pub type SharedClock = Arc<dyn Clock>;

/// The hospital runs on Asia/Shanghai, a fixed +08:00.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix())
}

/// The service day (Asia/Shanghai) of an instant.
pub fn service_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// UTC instant from a stored naive UTC timestamp.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// A calendar date written exactly `YYYY-MM-DD` (four-digit year, two-digit
/// month and day), as the API document's pattern says: chrono alone also
/// takes `1980-1-1`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// An RFC 3339 date-time exactly as the API document's `date-time` says:
/// `T` (or `t`) between the date and the time, an offset, no leap second.
/// chrono alone also takes a space there, and a second 60 in any minute.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<FixedOffset>> {
    use chrono::Timelike;
    matches!(text.as_bytes().get(10), Some(b'T' | b't'))
        .then(|| DateTime::parse_from_rfc3339(text).ok())
        .flatten()
        .filter(|t| t.nanosecond() < 1_000_000_000)
}

/// Serde for request date-times read by [`parse_rfc3339`]:
/// `#[serde(with = "crate::time::rfc3339")]`.
pub mod rfc3339 {
    use chrono::{DateTime, FixedOffset, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    const WANTED: &str = "an RFC 3339 date-time such as 2026-12-09T09:30:00+08:00";

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom(WANTED))
    }

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    /// The same, as UTC.
    pub mod utc {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
            super::deserialize(d).map(|t| t.with_timezone(&Utc))
        }

        pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&t.to_rfc3339())
        }
    }

    /// The same, optional (absent or null: none).
    pub mod option {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(text) => super::super::parse_rfc3339(&text)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom(super::WANTED)),
            }
        }

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<FixedOffset>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&t.to_rfc3339()),
                None => s.serialize_none(),
            }
        }
    }
}

/// How far ahead a service day may be (a registration, an appointment, a
/// schedule): further is a mistake of the sender (9999-12-31), refused.
pub const DAYS_AHEAD: i64 = 90;

/// Whether `day` is at most [`DAYS_AHEAD`] days after the service day of
/// `now`.
pub fn within_days_ahead(day: NaiveDate, now: DateTime<Utc>) -> bool {
    day <= service_date(now) + chrono::Duration::days(DAYS_AHEAD)
}

/// The environment variable naming the instant a program starts at.
pub const CLOCK_VARIABLE: &str = "TRIAGE_CLOCK";

/// The clock of this program: the system clock, or, when `TRIAGE_CLOCK`
/// names an instant (RFC 3339, e.g. `2026-12-09T09:30:00+08:00`), a clock
/// that starts there and runs on (the tests name the instant each command
/// runs at; a drill may rehearse a night in the daytime). Read once per
/// process; `main` refuses to start when the variable is malformed.
pub fn program_clock() -> Result<SharedClock, String> {
    static PROGRAM: std::sync::OnceLock<Result<SharedClock, String>> = std::sync::OnceLock::new();
    PROGRAM
        .get_or_init(|| clock_from(std::env::var(CLOCK_VARIABLE).ok().as_deref()))
        .clone()
}

/// Now on the program's clock (see [`program_clock`]).
pub fn program_now() -> DateTime<Utc> {
    match program_clock() {
        Ok(c) => c.now(),
        Err(_) => SystemClock.now(),
    }
}

fn clock_from(named: Option<&str>) -> Result<SharedClock, String> {
    match named {
        None => Ok(Arc::new(SystemClock)),
        Some(text) => {
            let at = DateTime::parse_from_rfc3339(text.trim()).map_err(|_| {
                format!("{CLOCK_VARIABLE} 应为 RFC 3339 时间（如 2026-12-09T09:30:00+08:00）")
            })?;
            Ok(Arc::new(AnchoredClock::starting_at(at.with_timezone(&Utc))))
        }
    }
}

/// Whether `now` (China time) falls in the daily window `hours`
/// ("07:30-18:00": from the first time, before the second; a window whose
/// end comes before its start runs over midnight, "22:00-07:00").
pub fn in_daily_window(hours: &str, now: chrono::NaiveTime) -> Result<bool, String> {
    let bad = || format!("时段应写作 HH:MM-HH:MM（如 07:30-18:00），而不是 {hours:?}");
    let (a, b) = hours.split_once('-').ok_or_else(bad)?;
    let t = |x: &str| chrono::NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
    let (start, end) = (t(a)?, t(b)?);
    Ok(if start <= end {
        start <= now && now < end
    } else {
        now >= start || now < end
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_day_turns_at_midnight_in_china() {
        let before = DateTime::parse_from_rfc3339("2026-12-06T15:59:59Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let after = before + chrono::Duration::seconds(1);
        assert_eq!(service_date(before).to_string(), "2026-12-06");
        assert_eq!(service_date(after).to_string(), "2026-12-07");
    }

    #[test]
    fn an_anchored_clock_shows_its_instant_and_moves_when_told() {
        let at = DateTime::parse_from_rfc3339("2026-12-09T09:30:00+08:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let c = AnchoredClock::frozen_at(at);
        assert_eq!(c.now(), at);
        c.advance(chrono::Duration::hours(15));
        assert_eq!(service_date(c.now()).to_string(), "2026-12-10");
        let running = AnchoredClock::starting_at(at);
        assert!(running.now() >= at && running.now() < at + chrono::Duration::seconds(5));
    }

    #[test]
    fn a_date_is_written_with_two_digit_months_and_days() {
        assert_eq!(
            parse_date("1980-01-01").map(|d| d.to_string()),
            Some("1980-01-01".into())
        );
        for bad in [
            "1980-1-1",
            "1980-01-1",
            "80-01-01",
            "1980/01/01",
            "1980-13-01",
            "1980-02-30",
            " 1980-01-01",
            "１９８０-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_date_time_is_rfc_3339_with_t_and_no_leap_second() {
        assert!(parse_rfc3339("2026-12-09T09:30:00+08:00").is_some());
        assert!(parse_rfc3339("2026-12-09t01:30:00.5z").is_some());
        for bad in [
            "2026-12-09 09:30:00+08:00",
            "2026-12-09T09:30:60Z",
            "2026-12-09T09:30:00",
            "2026-12-09",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_daily_window_holds_from_its_start_until_before_its_end() {
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap_or_default();
        let day = "07:30-18:00";
        assert_eq!(in_daily_window(day, t("07:29:59")), Ok(false));
        assert_eq!(in_daily_window(day, t("07:30:00")), Ok(true));
        assert_eq!(in_daily_window(day, t("12:00:00")), Ok(true));
        assert_eq!(in_daily_window(day, t("17:59:59")), Ok(true));
        assert_eq!(in_daily_window(day, t("18:00:00")), Ok(false));
        assert_eq!(in_daily_window(day, t("23:59:30")), Ok(false));
        // Over midnight.
        let night = "22:00-07:00";
        assert_eq!(in_daily_window(night, t("23:00:00")), Ok(true));
        assert_eq!(in_daily_window(night, t("03:00:00")), Ok(true));
        assert_eq!(in_daily_window(night, t("07:00:00")), Ok(false));
        assert_eq!(in_daily_window(night, t("12:00:00")), Ok(false));
        // Not a window.
        assert!(in_daily_window("7:30 to 18:00", t("12:00:00")).is_err());
        assert!(in_daily_window("07:30-25:00", t("12:00:00")).is_err());
    }

    #[test]
    fn a_program_starts_on_the_instant_it_is_given_or_refuses_a_bad_one() {
        let named = clock_from(Some("2026-12-09T09:30:00+08:00")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            service_date(named.now()).to_string(),
            "2026-12-09",
            "the named day, whatever the host's date"
        );
        assert!(clock_from(Some("2026-12-09 09:30")).is_err());
    }
}
