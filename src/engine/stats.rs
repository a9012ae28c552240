//! Workload statistics (工作量统计) and the two outpatient indicators of
//! the national tertiary public hospital performance evaluation
//! (国家三级公立医院绩效考核): counts, no-shows and repeated calls, and the
//! wait (check-in → call) and the service time (call → finish) as mean,
//! median and 90th percentile, grouped by any of exam item, performer,
//! department, room, day and hour; the appointment rate (门诊患者平均预约
//! 诊疗率) and the mean wait after an appointment (门诊患者预约后平均等待
//! 时间) by day, department or doctor. Read from the stored visits of the
//! period (one indexed range of `service_date`).

use std::collections::BTreeMap;
use triage_actors::model::{DayEndStatus, VisitStatus};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Double, Integer, Nullable, Text};
use serde::Serialize;

use super::facade::Engine;
use triage_ground::error::{Error, ErrorCode};

/// What workload may be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    ExamItem,
    Performer,
    Department,
    Room,
    Day,
    Hour,
}

impl Dim {
    pub const ALL: [Dim; 6] = [
        Dim::ExamItem,
        Dim::Performer,
        Dim::Department,
        Dim::Room,
        Dim::Day,
        Dim::Hour,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::ExamItem => "exam_item",
            Dim::Performer => "performer",
            Dim::Department => "department",
            Dim::Room => "room",
            Dim::Day => "day",
            Dim::Hour => "hour",
        }
    }

    /// `exam_item,performer` → the dimensions, in order, once each.
    pub fn parse_list(text: &str) -> Result<Vec<Dim>, Error> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let d = Dim::ALL
                .into_iter()
                .find(|d| d.as_str() == part)
                .ok_or_else(|| {
                    Error::field(
                        ErrorCode::InvalidField,
                        "group_by",
                        format!(
                            "group_by names any of {}",
                            Dim::ALL.map(|d| d.as_str()).join(", ")
                        ),
                    )
                })?;
            if !out.contains(&d) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// Mean, median and 90th percentile of some minutes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Spread {
    /// How many values.
    pub n: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

fn spread(mut v: Vec<f64>) -> Spread {
    if v.is_empty() {
        return Spread::default();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let at = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    Spread {
        n,
        mean: Some(round(v.iter().sum::<f64>() / n as f64)),
        median: Some(round(median)),
        p90: Some(round(at(0.9))),
    }
}

/// The figures of one group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Visits (a visit with several exam items counts once per item when
    /// grouped by item).
    pub visits: usize,
    /// Visits called at least once.
    pub called: usize,
    /// Visits seen to the end (finished).
    pub finished: usize,
    /// Did not come when called (过号未到 at the day end, or no-show).
    pub no_shows: usize,
    /// Calls repeated for a patient (重呼).
    pub recalls: usize,
    /// Minutes from check-in to the call.
    pub wait_minutes: Spread,
    /// Minutes from the call to the finish.
    pub service_minutes: Spread,
}

/// One group: its key (dimension → value) and figures.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub key: BTreeMap<String, String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The workload of a period.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Workload {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Vec<Dim>,
    pub groups: Vec<Group>,
    pub total: Figures,
}

/// A visit as statistics read it: the times already turned into minutes
/// and the local hour by the database (parsing three timestamps per row in
/// Rust took most of the time over a month's 300,000 visits), the columns a
/// grouping does not need read as constants.
#[derive(Clone, Debug, QueryableByName)]
struct Seen {
    #[diesel(sql_type = Text)]
    department_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    room_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    performer: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    doctor_code: Option<String>,
    #[diesel(sql_type = Text)]
    exam_items: String,
    #[diesel(sql_type = Text)]
    status: VisitStatus,
    #[diesel(sql_type = Nullable<Text>)]
    closed_as: Option<DayEndStatus>,
    #[diesel(sql_type = Nullable<Text>)]
    service_date: Option<String>,
    /// Local hour of the call, else of the check-in.
    #[diesel(sql_type = Nullable<Text>)]
    hour: Option<String>,
    #[diesel(sql_type = Integer)]
    called: i32,
    #[diesel(sql_type = Integer)]
    appointed: i32,
    /// Check-in → call.
    #[diesel(sql_type = Nullable<Double>)]
    wait_min: Option<f64>,
    /// Call → finish.
    #[diesel(sql_type = Nullable<Double>)]
    service_min: Option<f64>,
    /// The appointment's time (or the arrival, if later) → call.
    #[diesel(sql_type = Nullable<Double>)]
    appointment_wait_min: Option<f64>,
    #[diesel(sql_type = Integer)]
    call_count: i32,
}

