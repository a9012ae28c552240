//! `GET /api/v1/patient/{token}`: a patient's own visit as their page
//! shows it ([`crate::patient`]). The token is the whole credential: it
//! opens this one visit, today, while it is open; anything else is 404
//! `patient_link_expired` alike. The page itself lives at `/p/{token}`
//! and stays current through `/p/{token}/live`.

use actix_web::{web, HttpResponse};

use super::error::{ApiError, ErrorBody};
use crate::engine::Engine;
use crate::patient::PatientView;

#[utoipa::path(get, path = "/api/v1/patient/{token}", tag = "patient", params(("token" = String, Path, description = "the token of the ticket's link /p/{token}")),
    responses((status = 200, description = "the visit as its patient sees it: masked name, ticket, queue, rooms that may call, how many are ahead, the status in Chinese", body = PatientView),
              (status = 404, description = "patient_link_expired: a link never made, of another day, or of a visit that closed (one answer for all)", body = ErrorBody)))]
pub async fn visit(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let watched = crate::patient::open(&engine, &path).await?;
    let view = match watched.view(&engine) {
        Some(view) => view,
        // The views were behind the row: read both again once.
        None => {
            let mut watched = watched;
            let found =
                crate::patient::reread(&engine, &watched.row.visit_no, &watched.watch).await?;
            watched.merge(found);
            if !watched.open_now(&engine) {
                return Err(triage_ground::error::Error::new(
                    triage_ground::error::ErrorCode::PatientLinkExpired,
                    crate::patient::LINK_GONE,
                )
                .into());
            }
            watched.view(&engine).ok_or_else(|| {
                triage_ground::error::Error::new(
                    triage_ground::error::ErrorCode::EngineUnavailable,
                    "排队状态正在更新，请稍后刷新",
                )
            })?
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(view))
}
