//! What the server answers, as Rust types. Fields the original server may
//! leave out have defaults, and timestamps are read leniently (RFC 3339,
//! or the original's naive UTC timestamps).

use chrono::{DateTime, NaiveDateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::core::Status;

/// RFC 3339, or a timestamp without an offset taken as UTC.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

fn lenient_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    Ok(text.as_deref().and_then(parse_time))
}

/// One event of a service's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub timestamp: Option<DateTime<Utc>>,
    pub status: Status,
    #[serde(default)]
    pub message: Option<String>,
}

/// A service: the projection `GET /api/services/{id}` and heartbeats
/// answer, or a record of the listing (which has a few more fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub status: Status,
    /// The last heartbeat's message.
    #[serde(default)]
    pub message: Option<String>,
    /// The message the listing shows (heartbeat message, `Status updated
    /// to …`, or the stale text).
    #[serde(default)]
    pub status_message: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub last_heartbeat: Option<DateTime<Utc>>,
    #[serde(default)]
    pub events: Vec<Event>,
    /// In maintenance (laneswap's listing only).
    #[serde(default)]
    pub paused: bool,
    /// When it goes stale without another heartbeat (laneswap's listing).
    #[serde(default, deserialize_with = "lenient_time")]
    pub stale_at: Option<DateTime<Utc>>,
}

/// `summary` of the listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Summary {
    pub total: usize,
    #[serde(default)]
    pub status_counts: IndexMap<String, usize>,
}

/// `GET /api/services`: every service keyed by id, in registration order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServiceList {
    pub services: IndexMap<String, Service>,
    #[serde(default)]
    pub summary: Summary,
}

/// A progress task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    pub service_id: String,
    pub task_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub total_steps: u64,
    pub current_step: u64,
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub percent_complete: f64,
    #[serde(default)]
    pub rate_per_second: Option<f64>,
    #[serde(default)]
    pub eta_seconds: Option<f64>,
    #[serde(default)]
    pub stalled: bool,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub completed_at: Option<DateTime<Utc>>,
}

/// `GET /api/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskList {
    pub total: usize,
    pub tasks: Vec<Task>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_original_servers_records_read() {
        let list: ServiceList = serde_json::from_value(json!({
            "services": {"a": {"id": "a", "name": "svc", "status": "busy",
                "created_at": "2026-11-28T12:35:27.475081+00:00",
                "last_heartbeat": "2026-11-28T12:40:49.144000",
                "last_message": null, "metadata": {"k": 1},
                "events": [{"type": "heartbeat", "timestamp": "2026-11-28T12:40:49.144000Z", "status": "busy", "message": "m"}],
                "status_message": "Status updated to busy", "message": null, "timestamp": null}},
            "summary": {"total": 1, "status_counts": {"busy": 1}}
        }))
        .unwrap();
        let service = &list.services["a"];
        assert_eq!(service.status, Status::Busy);
        assert!(service.last_heartbeat.is_some(), "naive time read as UTC");
        assert_eq!(service.events.len(), 1);
        assert!(!service.paused);
        assert_eq!(list.summary.total, 1);
    }
}