#[derive(Default)]
struct Acc {
    visits: usize,
    called: usize,
    finished: usize,
    no_shows: usize,
    recalls: usize,
    waits: Vec<f64>,
    services: Vec<f64>,
}

impl Acc {
    fn add(&mut self, v: &Seen) {
        self.visits += 1;
        if v.called != 0 {
            self.called += 1;
            self.recalls += usize::try_from(v.call_count.max(1) - 1).unwrap_or(0);
        }
        if v.status == VisitStatus::Finished {
            self.finished += 1;
        }
        if v.status == VisitStatus::NoShow || v.closed_as == Some(DayEndStatus::MissedUnreturned) {
            self.no_shows += 1;
        }
        if let Some(w) = v.wait_min {
            self.waits.push(w.max(0.0));
        }
        if let Some(m) = v.service_min {
            self.services.push(m.max(0.0));
        }
    }

    fn figures(self) -> Figures {
        Figures {
            visits: self.visits,
            called: self.called,
            finished: self.finished,
            no_shows: self.no_shows,
            recalls: self.recalls,
            wait_minutes: spread(self.waits),
            service_minutes: spread(self.services),
        }
    }
}

/// The values of `dim` for a visit (several for exam items).
fn values(v: &Seen, dim: Dim) -> Vec<String> {
    let none = || "（无）".to_string();
    match dim {
        Dim::Department => vec![v.department_code.clone()],
        Dim::Room => vec![v.room_code.clone().unwrap_or_else(none)],
        Dim::Performer => vec![v
            .performer
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(none)],
        Dim::Day => vec![v.service_date.clone().unwrap_or_else(none)],
        Dim::Hour => vec![v.hour.clone().unwrap_or_else(none)],
        Dim::ExamItem => {
            let items: Vec<serde_json::Value> =
                serde_json::from_str(&v.exam_items).unwrap_or_default();
            let codes: Vec<String> = items
                .iter()
                .filter_map(|i| i["code"].as_str().map(str::to_string))
                .collect();
            if codes.is_empty() {
                vec![none()]
            } else {
                codes
            }
        }
    }
}

/// Every combination of the values of `dims` for a visit.
fn keys(v: &Seen, dims: &[Dim]) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    for d in dims {
        let vals = values(v, *d);
        out = out
            .into_iter()
            .flat_map(|k| {
                vals.iter().map(move |x| {
                    let mut k2 = k.clone();
                    k2.push(x.clone());
                    k2
                })
            })
            .collect();
    }
    out
}

/// What the indicators may be reported by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorBy {
    Day,
    Department,
    Doctor,
}

/// The two outpatient indicators for one group.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Indicator {
    pub key: String,
    pub visits: usize,
    /// Visits with an appointment (预约).
    pub appointments: usize,
    /// 门诊患者平均预约诊疗率: appointments ÷ visits × 100.
    pub appointment_rate_percent: Option<f64>,
    /// 门诊患者预约后平均等待时间: minutes from the appointment's time (or
    /// the arrival, if later) to the call, over appointments called.
    pub mean_wait_after_appointment_minutes: Option<f64>,
}

/// The indicators of a period.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Indicators {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: IndicatorBy,
    pub groups: Vec<Indicator>,
    pub total: Indicator,
}

