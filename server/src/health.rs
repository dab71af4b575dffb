//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

/// Handles the `GET /healthz` route: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Handles the `GET /readyz` route: the database answers; also says how many
/// submissions wait for the background photo checks.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let backlog = web::block(move || -> Result<i64, ApiError> {
        db.ping()?;
        Ok(crate::submissions::store::evidence_backlog_size(&db)?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ready",
        "database": format!("{:?}", state.db.backend()).to_lowercase(),
        "evidence_backlog": backlog,
    })))
}
