//! `/api/webhooks…`: notification channels (Discord and generic JSON
//! webhooks). URLs carry secrets: every answer shows them redacted.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::api::body::{Fields, JsonBody};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::core::channels::{normalise_url, redact_url};
use crate::core::model::wire_time;
use crate::core::notifications::Level;
use crate::core::{Channel, ChannelKind, ChannelSource};

/// A channel as the API shows it.
#[derive(Debug, Serialize)]
pub struct ChannelView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: ChannelKind,
    /// Redacted: the token and other secret parts are `****`.
    pub url: String,
    pub levels: &'a BTreeSet<Level>,
    pub services: &'a BTreeSet<String>,
    pub enabled: bool,
    pub source: ChannelSource,
    pub broken: &'a Option<String>,
    #[serde(with = "wire_time")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(with = "wire_time")]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The most recently attempted delivery (listing and get-one only):
    /// the channel's health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<LastDelivery>,
}

/// A summary of a channel's newest delivery.
#[derive(Debug, Serialize)]
pub struct LastDelivery {
    pub id: String,
    pub state: crate::core::DeliveryState,
    /// When its last attempt was made (its creation, before any attempt).
    #[serde(with = "wire_time")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

impl LastDelivery {
    fn of(delivery: &crate::core::Delivery) -> Self {
        let attempt = delivery.attempts.last();
        LastDelivery {
            id: delivery.id.clone(),
            state: delivery.state,
            at: attempt.map_or(delivery.created_at, |attempt| attempt.at),
            http_status: attempt.and_then(|attempt| attempt.status),
            error: attempt.and_then(|attempt| attempt.error.clone()),
        }
    }
}

/// The channel's most recently attempted delivery (else its newest), if
/// the store can tell.
async fn last_delivery(state: &AppState, channel_id: &str) -> Option<LastDelivery> {
    match state
        .store
        .deliveries(channel_id, crate::core::deliveries::HEALTH_WINDOW)
        .await
    {
        Ok(deliveries) => {
            crate::core::deliveries::latest_activity(&deliveries).map(LastDelivery::of)
        }
        Err(error) => {
            tracing::warn!(%error, channel = channel_id, "cannot read the delivery log");
            None
        }
    }
}

impl<'a> ChannelView<'a> {
    pub fn of(channel: &'a Channel) -> Self {
        ChannelView {
            id: &channel.id,
            name: &channel.name,
            kind: channel.kind,
            url: redact_url(&channel.url),
            levels: &channel.levels,
            services: &channel.services,
            enabled: channel.enabled,
            source: channel.source,
            broken: &channel.broken,
            created_at: channel.created_at,
            updated_at: channel.updated_at,
            last_delivery: None,
        }
    }
}

/// The fields a create or update may carry, validated.
struct ChannelFields {
    name: Option<String>,
    kind: Option<ChannelKind>,
    url: Option<String>,
    levels: Option<BTreeSet<Level>>,
    services: Option<BTreeSet<String>>,
    enabled: Option<bool>,
}

fn read_fields(
    body: &Option<serde_json::Value>,
    creating: bool,
    current_kind: Option<ChannelKind>,
) -> Result<ChannelFields, ApiError> {
    let mut fields = Fields::of(body, creating)?;
    let name = fields.optional_string("name", 1, 128);
    let kind_text = fields.optional_string("kind", 1, 16);
    let url_text = if creating {
        Some(fields.required_string("url", 1, 2048))
    } else {
        fields.optional_string("url", 1, 2048)
    };
    let levels = fields.optional_string_list("levels", 4, 16);
    let services = fields.optional_string_list("services", 1000, 256);
    let enabled = fields.optional_bool("enabled");
    let kind = match kind_text.as_deref() {
        None => None,
        Some(text) => match text.parse::<ChannelKind>() {
            Ok(kind) => Some(kind),
            Err(reason) => {
                fields.refuse("kind", &reason);
                None
            }
        },
    };
    // Without a kind, a Discord URL makes a Discord channel.
    let effective_kind = kind
        .or(current_kind)
        .unwrap_or_else(|| crate::core::channels::guess_kind(url_text.as_deref().unwrap_or("")));
    let url = match url_text.as_deref().filter(|u| !u.is_empty()) {
        None => None,
        Some(text) => match normalise_url(effective_kind, text) {
            Ok(url) => Some(url),
            Err(reason) => {
                fields.refuse("url", &reason.to_string());
                None
            }
        },
    };
    let levels = match levels {
        None => None,
        Some(names) => {
            let parsed: Result<BTreeSet<Level>, String> =
                names.iter().map(|n| n.parse::<Level>()).collect();
            match parsed {
                Ok(levels) => Some(levels),
                Err(reason) => {
                    fields.refuse("levels", &reason);
                    None
                }
            }
        }
    };
    fields.finish()?;
    Ok(ChannelFields {
        name,
        kind: kind.or(Some(effective_kind)),
        url,
        levels,
        services: services.map(|list| list.into_iter().collect()),
        enabled,
    })
}

/// `GET /api/webhooks`: `{"total": n, "webhooks": […]}`.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let channels: Vec<Channel> = state
        .core
        .read(|registry| registry.channels().cloned().collect());
    let mut views: Vec<ChannelView> = channels.iter().map(ChannelView::of).collect();
    for view in &mut views {
        view.last_delivery = last_delivery(&state, view.id).await;
    }
    Ok(Json(json!({ "total": views.len(), "webhooks": views })).into_response())
}

