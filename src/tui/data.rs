//! What the screens show, as plain data. A [`source`](super::source) fills
//! a [`Dataset`] from the embedded core or from a remote server; every
//! string in it has already been through [`clean`], so nothing that came
//! over the network can drive the terminal.

use chrono::{DateTime, Utc};

use crate::core::Status;

pub use crate::core::text::clean;

/// One service, as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub message: String,
    /// In maintenance (no stale flips, no alerts).
    pub paused: bool,
    /// Percent of its least advanced running task, if it has one.
    pub progress: Option<f64>,
}

/// One entry of a service's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub status: Status,
    pub message: String,
}

/// The selected service's detail (only that one is read in full).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceDetail {
    pub id: String,
    pub created_at: Option<DateTime<Utc>>,
    /// Flattened `key = value` pairs, in the record's order.
    pub metadata: Vec<(String, String)>,
    /// The newest events, oldest first.
    pub events: Vec<EventRow>,
    /// Seconds between consecutive heartbeats, oldest first: the rhythm.
    pub intervals: Vec<u64>,
    pub pause_until: Option<DateTime<Utc>>,
    /// When it goes stale without another heartbeat (known locally, and
    /// from servers that publish `stale_at`).
    pub stale_at: Option<DateTime<Utc>>,
}

/// One progress task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub status: String,
    pub current: u64,
    pub total: u64,
    pub percent: f64,
    pub rate_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub stalled: bool,
    pub finished: bool,
    pub message: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub struct AckRow {
    pub by: String,
    pub note: String,
    pub at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: String,
    pub service_id: String,
    pub service_name: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    pub status: Status,
    pub opened_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub ack: Option<AckRow>,
    pub reopened: u32,
}

impl AlertRow {
    pub fn is_active(&self) -> bool {
        self.state != "resolved"
    }
}

/// The newest delivery of a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    /// `pending`, `delivered`, `failed`, …
    pub state: String,
    pub at: Option<DateTime<Utc>>,
    /// HTTP status of the last attempt, if it got one.
    pub http_status: Option<u16>,
    pub error: String,
}

/// One notification channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRow {
    pub id: String,
    pub name: String,
    /// `discord` or `webhook`.
    pub kind: String,
    /// Redacted by the server: never the secret.
    pub url: String,
    pub levels: Vec<String>,
    pub services: Vec<String>,
    pub enabled: bool,
    /// `api`, `environment` or `file`.
    pub source: String,
    pub broken: Option<String>,
    pub last_delivery: Option<DeliveryRow>,
}

/// Everything the screens show, taken at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    pub services: Vec<ServiceRow>,
    /// The detail of the service the operator has selected.
    pub detail: Option<ServiceDetail>,
    pub tasks: Vec<TaskRow>,
    /// Newest first: the active ones and the most recent resolved ones.
    /// `None` when the server has no alerts API (the original server).
    pub alerts: Option<Vec<AlertRow>>,
    /// `None` when the server has no webhooks API.
    pub channels: Option<Vec<ChannelRow>>,
    /// `None` when the server has no progress API.
    pub has_progress: bool,
    /// Why the server's store is degraded (writes spooled), if it is.
    pub store_degraded: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
}

impl Dataset {
    /// Services per status, in the statuses' order.
    pub fn counts(&self) -> [(Status, usize); 7] {
        let mut counts = Status::ALL.map(|status| (status, 0));
        for service in &self.services {
            if let Some(slot) = counts
                .iter_mut()
                .find(|(status, _)| *status == service.status)
            {
                slot.1 += 1;
            }
        }
        counts
    }

    /// The active alert of a service, if any.
    pub fn active_alert(&self, service_id: &str) -> Option<&AlertRow> {
        self.alerts
            .as_ref()?
            .iter()
            .find(|alert| alert.service_id == service_id && alert.is_active())
    }

    /// Tasks of a service.
    pub fn tasks_of<'a>(&'a self, service_id: &'a str) -> impl Iterator<Item = &'a TaskRow> + 'a {
        self.tasks
            .iter()
            .filter(move |task| task.service_id == service_id)
    }
}

/// Seconds between consecutive times, oldest first.
pub fn intervals(times: &[DateTime<Utc>]) -> Vec<u64> {
    times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).num_seconds().max(0) as u64)
        .collect()
}

/// Percent of the least advanced unfinished task of each service.
pub fn progress_by_service(tasks: &[TaskRow]) -> std::collections::HashMap<&str, f64> {
    let mut least: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    for task in tasks.iter().filter(|task| !task.finished) {
        let entry = least
            .entry(task.service_id.as_str())
            .or_insert(task.percent);
        if task.percent < *entry {
            *entry = task.percent;
        }
    }
    least
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cover_every_status() {
        let row = |status| ServiceRow {
            id: String::new(),
            name: String::new(),
            status,
            last_heartbeat: None,
            message: String::new(),
            paused: false,
            progress: None,
        };
        let data = Dataset {
            services: vec![row(Status::Error), row(Status::Error), row(Status::Healthy)],
            ..Dataset::default()
        };
        let counts = data.counts();
        assert_eq!(counts.len(), 7);
        assert!(counts.contains(&(Status::Error, 2)));
        assert!(counts.contains(&(Status::Stale, 0)));
    }
}
