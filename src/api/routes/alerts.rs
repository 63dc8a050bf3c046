//! `/api/alerts…`: list, read, acknowledge, un-acknowledge.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde_json::json;

use crate::api::auth::Caller;
use crate::api::body::{Fields, JsonBody, MAX_MESSAGE_CHARS};
use crate::api::error::{ApiError, ValidationItem};
use crate::api::AppState;
use crate::core::{Alert, AlertState};

/// Longest acknowledgement accepted: 30 days.
const MAX_ACK_SECS: f64 = 30.0 * 24.0 * 3600.0;

/// Filters of the alert list.
#[derive(Debug, serde::Deserialize)]
pub struct ListParams {
    /// `open`, `acknowledged`, `resolved`, or `active` (open or acknowledged).
    state: Option<String>,
    service_id: Option<String>,
    /// At most this many (the newest).
    limit: Option<usize>,
}

/// `GET /api/alerts?state=&service_id=&limit=`: `{"total": n, "alerts": […]}`, newest first.
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let wanted: Option<Vec<AlertState>> = match params.state.as_deref() {
        None => None,
        Some("active") => Some(vec![AlertState::Open, AlertState::Acknowledged]),
        Some(text) => match text.parse::<AlertState>() {
            Ok(one) => Some(vec![one]),
            Err(_) => {
                return Err(ApiError::invalid(ValidationItem {
                    kind: "enum",
                    loc: vec![json!("query"), json!("state")],
                    msg: "Input should be 'open', 'acknowledged', 'resolved' or 'active'".into(),
                    input: json!(text),
                    ctx: Some(
                        json!({ "expected": "'open', 'acknowledged', 'resolved' or 'active'" }),
                    ),
                }))
            }
        },
    };
    let alerts: Vec<Alert> = state.core.read(|registry| {
        registry
            .alerts()
            .iter()
            .rev()
            .filter(|alert| {
                wanted
                    .as_ref()
                    .is_none_or(|states| states.contains(&alert.state))
            })
            .filter(|alert| {
                params
                    .service_id
                    .as_ref()
                    .is_none_or(|id| &alert.service_id == id)
            })
            .take(params.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    });
    Ok(Json(json!({ "total": alerts.len(), "alerts": alerts })).into_response())
}

/// `GET /api/alerts/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    Path(alert_id): Path<String>,
) -> Result<Response, ApiError> {
    let alert = state
        .core
        .alert(&alert_id)
        .ok_or_else(|| ApiError::NotFound(format!("Alert not found: {alert_id}")))?;
    Ok(Json(alert).into_response())
}

/// `POST /api/alerts/{id}/ack` with `{"note", "expires_in" (seconds), "by"}`
/// (all optional): 200 with the alert; 409 if it is resolved.
pub async fn acknowledge(
    State(state): State<AppState>,
    Path(alert_id): Path<String>,
    caller: Option<Extension<Caller>>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut fields = Fields::of(&body, false)?;
    let note = fields.optional_string("note", 0, MAX_MESSAGE_CHARS);
    let expires_in = fields.optional_seconds("expires_in", MAX_ACK_SECS);
    let by = fields.optional_string("by", 1, 128);
    fields.finish()?;
    let now = state.core.now();
    let expires_at = expires_in.map(|secs| now + crate::core::staleness::seconds(secs));
    let by = by.unwrap_or_else(|| match caller {
        Some(Extension(caller)) => caller.name,
        None => state.operator.to_string(),
    });
    let alert = state
        .core
        .acknowledge(&alert_id, by, note, expires_at)
        .await?;
    Ok(Json(alert).into_response())
}

/// `POST /api/alerts/{id}/unack`: 200 with the alert; 409 if it is not acknowledged.
pub async fn unacknowledge(
    State(state): State<AppState>,
    Path(alert_id): Path<String>,
) -> Result<Response, ApiError> {
    let alert = state.core.unacknowledge(&alert_id).await?;
    Ok(Json(alert).into_response())
}
