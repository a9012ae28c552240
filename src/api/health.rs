//! `GET /healthz` (the process lives), `GET /readyz` (the database
//! answers and every actor runs) and `GET /api/v1/version` (version,
//! commit, schema; for staff and reading clients).

use actix_web::{web, HttpResponse};

use crate::engine::Engine;

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "the process lives")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "database reachable and actors running"), (status = 503, description = "not ready")))]
pub async fn readyz(engine: web::Data<Engine>) -> HttpResponse {
    let db = engine.db().clone();
    // The monitor's last look (every second, on its own short timeout),
    // else a look of its own that waits at most 150 ms: a load balancer
    // gets its answer within 200 ms, also while the database hangs.
    let answered = match db.recent_health(std::time::Duration::from_secs(3)) {
        Some(ok) => ok,
        None => matches!(
            tokio::time::timeout(
                std::time::Duration::from_millis(150),
                db.read(|c| {
                    use diesel::connection::SimpleConnection;
                    c.batch_execute("SELECT 1")?;
                    Ok(())
                }),
            )
            .await,
            Ok(Ok(()))
        ),
    };
    // Reachable, and the writer's last commit did not fail (a full disk
    // or an unwritable file still answers reads).
    let db_ok = answered && !engine.db().writer_failing();
    let actors_ok = engine.directory().rooms.iter().all(|a| a.connected())
        && engine.directory().queues.iter().all(|a| a.connected());
    let body = serde_json::json!({
        "status": if db_ok && actors_ok { "ready" } else { "not_ready" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "database_backend": engine.db().backend().as_str(),
        "actors": if actors_ok { "ok" } else { "stopped" },
    });
    if db_ok && actors_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((
                actix_web::http::header::RETRY_AFTER,
                super::error::RETRY_AFTER_UNAVAILABLE.to_string(),
            ))
            .json(body)
    }
}

/// The running program: version, commit, database schema.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct VersionAnswer {
    /// `1.0.0 (commit)`.
    pub version: String,
    /// The newest migration applied to the database.
    pub schema: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}

#[utoipa::path(get, path = "/api/v1/version", tag = "health",
    responses((status = 200, description = "version, commit and schema of the running server", body = VersionAnswer),
              (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)))]
pub async fn version(
    caller: super::extract::Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, super::error::ApiError> {
    caller.principal.read_hospital()?;
    let list = engine.db().read(crate::db::migration_status).await?;
    let schema = list
        .iter()
        .rev()
        .find(|(_, applied)| *applied)
        .map(|(v, _)| v.clone())
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(VersionAnswer {
        version: crate::VERSION.to_string(),
        schema,
        database: engine.db().backend().as_str().to_string(),
    }))
}
