//! Workload statistics (工作量统计) and the outpatient indicators:
//! `GET /stats/workload` and `GET /stats/indicators`, as JSON or as CSV
//! that opens in Excel with its Chinese intact (UTF-8 with a BOM).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::Caller;
use crate::engine::stats::{Dim, IndicatorBy, Indicators, Spread, Workload};
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};

type Answer = Result<HttpResponse, ApiError>;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct WorkloadQuery {
    /// First service day, YYYY-MM-DD (default: today).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub from: Option<String>,
    /// Last service day, inclusive (default: `from`); at most 366 days on.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub to: Option<String>,
    /// Comma-separated: exam_item, performer, department, room, day, hour
    /// (default: none, the total only).
    #[param(
        pattern = "^((exam_item|performer|department|room|day|hour)(,(exam_item|performer|department|room|day|hour))*)?$"
    )]
    pub group_by: Option<String>,
    /// Only this department.
    #[param(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub department: Option<String>,
    /// json (default) or csv.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct IndicatorQuery {
    /// First service day, YYYY-MM-DD (default: today).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub from: Option<String>,
    /// Last service day, inclusive (default: `from`); at most 366 days on.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub to: Option<String>,
    /// day (default), department or doctor.
    #[param(pattern = "^(day|department|doctor)$")]
    pub by: Option<String>,
    /// Only this department.
    #[param(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub department: Option<String>,
    /// json (default) or csv.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

fn day(field: &str, text: Option<&str>, default: NaiveDate) -> Result<NaiveDate, Error> {
    match text {
        None => Ok(default),
        Some(t) => triage_ground::time::parse_date(t).ok_or_else(|| {
            Error::field(
                ErrorCode::InvalidDate,
                field,
                format!("{field} is a date YYYY-MM-DD"),
            )
        }),
    }
}

fn csv_wanted(format: Option<&str>) -> Result<bool, Error> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(Error::field(
            ErrorCode::InvalidField,
            "format",
            "format is json or csv",
        )),
    }
}

/// The departments the caller may see, narrowed to `department` when
/// given (`None`: all).
fn scope(
    caller: &Caller,
    engine: &Engine,
    department: Option<&str>,
) -> Result<Option<Vec<String>>, Error> {
    if let Some(d) = department {
        if engine.hospital().department(d).is_none() {
            return Err(Error::field(
                ErrorCode::UnknownDepartment,
                "department",
                format!("no department {d:?}"),
            ));
        }
        caller.principal.read_stats(engine.hospital(), Some(d))?;
        return Ok(Some(vec![d.to_string()]));
    }
    caller.principal.read_stats(engine.hospital(), None)
}

fn csv_answer(name: &str, rows: Vec<Vec<String>>) -> Result<HttpResponse, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r).map_err(|_| Error::internal())?;
    }
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(w.into_inner().map_err(|_| Error::internal())?);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(body))
}

fn cells(s: &Spread) -> [String; 3] {
    let f = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_default();
    [f(s.mean), f(s.median), f(s.p90)]
}

fn workload_rows(w: &Workload) -> Vec<Vec<String>> {
    let mut head: Vec<String> = w.group_by.iter().map(|d| d.as_str().to_string()).collect();
    head.extend(
        [
            "就诊人次 visits",
            "已叫号 called",
            "已完成 finished",
            "未到 no_shows",
            "重呼 recalls",
            "平均等候(分) wait_mean",
            "等候中位数 wait_median",
            "等候90% wait_p90",
            "平均诊疗(分) service_mean",
            "诊疗中位数 service_median",
            "诊疗90% service_p90",
        ]
        .map(String::from),
    );
    let mut rows = vec![head];
    let line = |key: Vec<String>, f: &crate::engine::stats::Figures| {
        let mut r = key;
        r.extend([
            f.visits.to_string(),
            f.called.to_string(),
            f.finished.to_string(),
            f.no_shows.to_string(),
            f.recalls.to_string(),
        ]);
        r.extend(cells(&f.wait_minutes));
        r.extend(cells(&f.service_minutes));
        r
    };
    // Without grouping the one group is the total: written once.
    for g in w.groups.iter().filter(|_| !w.group_by.is_empty()) {
        let key = w
            .group_by
            .iter()
            .map(|d| g.key.get(d.as_str()).cloned().unwrap_or_default())
            .collect();
        rows.push(line(key, &g.figures));
    }
    let mut total_key = vec![String::new(); w.group_by.len()];
    if let Some(first) = total_key.first_mut() {
        *first = "合计 total".into();
    }
    rows.push(line(total_key, &w.total));
    rows
}

