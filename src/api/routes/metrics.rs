//! `GET /metrics`: the fleet in the Prometheus / OpenMetrics text format,
//! so an existing Prometheus and Alertmanager can watch laneswap and every
//! service it knows (per-service status and last heartbeat time).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::api::error::ApiError;
use crate::api::AppState;
use crate::core::AlertState;
use crate::storage::StoreHealth;

const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service_id: String,
    service_name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceStatusLabels {
    service_id: String,
    service_name: String,
    status: &'static str,
}

/// What one scrape reports, copied out of the core under its lock.
struct Sample {
    counts: crate::core::StatusCounts,
    paused: i64,
    alerts: [(AlertState, i64); 2],
    running_tasks: i64,
    services: Vec<ServiceSample>,
}

struct ServiceSample {
    id: String,
    name: String,
    status: &'static str,
    /// Seconds since the epoch of the last heartbeat (of registration
    /// when there was none yet).
    last_seen: f64,
}

fn take_sample(state: &AppState) -> Sample {
    let now = state.core.now();
    state.core.read(|registry| {
        let mut alerts = [(AlertState::Open, 0), (AlertState::Acknowledged, 0)];
        for alert in registry.alerts().iter() {
            for (state, count) in alerts.iter_mut() {
                if alert.state == *state {
                    *count += 1;
                }
            }
        }
        Sample {
            counts: registry.status_counts(),
            paused: registry
                .services()
                .filter(|r| r.pause.is_some_and(|p| p.is_active(now)))
                .count() as i64,
            alerts,
            running_tasks: registry
                .tasks()
                .filter(|task| task.completed_at.is_none())
                .count() as i64,
            services: registry
                .services()
                .map(|record| ServiceSample {
                    id: record.id.clone(),
                    name: record.name.clone(),
                    status: record.status.as_str(),
                    last_seen: record
                        .last_heartbeat
                        .unwrap_or(record.created_at)
                        .timestamp_micros() as f64
                        / 1e6,
                })
                .collect(),
        }
    })
}

fn encode(
    sample: Sample,
    heartbeats: u64,
    store_degraded: bool,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("laneswap");

    let services = Family::<StatusLabel, Gauge>::default();
    registry.register("services", "Services by current status", services.clone());
    for (status, count) in sample.counts {
        services
            .get_or_create(&StatusLabel {
                status: status.as_str(),
            })
            .set(count as i64);
    }
    let paused = Gauge::<i64>::default();
    paused.set(sample.paused);
    registry.register("services_paused", "Services in a maintenance pause", paused);

    let alerts = Family::<StateLabel, Gauge>::default();
    registry.register("alerts", "Active alerts by state", alerts.clone());
    for (state, count) in sample.alerts {
        alerts
            .get_or_create(&StateLabel {
                state: state.as_str(),
            })
            .set(count);
    }
    let tasks = Gauge::<i64>::default();
    tasks.set(sample.running_tasks);
    registry.register("tasks_running", "Progress tasks not completed yet", tasks);

    let received = Counter::<u64>::default();
    received.inc_by(heartbeats);
    registry.register(
        "heartbeats_received",
        "Heartbeats this server node accepted since it started",
        received,
    );
    let degraded = Gauge::<i64>::default();
    degraded.set(i64::from(store_degraded));
    registry.register(
        "store_degraded",
        "1 while the store cannot take writes and they wait locally",
        degraded,
    );

    let status = Family::<ServiceStatusLabels, Gauge>::default();
    registry.register(
        "service_status",
        "1 for each service, labelled with its current status",
        status.clone(),
    );
    let last_seen = Family::<ServiceLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    registry.register(
        "service_last_heartbeat_timestamp_seconds",
        "When each service last sent a heartbeat (its registration if it never did)",
        last_seen.clone(),
    );
    for service in sample.services {
        status
            .get_or_create(&ServiceStatusLabels {
                service_id: service.id.clone(),
                service_name: service.name.clone(),
                status: service.status,
            })
            .set(1);
        last_seen
            .get_or_create(&ServiceLabels {
                service_id: service.id,
                service_name: service.name,
            })
            .set(service.last_seen);
    }

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

/// `GET /metrics`: 200 in the OpenMetrics text format.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sample = take_sample(&state);
    let heartbeats = state.core.heartbeats_received();
    let degraded = matches!(state.store.health(), StoreHealth::Degraded { .. });
    // Encoding a large fleet takes a while: off the request threads.
    let text = tokio::task::spawn_blocking(move || encode(sample, heartbeats, degraded))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_OPENMETRICS),
    );
    Ok(response)
}
