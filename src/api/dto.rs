//! Response shapes of the wire contract (wire-api.md §1, §3, §4.3).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::core::model::wire_time;
use crate::core::model::{EventLog, NewestEvents, Pause, EVENTS_IN_RECORD};
use crate::core::StalePolicy;
use crate::core::{ProgressTask, ServiceRecord, StatusCounts};

/// The `ServiceStatus` projection: `GET /api/services/{id}` and the heartbeat
/// response. Fields in the original order.
#[derive(Debug, Serialize)]
pub struct ServiceProjection<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub status: crate::core::Status,
    pub message: &'a Option<String>,
    pub metadata: &'a RawValue,
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "wire_time::option")]
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub events: NewestEvents<'a>,
}

impl ServiceProjection<'_> {
    /// The projection as a JSON response, written into a buffer sized once
    /// (a reply with 100 events is ~10 KB; growing a buffer to that size
    /// copies it several times).
    pub fn into_response(self) -> axum::response::Response {
        use axum::response::IntoResponse;
        let capacity = self.events.json_len() + 512 + self.name.len() + self.id.len();
        let mut body = Vec::with_capacity(capacity);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response(),
            Err(error) => crate::api::error::ApiError::Internal(format!(
                "reply serialization failed: {error}"
            ))
            .into_response(),
        }
    }
}

impl<'a> ServiceProjection<'a> {
    /// The projection with every inline event.
    pub fn of(record: &'a ServiceRecord) -> Self {
        Self::with_events(record, EVENTS_IN_RECORD)
    }

    /// The projection with the newest `events` inline events only.
    pub fn with_events(record: &'a ServiceRecord, events: usize) -> Self {
        ServiceProjection {
            id: &record.id,
            name: &record.name,
            status: record.status,
            message: &record.message,
            metadata: record.metadata.as_raw(),
            created_at: record.created_at,
            last_heartbeat: record.last_heartbeat,
            events: record.events.newest_n(events),
        }
    }
}

/// The full record as `GET /api/services` lists it: the original keys, always
/// all present, plus the stale settings that apply to the service.
#[derive(Debug, Serialize)]
pub struct ServiceListing<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub status: crate::core::Status,
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "wire_time::option")]
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// The original never updated this key; it now mirrors `message`.
    pub last_message: &'a Option<String>,
    pub metadata: &'a RawValue,
    pub events: &'a EventLog,
    pub status_message: &'a Option<String>,
    pub message: &'a Option<String>,
    #[serde(with = "wire_time::option")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Seconds of silence after which the service goes stale.
    pub stale_threshold: f64,
    /// When it goes stale if nothing arrives (null when it cannot).
    #[serde(with = "wire_time::option")]
    pub stale_at: Option<DateTime<Utc>>,
    /// In maintenance now: no stale flips.
    pub paused: bool,
    /// The pause as set (`{"since", "until"}`), also after it ended by itself.
    pub pause: Option<Pause>,
}

impl<'a> ServiceListing<'a> {
    pub fn of(
        record: &'a ServiceRecord,
        policy: &StalePolicy,
        stale_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        ServiceListing {
            id: &record.id,
            name: &record.name,
            status: record.status,
            created_at: record.created_at,
            last_heartbeat: record.last_heartbeat,
            last_message: &record.message,
            metadata: record.metadata.as_raw(),
            events: &record.events,
            status_message: &record.status_message,
            message: &record.message,
            updated_at: record.updated_at,
            stale_threshold: policy.threshold_for(record),
            stale_at,
            paused: record.pause.is_some_and(|pause| pause.is_active(now)),
            pause: record.pause,
        }
    }
}

/// `summary` of `GET /api/services`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub total: usize,
    pub status_counts: indexmap::IndexMap<&'static str, usize>,
}

impl Summary {
    pub fn of(total: usize, counts: StatusCounts) -> Self {
        Summary {
            total,
            status_counts: counts.iter().map(|(s, n)| (s.as_str(), *n)).collect(),
        }
    }
}

/// A progress task with its derived figures.
#[derive(Debug, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: ProgressTask,
    pub percent_complete: f64,
    /// Average steps per second so far (null before the first step).
    pub rate_per_second: Option<f64>,
    /// Seconds to completion at that rate (null when unknown or finished).
    pub eta_seconds: Option<f64>,
    /// Running, but the step has not advanced for the stall period.
    pub stalled: bool,
}

impl TaskView {
    pub fn of(task: ProgressTask, now: DateTime<Utc>, stall_after_secs: f64) -> Self {
        TaskView {
            percent_complete: (task.percent_complete() * 100.0).round() / 100.0,
            rate_per_second: task.rate_per_second(now),
            eta_seconds: task.eta_seconds(now),
            stalled: task.is_stalled(now, stall_after_secs),
            task,
        }
    }
}
