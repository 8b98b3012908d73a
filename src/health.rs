//! `/health/live` and `/health/ready` (SPEC §1).

use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "UP" }))
}

/// 200 once migrations ran and the database answers, 503 otherwise.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "UP" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "DOWN" }))
        }
    }
}