#[utoipa::path(get, path = "/api/v1/stats/workload", tag = "statistics", params(WorkloadQuery),
    responses(
        (status = 200, description = "the workload: JSON, or with format=csv a CSV table (UTF-8 with BOM, one row per group and the total)",
            content((Workload = "application/json"), (String = "text/csv"))),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "the department is outside the caller's", body = ErrorBody),
        (status = 422, description = "a bad date, group_by, department or format", body = ErrorBody)))]
pub async fn workload(
    query: web::Query<WorkloadQuery>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let today = triage_ground::time::service_date(engine.now());
    let from = day("from", query.from.as_deref(), today)?;
    let to = day("to", query.to.as_deref(), from)?;
    let dims = Dim::parse_list(query.group_by.as_deref().unwrap_or(""))?;
    let csv = csv_wanted(query.format.as_deref())?;
    let departments = scope(&caller, &engine, query.department.as_deref())?;
    let w = engine.workload(from, to, &dims, departments).await?;
    if csv {
        return Ok(csv_answer(
            &format!("workload-{from}-{to}"),
            workload_rows(&w),
        )?);
    }
    Ok(HttpResponse::Ok().json(w))
}

fn indicator_rows(i: &Indicators) -> Vec<Vec<String>> {
    let by = match i.by {
        IndicatorBy::Day => "日期 day",
        IndicatorBy::Department => "科室 department",
        IndicatorBy::Doctor => "医生 doctor",
    };
    let mut rows = vec![vec![
        by.to_string(),
        "就诊人次 visits".into(),
        "预约人次 appointments".into(),
        "预约诊疗率(%) appointment_rate".into(),
        "预约后平均等待(分) mean_wait_after_appointment".into(),
    ]];
    let labelled = i.groups.iter().map(|g| (g.key.clone(), g));
    let total = std::iter::once(("合计 total".to_string(), &i.total));
    for (label, g) in labelled.chain(total) {
        let f = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_default();
        rows.push(vec![
            label,
            g.visits.to_string(),
            g.appointments.to_string(),
            f(g.appointment_rate_percent),
            f(g.mean_wait_after_appointment_minutes),
        ]);
    }
    rows
}

#[utoipa::path(get, path = "/api/v1/stats/indicators", tag = "statistics", params(IndicatorQuery),
    responses(
        (status = 200, description = "the appointment rate and the mean wait after an appointment: JSON, or with format=csv a CSV table (UTF-8 with BOM)",
            content((Indicators = "application/json"), (String = "text/csv"))),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "the department is outside the caller's", body = ErrorBody),
        (status = 422, description = "a bad date, by, department or format", body = ErrorBody)))]
pub async fn indicators(
    query: web::Query<IndicatorQuery>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let today = triage_ground::time::service_date(engine.now());
    let from = day("from", query.from.as_deref(), today)?;
    let to = day("to", query.to.as_deref(), from)?;
    let by = match query.by.as_deref() {
        None | Some("day") => IndicatorBy::Day,
        Some("department") => IndicatorBy::Department,
        Some("doctor") => IndicatorBy::Doctor,
        Some(_) => {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "by",
                "by is day, department or doctor",
            )
            .into())
        }
    };
    let csv = csv_wanted(query.format.as_deref())?;
    let departments = scope(&caller, &engine, query.department.as_deref())?;
    let i = engine.indicators(from, to, by, departments).await?;
    if csv {
        return Ok(csv_answer(
            &format!("indicators-{from}-{to}"),
            indicator_rows(&i),
        )?);
    }
    Ok(HttpResponse::Ok().json(i))
}

/// The latest calibration of the wait forecast, the caller's departments.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CalibrationAnswer {
    /// None until `triage wait backtest` has run.
    pub calibration: Option<crate::engine::backtest::Calibration>,
}

#[utoipa::path(get, path = "/api/v1/stats/wait-calibration", tag = "statistics",
    responses(
        (status = 200, description = "the latest `triage wait backtest`: its period, the share of patients called by their P90 and P50, the median error of P50 and of the old estimate, for the hospital and each department the caller may see; `calibration` null until one was run", body = CalibrationAnswer),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "not allowed to read statistics", body = ErrorBody)))]
pub async fn wait_calibration(caller: Caller, engine: web::Data<Engine>) -> Answer {
    let departments = scope(&caller, &engine, None)?;
    let mut calibration = engine.wait_calibration().await?;
    if let (Some(c), Some(mine)) = (calibration.as_mut(), departments) {
        c.departments.retain(|d| mine.contains(&d.department));
        c.overall = None;
    }
    Ok(HttpResponse::Ok().json(CalibrationAnswer { calibration }))
}