fn indicator(key: String, vs: &[&Seen]) -> Indicator {
    let appointments: Vec<&&Seen> = vs.iter().filter(|v| v.appointed != 0).collect();
    let waits: Vec<f64> = appointments
        .iter()
        .filter_map(|v| v.appointment_wait_min.map(|m| m.max(0.0)))
        .collect();
    let round = |x: f64| (x * 100.0).round() / 100.0;
    Indicator {
        key,
        visits: vs.len(),
        appointments: appointments.len(),
        appointment_rate_percent: (!vs.is_empty())
            .then(|| round(appointments.len() as f64 * 100.0 / vs.len() as f64)),
        mean_wait_after_appointment_minutes: (!waits.is_empty())
            .then(|| round(waits.iter().sum::<f64>() / waits.len() as f64)),
    }
}

fn period(from: NaiveDate, to: NaiveDate) -> Result<(), Error> {
    if to < from || (to - from).num_days() > 366 {
        return Err(Error::field(
            ErrorCode::InvalidDate,
            "to",
            "to is on or after from, at most 366 days later",
        ));
    }
    Ok(())
}

/// The visits of the period (of `departments`, all when `None`), with the
/// columns `dims` need (`None`: what the indicators need).
fn seen(
    c: &mut crate::db::AnyConnection,
    from: NaiveDate,
    to: NaiveDate,
    departments: Option<Vec<String>>,
    dims: Option<&[Dim]>,
) -> Result<Vec<Seen>, crate::db::DbError> {
    use crate::db::AnyConnection;
    let wants = |d: Dim| dims.is_some_and(|ds| ds.contains(&d));
    let pg = matches!(c, AnyConnection::Postgresql(_));
    let col = |needed: bool, name: &str, empty: &str| {
        if needed {
            name.to_string()
        } else {
            format!("{empty} AS {name}")
        }
    };
    let (wait, service, appointment_wait, hour) = if pg {
        (
            "date_part('epoch', called_at - checked_in_at) / 60.0",
            "date_part('epoch', finished_at - called_at) / 60.0",
            "date_part('epoch', called_at - GREATEST(checked_in_at, appointment_start)) / 60.0",
            "to_char(COALESCE(called_at, checked_in_at) + INTERVAL '8 hours', 'HH24')",
        )
    } else {
        (
            "(julianday(called_at) - julianday(checked_in_at)) * 1440.0",
            "(julianday(finished_at) - julianday(called_at)) * 1440.0",
            "(julianday(called_at) - julianday(COALESCE(MAX(checked_in_at, appointment_start), appointment_start))) * 1440.0",
            "strftime('%H', COALESCE(called_at, checked_in_at), '+8 hours')",
        )
    };
    let indicators = dims.is_none();
    let depts = departments.unwrap_or_default();
    let placeholder = |i: usize| if pg { format!("${i}") } else { "?".to_string() };
    let mut sql = format!(
        "SELECT department_code, {room}, {performer}, {doctor}, {items}, status, closed_as, {day}, \
         {hour} AS hour, CASE WHEN called_at IS NULL THEN 0 ELSE 1 END AS called, \
         CASE WHEN appointment_start IS NULL THEN 0 ELSE 1 END AS appointed, \
         {wait} AS wait_min, {service} AS service_min, {appointment_wait} AS appointment_wait_min, call_count \
         FROM visits WHERE service_date >= {p1} AND service_date <= {p2}",
        room = col(wants(Dim::Room), "room_code", "NULL"),
        performer = col(wants(Dim::Performer) || indicators, "performer", "NULL"),
        doctor = col(indicators, "doctor_code", "NULL"),
        items = col(wants(Dim::ExamItem), "exam_items", "'[]'"),
        day = col(wants(Dim::Day) || indicators, "service_date", "NULL"),
        hour = if wants(Dim::Hour) { hour } else { "NULL" },
        p1 = placeholder(1),
        p2 = placeholder(2),
    );
    if !depts.is_empty() {
        let list: Vec<String> = (0..depts.len()).map(|i| placeholder(i + 3)).collect();
        sql.push_str(&format!(" AND department_code IN ({})", list.join(", ")));
    }
    let (f, t) = (from.to_string(), to.to_string());
    macro_rules! run {
        ($conn:expr, $backend:ty) => {{
            let mut q = diesel::sql_query(sql)
                .into_boxed::<$backend>()
                .bind::<Text, _>(f)
                .bind::<Text, _>(t);
            for d in depts {
                q = q.bind::<Text, _>(d);
            }
            q.load::<Seen>($conn)?
        }};
    }
    Ok(match c {
        AnyConnection::Sqlite(s) => run!(s, diesel::sqlite::Sqlite),
        AnyConnection::Postgresql(p) => run!(p, diesel::pg::Pg),
    })
}

