//! What the core publishes. The API's event stream, the notifier and the TUI
//! subscribe; events carry a small summary, subscribers that need the whole
//! record ask the core for it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alerts::{Alert, AlertChange};
use super::deliveries::Delivery;
use super::model::{
    wire_time, HistoryEvent, Pause, ProgressTask, ServiceRecord, SharedMetadata, Status,
};

/// The parts of a service record that change with heartbeats.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ServiceSummary {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub message: Option<String>,
    pub status_message: Option<String>,
    #[serde(with = "wire_time::option")]
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub metadata: SharedMetadata,
}

impl ServiceSummary {
    pub fn of(record: &ServiceRecord) -> Self {
        ServiceSummary {
            id: record.id.clone(),
            name: record.name.clone(),
            status: record.status,
            message: record.message.clone(),
            status_message: record.status_message.clone(),
            last_heartbeat: record.last_heartbeat,
            metadata: record.metadata.clone(),
        }
    }
}

/// Why a status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeCause {
    /// The service reported the new status in a heartbeat.
    Heartbeat,
    /// The monitor found no heartbeat before the deadline.
    Deadline,
}

/// One thing that happened in the core.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CoreEvent {
    /// A service was registered (or re-registered, which starts it afresh).
    ServiceRegistered { service: ServiceSummary },
    /// A heartbeat arrived (whether or not it changed the status).
    Heartbeat {
        service: ServiceSummary,
        event: HistoryEvent,
    },
    /// A service's status changed.
    StatusChanged {
        service: ServiceSummary,
        from: Status,
        to: Status,
        cause: ChangeCause,
        #[serde(with = "wire_time")]
        at: DateTime<Utc>,
    },
    /// A service was paused (`pause` set) or resumed (`pause` null).
    PauseChanged {
        service: ServiceSummary,
        pause: Option<Pause>,
    },
    /// An alert opened, changed, was (un)acknowledged, re-opened or resolved.
    AlertChanged { change: AlertChange, alert: Alert },
    /// A notification was queued for a channel (it is already stored).
    DeliveryQueued { delivery: Box<Delivery> },
    /// A notification channel was added or changed.
    ChannelChanged { channel_id: String },
    /// A notification channel was deleted.
    ChannelRemoved { channel_id: String },
    /// A progress task was created, advanced or finished.
    ProgressChanged { task: ProgressTask },
    /// A service was deleted (its tasks with it).
    ServiceRemoved { id: String },
    /// A progress task was deleted.
    TaskRemoved { task_id: String, service_id: String },
}
