//! The display client, embedded in the binary so one file deploys: plain
//! HTML/CSS/ES modules from `display-client/`, no CDN. Routes: `/` (a list
//! of the hospital's screens), `/screens/{code}` (a screen page; the page reads
//! its code from the URL), `/kiosk/{code}` (a check-in kiosk), `/console`,
//! `/caller`, `/devices`, `/admin`, `/stats` and `/api/docs` (Swagger UI)
//! (the nurse console, the doctor caller, screens as devices, accounts,
//! clients and rules: `staff/`, Preact +
//! htm vendored in `vendor/`) and `/display/{file}` (assets), plus the screens'
//! WebSocket at `/ws/screens/{code}` and the staff pages' at `/ws/staff`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::ScreenCode;

use crate::api::error::ApiError;
use crate::engine::Engine;

#[derive(rust_embed::Embed)]
#[folder = "display-client/"]
struct Assets;

/// Registers the display routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/screens/{code}", web::get().to(screen_page))
        .route("/kiosk/{code}", web::get().to(kiosk_page))
        .route("/console", web::get().to(console_page))
        .route("/caller", web::get().to(caller_page))
        .route("/devices", web::get().to(devices_page))
        .route("/admin", web::get().to(admin_page))
        .route("/stats", web::get().to(stats_page))
        .route("/api/docs", web::get().to(api_docs_page))
        .route("/display/{path:.*}", web::get().to(asset))
        .route("/ws/screens/{code}", web::get().to(crate::ws::screen_ws))
        .route("/ws/staff", web::get().to(crate::ws::staff_ws))
        // A patient's page, its files, its data and its socket, all under
        // /p/: a hospital gateway publishes exactly that prefix.
        .route("/p/static/{file}", web::get().to(patient_asset))
        .route("/p/{token}", web::get().to(patient_page))
        .route(
            "/p/{token}/visit",
            web::get().to(crate::api::patient::visit),
        )
        .route("/p/{token}/live", web::get().to(crate::ws::patient_ws));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn index(engine: web::Data<Engine>) -> HttpResponse {
    let mut rows = String::new();
    for s in &engine.screens() {
        let kind = match s.kind {
            triage_actors::screen::ScreenKind::Overview => "综合屏",
            triage_actors::screen::ScreenKind::Door => "门口屏",
        };
        rows.push_str(&format!(
            "<li><a href=\"/screens/{code}\">{name}</a> <small>{kind} · {code}</small></li>\n",
            code = escape(&s.code),
            name = escape(&s.name),
        ));
    }
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{h} · Triage</title>\
         <link rel=\"stylesheet\" href=\"/display/index.css\"></head><body><h1>{h}</h1>\
         <p>分诊叫号系统 Triage · 屏幕列表（在每台屏幕的浏览器中打开对应地址）</p><ul>{rows}</ul>\
         <p><a href=\"/console\">分诊台（护士）</a> · <a href=\"/caller\">医生叫号</a> · <a href=\"/devices\">屏幕管理</a> · <a href=\"/admin\">系统管理</a> · <a href=\"/api/v1/rooms\">诊室状态 API</a> · <a href=\"/readyz\">健康检查</a></p></body></html>",
        h = escape(&engine.hospital().name),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

async fn screen_page(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = ScreenCode::parse(&path)?;
    if !engine.directory().screens.contains_key(code.as_str()) {
        return Err(Error::new(ErrorCode::ScreenNotFound, format!("no screen {code:?}")).into());
    }
    serve("screen.html")
}

/// A self-service check-in kiosk (自助报到机); it proves itself with its
/// device token through the API.
async fn kiosk_page(
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    if engine.hospital().kiosk(&path).is_none() {
        return Err(Error::new(
            ErrorCode::KioskNotFound,
            format!("no kiosk {:?}", path.as_str()),
        )
        .into());
    }
    serve("kiosk.html")
}

/// A patient's own page (the ticket's QR code): the page reads its visit
/// through the API with the token in its address; nothing of the visit is
/// in the page itself, and no address leaves it as a referrer.
async fn patient_page() -> Result<HttpResponse, ApiError> {
    // Every answer carries `Referrer-Policy: no-referrer` (app.rs).
    serve("patient.html")
}

/// The patient page's own files (nothing else is served under `/p/`).
async fn patient_asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match path.as_str() {
        "patient.js" | "patient.css" => serve(&path),
        _ => Err(Error::new(ErrorCode::NotFound, "no such file").into()),
    }
}

/// The nurse console (分诊台); it logs in through the API itself.
async fn console_page() -> Result<HttpResponse, ApiError> {
    serve("staff/console.html")
}

/// The doctor caller (医生叫号); it logs in through the API itself.
async fn caller_page() -> Result<HttpResponse, ApiError> {
    serve("staff/caller.html")
}

/// Screens as managed devices (屏幕管理).
async fn devices_page() -> Result<HttpResponse, ApiError> {
    serve("staff/devices.html")
}

/// The admin pages (系统管理): accounts, HIS clients, queue rules.
async fn admin_page() -> Result<HttpResponse, ApiError> {
    serve("staff/admin.html")
}

/// Workload statistics (工作量统计) with charts; it logs in itself.
async fn stats_page() -> Result<HttpResponse, ApiError> {
    serve("staff/stats.html")
}

/// The API document in Swagger UI (vendored, offline): public, like the
/// document itself.
async fn api_docs_page() -> Result<HttpResponse, ApiError> {
    serve("apidocs.html")
}

async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&path.into_inner())
}

fn serve(name: &str) -> Result<HttpResponse, ApiError> {
    let file = Assets::get(name)
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no display file {name:?}")))?;
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, format!("{mime}; charset=utf-8")))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.data.into_owned()))
}
