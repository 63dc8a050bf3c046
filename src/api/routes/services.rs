//! `/api/services…`: register, heartbeat, read, list, delete, history.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::api::body::{Fields, JsonBody, MAX_MESSAGE_CHARS, MAX_NAME_CHARS};
use crate::api::dto::{ServiceListing, ServiceProjection, Summary};
use crate::api::error::{ApiError, ValidationItem};
use crate::api::AppState;
use crate::core::{Heartbeat, Registration, Status};
use crate::storage::HistoryQuery;

/// Longest per-service stale threshold accepted at registration: one week.
const MAX_STALE_THRESHOLD_SECS: f64 = 7.0 * 24.0 * 3600.0;
/// Default and largest `limit` of the history endpoint.
const HISTORY_DEFAULT_LIMIT: usize = 100;
const HISTORY_MAX_LIMIT: usize = 10_000;

/// `POST /api/services`: 200 `{"service_id": …}`.
pub async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut fields = Fields::of(&body, true)?;
    let service_name = fields.required_string("service_name", 0, MAX_NAME_CHARS);
    let service_id = fields.optional_id("service_id");
    let metadata = fields.optional_object("metadata");
    let stale_threshold = fields.optional_seconds("stale_threshold", MAX_STALE_THRESHOLD_SECS);
    fields.finish()?;
    let id = state
        .core
        .register(Registration {
            service_id,
            service_name,
            metadata: metadata.unwrap_or_default(),
            stale_threshold,
        })
        .await?;
    Ok(Json(json!({ "service_id": id })).into_response())
}

/// `POST /api/services/{id}/heartbeat`: 200 with the projection.
pub async fn heartbeat(
    State(state): State<AppState>,
    Path(service_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut fields = Fields::of(&body, false)?;
    let status = fields.status("status", Status::Healthy);
    let message = fields.optional_string("message", 0, MAX_MESSAGE_CHARS);
    let metadata = fields.optional_object("metadata");
    fields.finish()?;
    let record = state
        .core
        .heartbeat(
            &service_id,
            Heartbeat {
                status,
                message,
                metadata,
            },
        )
        .await?;
    Ok(
        ServiceProjection::with_events(&record, state.options.heartbeat_reply_events)
            .into_response(),
    )
}

/// `GET /api/services/{id}`: 200 with the projection.
pub async fn get_one(
    State(state): State<AppState>,
    Path(service_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state
        .core
        .service(&service_id)
        .ok_or_else(|| ApiError::NotFound(format!("Service not found: {service_id}")))?;
    Ok(ServiceProjection::of(&record).into_response())
}

/// `GET /api/services`: every service keyed by id, in registration order,
/// plus the summary.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    // Copy under the lock, serialize outside it: ingest is never held up by
    // a large listing being written out.
    let now = state.core.now();
    let (records, deadlines, counts, policy) = state.core.read(|registry| {
        let records: Vec<_> = registry.services().cloned().collect();
        let deadlines: Vec<_> = records
            .iter()
            .map(|r| registry.deadline_of(&r.id))
            .collect();
        (
            records,
            deadlines,
            registry.status_counts(),
            *registry.policy(),
        )
    });
    Ok(crate::api::stream::json_stream(move |out| {
        let listing = Listing {
            records: &records,
            deadlines: &deadlines,
            policy: &policy,
            now,
        };
        let summary = Summary::of(records.len(), counts);
        serde_json::to_writer(
            out,
            &ListBody {
                services: listing,
                summary,
            },
        )
        .map_err(std::io::Error::other)
    }))
}

/// The body of `GET /api/services`.
#[derive(serde::Serialize)]
struct ListBody<'a> {
    services: Listing<'a>,
    summary: Summary,
}

/// The `services` object of the listing, written straight to the output
/// (no intermediate JSON tree: 100,000 services stay cheap to list).
struct Listing<'a> {
    records: &'a [crate::core::ServiceRecord],
    deadlines: &'a [Option<chrono::DateTime<chrono::Utc>>],
    policy: &'a crate::core::StalePolicy,
    now: chrono::DateTime<chrono::Utc>,
}

