//! `GET /api/events`: the core's events as server-sent events, for remote
//! terminals and scripts. Each event is `event: <type>` with the event's
//! JSON as `data`. A client that falls too far behind gets
//! `event: resync` (`{"missed": n}`) and should reload the state it shows.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::api::AppState;
use crate::core::CoreEvent;

/// The SSE `event:` name of a core event (its `type`).
fn name(event: &CoreEvent) -> &'static str {
    match event {
        CoreEvent::ServiceRegistered { .. } => "service_registered",
        CoreEvent::Heartbeat { .. } => "heartbeat",
        CoreEvent::StatusChanged { .. } => "status_changed",
        CoreEvent::PauseChanged { .. } => "pause_changed",
        CoreEvent::AlertChanged { .. } => "alert_changed",
        CoreEvent::DeliveryQueued { .. } => "delivery_queued",
        CoreEvent::ChannelChanged { .. } => "channel_changed",
        CoreEvent::ChannelRemoved { .. } => "channel_removed",
        CoreEvent::ProgressChanged { .. } => "progress_changed",
        CoreEvent::ServiceRemoved { .. } => "service_removed",
        CoreEvent::TaskRemoved { .. } => "task_removed",
    }
}

/// `GET /api/events`.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.core.subscribe();
    let hello = Event::default().event("hello").data(
        json!({ "service": "LaneSwap API", "version": env!("CARGO_PKG_VERSION") }).to_string(),
    );
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => {
                let data = serde_json::to_string(&event).unwrap_or_else(|_| "{}".to_string());
                Event::default().event(name(&event)).data(data)
            }
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("resync")
                .data(json!({ "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(hello)]), events);
    let mut stopping = state.stopping.clone();
    let stream = futures_util::StreamExt::take_until(stream, async move {
        let _ = stopping.wait_for(|stopped| *stopped).await;
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
