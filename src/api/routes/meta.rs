//! `/api/health` and `/api`.

use axum::Json;
use serde_json::{json, Value};

use crate::core::model::format_timestamp;

/// `GET /api/health`: liveness, as the original.
pub async fn health(
    axum::extract::State(state): axum::extract::State<crate::api::AppState>,
) -> Json<Value> {
    let mut body = json!({
        "status": "ok",
        "service": "LaneSwap API",
        "timestamp": format_timestamp(&chrono::Utc::now()),
    });
    // The original body, plus `store` only while writes wait locally.
    if let crate::storage::StoreHealth::Degraded { since, detail } = state.store.health() {
        body["store"] = json!({
            "state": "degraded",
            "since": format_timestamp(&since),
            "detail": detail,
        });
    }
    Json(body)
}

/// `GET /api`: API info, as the original's test app.
pub async fn info() -> Json<Value> {
    Json(json!({ "name": "LaneSwap API", "version": "2.0.0", "status": "operational" }))
}
