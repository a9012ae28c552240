//! The waiting lists for manual triage when something fails (应急预案):
//! `GET /api/v1/waiting-lists.xlsx` — an Excel workbook of every waiting
//! patient of the caller's departments (a doctor: his rooms' queues), one
//! sheet per queue, in calling order, with full names (staff in scope
//! only). Written with `rust_xlsxwriter`. The nurse console makes the same
//! list as CSV and prints it from its last state, also while the server is
//! down.

use actix_web::{web, HttpResponse};
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::Caller;
use crate::engine::Engine;
use crate::staff::{self, Watch};
use triage_ground::error::{Error, ErrorCode};

/// Which departments (`?departments=NK,WK`; default: all of the caller's).
#[derive(Deserialize)]
pub struct ExportQuery {
    departments: Option<String>,
}

/// The columns of a waiting list.
pub const COLUMNS: [&str; 8] = [
    "序号",
    "票号",
    "姓名",
    "标记",
    "特殊人群",
    "排序原因",
    "状态",
    "签到时间",
];

/// A sheet name Excel accepts: no `[]:*?/\`, at most 31 characters,
/// unique in the workbook.
fn sheet_name(name: &str, used: &mut Vec<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(28)
        .collect();
    let mut candidate = clean.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{clean}{n}");
        n += 1;
    }
    used.push(candidate.clone());
    candidate
}

#[utoipa::path(get, path = "/api/v1/waiting-lists.xlsx", tag = "calling",
    params(("departments" = Option<String>, Query, description = "department codes, comma-separated; default: all of the caller's")),
    responses((status = 200, description = "an Excel workbook: one sheet per queue, every waiting patient in calling order, full names", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403, description = "not staff, or a department outside the caller's", body = super::error::ErrorBody)))]
pub async fn waiting_lists_xlsx(
    query: web::Query<ExportQuery>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let Some(who) = caller.principal.staff().cloned() else {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "waiting lists with names are for staff",
        )
        .into());
    };
    let asked = crate::staff::asked_departments(query.departments.as_deref());
    let watch = Watch::of(&who, engine.hospital(), asked.as_deref())?;
    let latest = staff::fetch(&engine, &watch).await;
    let lists = staff::waiting_lists(&watch, &latest, &engine);
    let failed = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "waiting lists: the workbook could not be written");
        ApiError::from(Error::internal())
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut used = Vec::new();
    for (queue, rows) in &lists {
        let sheet = book.add_worksheet();
        sheet
            .set_name(sheet_name(queue, &mut used))
            .map_err(failed)?;
        for (c, title) in COLUMNS.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *title, &bold)
                .map_err(failed)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                sheet
                    .write_string(r as u32 + 1, c as u16, value)
                    .map_err(failed)?;
            }
        }
        sheet.set_column_width(2, 12).map_err(failed)?;
        sheet.set_column_width(5, 36).map_err(failed)?;
    }
    if lists.is_empty() {
        book.add_worksheet().set_name("候诊名单").map_err(failed)?;
    }
    let bytes = book.save_to_buffer().map_err(failed)?;
    let stamp = engine
        .clock()
        .now()
        .with_timezone(&triage_ground::time::shanghai())
        .format("%Y%m%d-%H%M");
    tracing::info!(staff = %who.code, queues = lists.len(), "waiting lists exported");
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"waiting-lists-{stamp}.xlsx\""),
        ))
        .body(bytes))
}