/// The workload of a period grouped by `dims`, read on `c` (what
/// [`Engine::workload`] answers; the benchmark calls it directly).
pub fn workload_on(
    c: &mut crate::db::AnyConnection,
    from: NaiveDate,
    to: NaiveDate,
    dims: &[Dim],
    departments: Option<Vec<String>>,
) -> Result<Workload, crate::db::DbError> {
    let seen = seen(c, from, to, departments, Some(dims))?;
    let mut groups: BTreeMap<Vec<String>, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for v in &seen {
        total.add(v);
        for k in keys(v, dims) {
            groups.entry(k).or_default().add(v);
        }
    }
    Ok(Workload {
        from,
        to,
        group_by: dims.to_vec(),
        groups: groups
            .into_iter()
            .map(|(k, acc)| Group {
                key: dims.iter().map(|d| d.as_str().to_string()).zip(k).collect(),
                figures: acc.figures(),
            })
            .collect(),
        total: total.figures(),
    })
}

impl Engine {
    /// The workload from `from` to `to` (service days, inclusive) grouped
    /// by `dims`, of `departments` (all when `None`).
    pub async fn workload(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        dims: &[Dim],
        departments: Option<Vec<String>>,
    ) -> Result<Workload, Error> {
        period(from, to)?;
        let dims = dims.to_vec();
        Ok(self
            .db()
            .read(move |c| workload_on(c, from, to, &dims, departments))
            .await?)
    }

    /// The appointment rate and the mean wait after an appointment, by day,
    /// department or doctor.
    pub async fn indicators(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        by: IndicatorBy,
        departments: Option<Vec<String>>,
    ) -> Result<Indicators, Error> {
        period(from, to)?;
        let seen = self
            .db()
            .read(move |c| seen(c, from, to, departments, None))
            .await?;
        let mut groups: BTreeMap<String, Vec<&Seen>> = BTreeMap::new();
        for v in &seen {
            let key = match by {
                IndicatorBy::Day => v.service_date.clone().unwrap_or_default(),
                IndicatorBy::Department => v.department_code.clone(),
                IndicatorBy::Doctor => v
                    .doctor_code
                    .clone()
                    .or_else(|| v.performer.clone())
                    .unwrap_or_else(|| "（无）".into()),
            };
            groups.entry(key).or_default().push(v);
        }
        let all: Vec<&Seen> = seen.iter().collect();
        Ok(Indicators {
            from,
            to,
            by,
            groups: groups
                .into_iter()
                .map(|(k, vs)| indicator(k, &vs))
                .collect(),
            total: indicator("total".into(), &all),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_is_mean_median_and_the_90th_percentile() {
        let s = spread((1..=10).map(f64::from).collect());
        assert_eq!(
            (s.n, s.mean, s.median, s.p90),
            (10, Some(5.5), Some(5.5), Some(9.0))
        );
        let s = spread(vec![4.0, 1.0, 7.0]);
        assert_eq!((s.median, s.p90), (Some(4.0), Some(7.0)));
        assert_eq!(spread(vec![]), Spread::default());
        assert!(Dim::parse_list("performer,hour,performer")
            .is_ok_and(|d| d == [Dim::Performer, Dim::Hour]));
        assert!(Dim::parse_list("colour").is_err());
    }
}
