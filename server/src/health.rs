//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::error::ApiError;

/// Handles the `GET /healthz` route: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Handles the `GET /readyz` route: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    web::block(move || db.ping()).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ready",
        "database": format!("{:?}", state.db.backend()).to_lowercase(),
    })))
}
