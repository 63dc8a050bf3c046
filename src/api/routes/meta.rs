//! `/api/health` and `/api`.

use axum::Json;
use serde_json::{json, Value};

use crate::core::model::format_timestamp;

/// `GET /api/health`: liveness, as the original.
pub async fn health() -> Json<Value> {
    Json(json!({
        "status": "ok",
        "service": "LaneSwap API",
        "timestamp": format_timestamp(&chrono::Utc::now()),
    }))
}

/// `GET /api`: API info, as the original's test app.
pub async fn info() -> Json<Value> {
    Json(json!({ "name": "LaneSwap API", "version": "2.0.0", "status": "operational" }))
}
