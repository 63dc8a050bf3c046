//! The HTTP API (axum), wire-compatible with the original LaneSwap server:
//! exact status codes, JSON everywhere, FastAPI-shaped 422 bodies,
//! `{"detail": …}` errors, Starlette's CORS and trailing-slash redirects.
//!
//! [`router`] builds the app for tests (`oneshot`) and [`serve`] runs it on a
//! listener until a shutdown future resolves.

pub mod auth;
pub mod body;
pub mod cors;
pub mod dto;
pub mod error;
pub mod routes;
pub mod stream;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

pub use cors::CorsPolicy;

use crate::core::Core;
use crate::storage::Store;

/// Request limits and reply settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiOptions {
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// How many of the newest inline events a heartbeat reply carries. The
    /// original sent all (up to 100, about 10 KB per reply), and that stays
    /// the default; no original client reads them, so fleets that want
    /// smaller replies can lower it.
    pub heartbeat_reply_events: usize,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            max_body_bytes: 1024 * 1024,
            heartbeat_reply_events: crate::core::model::EVENTS_IN_RECORD,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub store: Arc<dyn Store>,
    pub options: ApiOptions,
    pub cors: Arc<CorsPolicy>,
    /// Who acknowledges, when a request does not say (and no token does).
    pub operator: Arc<str>,
    /// Bearer tokens; empty: the API is open, as the original's.
    pub tokens: Arc<auth::TokenBook>,
    /// Turns true when the server shuts down: long-lived responses (the
    /// event stream) end, so a graceful shutdown does not wait for them.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// Every route pattern, for the trailing-slash redirect (Starlette redirects
/// `/x/` to `/x` only when `/x` is a route).
const ROUTES: [&str; 21] = [
    "/api",
    "/api/health",
    "/metrics",
    "/api/services",
    "/api/services/{}",
    "/api/services/{}/heartbeat",
    "/api/services/{}/heartbeats",
    "/api/services/{}/pause",
    "/api/services/{}/resume",
    "/api/events",
    "/api/alerts",
    "/api/alerts/{}",
    "/api/alerts/{}/ack",
    "/api/alerts/{}/unack",
    "/api/webhooks",
    "/api/webhooks/{}",
    "/api/webhooks/{}/test",
    "/api/webhooks/{}/deliveries",
    "/api/progress",
    "/api/progress/{}",
    "/api/progress/{}/complete",
];

fn is_route(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().any(|pattern| {
        let parts: Vec<&str> = pattern.split('/').collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(p, s)| (*p == "{}" && !s.is_empty()) || p == s)
    })
}

/// The application router.
pub fn router(state: AppState) -> Router {
    use routes::{alerts, events, meta, metrics, progress, services, webhooks};
    Router::new()
        .route("/api", get(meta::info))
        .route("/api/health", get(meta::health))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/api/services",
            get(services::list).post(services::register),
        )
        .route(
            "/api/services/{service_id}",
            get(services::get_one).delete(services::delete),
        )
        .route(
            "/api/services/{service_id}/heartbeat",
            post(services::heartbeat),
        )
        .route(
            "/api/services/{service_id}/heartbeats",
            get(services::history),
        )
        .route("/api/services/{service_id}/pause", post(services::pause))
        .route("/api/services/{service_id}/resume", post(services::resume))
        .route("/api/events", get(events::stream))
        .route("/api/alerts", get(alerts::list))
        .route("/api/alerts/{alert_id}", get(alerts::get_one))
        .route("/api/alerts/{alert_id}/ack", post(alerts::acknowledge))
        .route("/api/alerts/{alert_id}/unack", post(alerts::unacknowledge))
        .route("/api/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/api/webhooks/{webhook_id}",
            get(webhooks::get_one)
                .put(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/api/webhooks/{webhook_id}/test", post(webhooks::test))
        .route(
            "/api/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/api/progress", get(progress::list).post(progress::start))
        .route(
            "/api/progress/{task_id}",
            get(progress::get_one)
                .put(progress::update)
                .delete(progress::delete),
        )
        .route("/api/progress/{task_id}/complete", put(progress::complete))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            state.tokens.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        .with_state(state)
}

/// Unknown paths: a 307 to the slash-less route if there is one, else 404.
async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        if is_route(trimmed) {
            let location = match request.uri().query() {
                Some(query) => format!("{trimmed}?{query}"),
                None => trimmed.to_string(),
            };
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(LOCATION, value);
            }
            return response;
        }
    }
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "detail": "Not Found" })),
    )
        .into_response()
}

/// Gives every error response a JSON `{"detail": …}` body (axum's own
/// 405s and extractor rejections are plain text), keeping its headers.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => "Not Found".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed".to_string(),
        StatusCode::INTERNAL_SERVER_ERROR => "Internal server error".to_string(),
        other => other.canonical_reason().unwrap_or("Error").to_string(),
    };
    let (mut parts, _) = response.into_parts();
    let body = serde_json::to_vec(&json!({ "detail": detail })).unwrap_or_default();
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes
/// the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_match_paths() {
        assert!(is_route("/api/services"));
        assert!(is_route("/api/services/abc/heartbeat"));
        assert!(!is_route("/api/services//heartbeat"));
        assert!(!is_route("/api/nothing"));
    }
}