/// `POST /api/webhooks` with `{"url", "kind"?, "name"?, "levels"?, "services"?, "enabled"?}`: 201.
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let fields = read_fields(&body, true, None)?;
    let now = state.core.now();
    let kind = fields.kind.unwrap_or(ChannelKind::Webhook);
    let url = fields
        .url
        .ok_or_else(|| ApiError::Internal("validated create without url".into()))?;
    let channel = Channel {
        id: uuid::Uuid::new_v4().to_string(),
        name: fields.name.unwrap_or_else(|| redact_url(&url)),
        kind,
        url,
        levels: fields.levels.unwrap_or_default(),
        services: fields.services.unwrap_or_default(),
        enabled: fields.enabled.unwrap_or(true),
        source: ChannelSource::Api,
        broken: None,
        created_at: now,
        updated_at: now,
    };
    let channel = state.core.add_channel(channel).await?;
    Ok((StatusCode::CREATED, Json(ChannelView::of(&channel))).into_response())
}

/// `GET /api/webhooks/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let channel = state
        .core
        .channel(&id)
        .ok_or_else(|| ApiError::NotFound(format!("Webhook not found: {id}")))?;
    let mut view = ChannelView::of(&channel);
    view.last_delivery = last_delivery(&state, &id).await;
    Ok(Json(view).into_response())
}

/// `PUT /api/webhooks/{id}`: changes the fields given. A new URL or
/// `"enabled": true` clears a broken mark. 409 for the environment's channel.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let current_kind = state.core.channel(&id).map(|c| c.kind);
    let fields = read_fields(&body, false, current_kind)?;
    let channel = state
        .core
        .update_channel(&id, |mut channel| {
            if let Some(name) = fields.name {
                channel.name = name;
            }
            if let Some(kind) = fields.kind {
                channel.kind = kind;
            }
            if let Some(url) = fields.url {
                channel.url = url;
                channel.broken = None;
            }
            if let Some(levels) = fields.levels {
                channel.levels = levels;
            }
            if let Some(services) = fields.services {
                channel.services = services;
            }
            if let Some(enabled) = fields.enabled {
                channel.enabled = enabled;
                if enabled {
                    channel.broken = None;
                }
            }
            channel
        })
        .await?;
    Ok(Json(ChannelView::of(&channel)).into_response())
}

/// `POST /api/webhooks/{id}/test`: queues a test notification for this
/// channel (whatever its filters): 202 `{"delivery_id": …}`; the delivery
/// log shows how it went.
pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let delivery = state.core.queue_test(&id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "webhook_id": id, "delivery_id": delivery.id })),
    )
        .into_response())
}

/// Query of the delivery log.
#[derive(Debug, serde::Deserialize)]
pub struct LogParams {
    limit: Option<usize>,
}

/// `GET /api/webhooks/{id}/deliveries?limit=`: the delivery log, newest
/// first, with every attempt (status code, error, latency).
pub async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<Response, ApiError> {
    if state.core.channel(&id).is_none() {
        return Err(ApiError::NotFound(format!("Webhook not found: {id}")));
    }
    let limit = params.limit.unwrap_or(50).clamp(1, 1000);
    let deliveries = state.store.deliveries(&id, limit).await?;
    Ok(
        Json(json!({ "webhook_id": id, "total": deliveries.len(), "deliveries": deliveries }))
            .into_response(),
    )
}

/// `DELETE /api/webhooks/{id}`: 200 `{"id": …, "deleted": true}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.core.remove_channel(&id).await?;
    Ok(Json(json!({ "id": id, "deleted": true })).into_response())
}