impl serde::Serialize for Listing<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.records.len()))?;
        for (record, stale_at) in self.records.iter().zip(self.deadlines) {
            map.serialize_entry(
                &record.id,
                &ServiceListing::of(record, self.policy, *stale_at, self.now),
            )?;
        }
        map.end()
    }
}

/// Longest pause accepted: 90 days.
const MAX_PAUSE_SECS: f64 = 90.0 * 24.0 * 3600.0;

/// The full record of one service, as the listing shows it.
fn listing_reply(state: &AppState, record: &crate::core::ServiceRecord) -> Response {
    let (stale_at, policy) = state
        .core
        .read(|registry| (registry.deadline_of(&record.id), *registry.policy()));
    Json(ServiceListing::of(
        record,
        &policy,
        stale_at,
        state.core.now(),
    ))
    .into_response()
}

/// `POST /api/services/{id}/pause`: maintenance. Body (optional):
/// `{"until": "<RFC 3339>"}` or `{"for_seconds": n}`; none pauses until
/// resumed. 200 with the full record.
pub async fn pause(
    State(state): State<AppState>,
    Path(service_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut fields = Fields::of(&body, false)?;
    let until = fields.optional_datetime("until");
    let for_seconds = fields.optional_seconds("for_seconds", MAX_PAUSE_SECS);
    let now = state.core.now();
    if until.is_some() && for_seconds.is_some() {
        fields.refuse("for_seconds", "give until or for_seconds, not both");
    }
    if until.is_some_and(|until| until <= now) {
        fields.refuse("until", "until is not in the future");
    }
    fields.finish()?;
    let until =
        until.or_else(|| for_seconds.map(|secs| now + crate::core::staleness::seconds(secs)));
    let record = state.core.pause(&service_id, until).await?;
    Ok(listing_reply(&state, &record))
}

/// `POST /api/services/{id}/resume`: ends a pause; the service gets one
/// fresh threshold from now. 200 with the full record.
pub async fn resume(
    State(state): State<AppState>,
    Path(service_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.core.resume(&service_id).await?;
    Ok(listing_reply(&state, &record))
}

/// `DELETE /api/services/{id}`: 200 `{"service_id": …, "deleted": true}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(service_id): Path<String>,
) -> Result<Response, ApiError> {
    state.core.remove_service(&service_id).await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "service_id": service_id, "deleted": true })),
    )
        .into_response())
}

/// Query of the history endpoint, kept as strings to validate like FastAPI.
#[derive(Debug, serde::Deserialize)]
pub struct HistoryParams {
    limit: Option<String>,
    since: Option<String>,
}

fn query_error(kind: &'static str, field: &str, msg: &str, input: &str) -> ValidationItem {
    ValidationItem {
        kind,
        loc: vec![json!("query"), json!(field)],
        msg: msg.to_string(),
        input: json!(input),
        ctx: None,
    }
}

/// `GET /api/services/{id}/heartbeats?limit=&since=`: stored history, newest first.
pub async fn history(
    State(state): State<AppState>,
    Path(service_id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let limit = match params.limit.as_deref() {
        None => HISTORY_DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (1..=HISTORY_MAX_LIMIT as i64).contains(&n) => n as usize,
            Ok(_) => {
                errors.push(query_error(
                    "less_than_equal",
                    "limit",
                    &format!("Input should be between 1 and {HISTORY_MAX_LIMIT}"),
                    text,
                ));
                0
            }
            Err(_) => {
                errors.push(query_error(
                    "int_parsing",
                    "limit",
                    "Input should be a valid integer, unable to parse string as an integer",
                    text,
                ));
                0
            }
        },
    };
    let since = match params.since.as_deref() {
        None => None,
        Some(text) => match chrono::DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => Some(at.with_timezone(&chrono::Utc)),
            Err(_) => {
                errors.push(query_error(
                    "datetime_parsing",
                    "since",
                    "Input should be a valid datetime (RFC 3339, e.g. 2026-11-28T12:00:00Z)",
                    text,
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if state.core.service(&service_id).is_none() {
        return Err(ApiError::NotFound(format!(
            "Service not found: {service_id}"
        )));
    }
    let heartbeats = state
        .store
        .history(&service_id, HistoryQuery { limit, since })
        .await?;
    Ok(Json(json!({ "service_id": service_id, "heartbeats": heartbeats })).into_response())
}
