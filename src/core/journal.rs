//! The core's port to durable storage. The core describes every mutation as
//! a [`Change`] and submits the changes of one operation together, in the
//! order it applied them in memory; the storage layer commits them and
//! resolves the returned [`Commit`]. The core never waits on storage while
//! holding its lock, and answers a caller only once the commit resolved.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::alerts::Alert;
use super::channels::Channel;
use super::deliveries::Delivery;
use super::model::{
    wire_time, EventKind, HistoryEvent, Pause, ProgressTask, ServiceRecord, SharedMetadata, Status,
};

/// A service row without its inline events (events are stored as history).
/// Serialized as a document by the MongoDB backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub message: Option<String>,
    pub status_message: Option<String>,
    pub metadata: SharedMetadata,
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "wire_time::option", default)]
    pub last_heartbeat: Option<DateTime<Utc>>,
    #[serde(with = "wire_time::option", default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub stale_threshold: Option<f64>,
    pub pause: Option<Pause>,
}

impl ServiceState {
    pub fn of(record: &ServiceRecord) -> Self {
        ServiceState {
            id: record.id.clone(),
            name: record.name.clone(),
            status: record.status,
            message: record.message.clone(),
            status_message: record.status_message.clone(),
            metadata: record.metadata.clone(),
            created_at: record.created_at,
            last_heartbeat: record.last_heartbeat,
            updated_at: record.updated_at,
            stale_threshold: record.stale_threshold,
            pause: record.pause,
        }
    }
}

impl ServiceState {
    /// Re-applies an event to the state it followed: the inverse the stores
    /// rely on to keep service rows lazily (see [`Change::RecordEvent`]).
    /// `reported_message` is the message the heartbeat carried (None if it
    /// sent none); it is ignored for stale events.
    pub fn replay(&mut self, event: &HistoryEvent, reported_message: Option<String>) {
        match event.kind {
            EventKind::Heartbeat => {
                self.status = event.status;
                self.message = reported_message;
                self.status_message = Some(event.message.clone());
                self.last_heartbeat = Some(event.timestamp);
                self.updated_at = Some(event.timestamp);
                if let Some(sent) = &event.metadata {
                    self.metadata.merge(sent);
                }
            }
            EventKind::Stale => {
                self.status = Status::Stale;
                self.status_message = Some(event.message.clone());
            }
        }
    }
}

/// One durable mutation.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Change {
    /// Write a service's complete current state now (registration,
    /// re-registration, pause): insert or overwrite its row. An existing row
    /// keeps its position in the listing order.
    PutService(ServiceState),
    /// Something happened to a service (`event`: a heartbeat or a stale
    /// flip) and it is now in `state`. A backend must make `event` durable
    /// before it acknowledges; it may write `state` later, because replaying
    /// the events after the last written state ([`ServiceState::replay`],
    /// with `state.message` as the reported message of a heartbeat) rebuilds
    /// it exactly. That keeps one heartbeat to one small write.
    RecordEvent {
        state: ServiceState,
        event: HistoryEvent,
    },
    /// Delete a service, its history, its tasks and its alerts.
    RemoveService { service_id: String },
    /// Insert or overwrite an alert.
    PutAlert(Alert),
    /// Forget an alert (old resolved ones).
    RemoveAlert { id: String },
    /// Insert or overwrite a delivery (queued, attempted, finished).
    PutDelivery(Box<Delivery>),
    /// Insert or overwrite a notification channel.
    PutChannel(Channel),
    /// Delete a notification channel.
    RemoveChannel { id: String },
    /// Insert or overwrite a progress task.
    PutTask(ProgressTask),
    /// Delete a progress task.
    RemoveTask { task_id: String },
}

/// Why a commit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("storage is closed")]
    Closed,
    #[error("storage write failed: {0}")]
    Write(String),
}

/// The pending result of a submitted batch of changes.
#[derive(Debug)]
pub enum Commit {
    /// Already durable (or failed) when submitted.
    Done(Result<(), JournalError>),
    /// Resolved by the storage writer once the batch is committed.
    Pending(oneshot::Receiver<Result<(), JournalError>>),
}

impl Commit {
    /// A commit that resolves once `sender` is sent to.
    pub fn channel() -> (oneshot::Sender<Result<(), JournalError>>, Commit) {
        let (tx, rx) = oneshot::channel();
        (tx, Commit::Pending(rx))
    }

    /// Waits until the changes are durable.
    pub async fn wait(self) -> Result<(), JournalError> {
        match self {
            Commit::Done(result) => result,
            Commit::Pending(rx) => rx.await.unwrap_or(Err(JournalError::Closed)),
        }
    }
}

/// A transition several server nodes may see due at once; one of them
/// makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A service goes stale: the silence (since its last heartbeat, or its
    /// registration) that ran out.
    Stale {
        service_id: String,
        silent_since: DateTime<Utc>,
    },
    /// An acknowledgement expired while the service is still bad: the
    /// alert re-opens.
    Reopen {
        alert_id: String,
        expired_at: DateTime<Utc>,
    },
}

/// The answer to a [`Claim`], when it comes.
pub type ClaimAnswer = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;

/// Where the core sends its changes. `submit` must not block: it enqueues.
pub trait Journal: Send + Sync + 'static {
    fn submit(&self, changes: Vec<Change>) -> Commit;

    /// Whether this node makes the transition `claim` describes (true for
    /// storage no other node shares; a shared database answers yes to
    /// exactly one node).
    fn claim(&self, _claim: Claim) -> ClaimAnswer {
        Box::pin(std::future::ready(true))
    }
}

/// A journal that keeps nothing: for throw-away runs and pure core tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullJournal;

impl Journal for NullJournal {
    fn submit(&self, _changes: Vec<Change>) -> Commit {
        Commit::Done(Ok(()))
    }
}

/// Everything the core needs to resume after a restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Services in listing order, each with its newest inline events.
    pub services: Vec<ServiceRecord>,
    pub tasks: Vec<ProgressTask>,
    /// Alerts, oldest first.
    pub alerts: Vec<Alert>,
    /// Stored notification channels, oldest first.
    pub channels: Vec<Channel>,
}
