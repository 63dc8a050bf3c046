//! The heartbeat core: registry, deadlines, transitions and the event bus.
//! It imports no HTTP, terminal, database or webhook crate.
//!
//! ```text
//!  register ──> unknown ──heartbeat(s)──> s ──heartbeat(t)──> t
//!                  │                      │
//!                  └── deadline passes ───┴──> stale ──heartbeat(t)──> t
//! ```
//!
//! [`Core`] is a cheap clonable handle. Each operation locks the registry,
//! applies a pure transition, submits the resulting [`Change`]s to the
//! [`Journal`] (in order, before unlocking), publishes the [`CoreEvent`]s,
//! and returns only once the journal committed.

pub mod alerts;
pub mod channels;
pub mod clock;
pub mod deliveries;
pub mod events;
pub mod journal;
pub mod metadata;
pub mod model;
pub mod notifications;
pub mod registry;
pub mod staleness;
pub mod text;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

pub use alerts::{Ack, Alert, AlertChange, AlertError, AlertPolicy, AlertState};
pub use channels::{Channel, ChannelKind, ChannelSource};
pub use clock::{Clock, SystemClock, TokioClock};
pub use deliveries::{Attempt, Delivery, DeliveryState};
pub use events::{ChangeCause, CoreEvent, ServiceSummary};
pub use journal::{
    Change, Claim, ClaimAnswer, Commit, Journal, JournalError, NullJournal, ServiceState, Snapshot,
};
pub use model::{HistoryEvent, Metadata, ProgressTask, ServiceRecord, Status};
pub use registry::{
    Heartbeat, NewTask, Outcome, Registration, Registry, RegistryError, StatusCounts, TaskUpdate,
};
pub use staleness::StalePolicy;

/// A moment in time, as the core keeps it.
type Now = chrono::DateTime<chrono::Utc>;

/// How long a node waits before claiming again a stale flip another node
/// claimed (in case that node died before making it).
const CLAIM_RETRY: chrono::Duration = chrono::Duration::seconds(30);

/// How many events a slow subscriber may fall behind before it lags.
const EVENT_BUFFER: usize = 8192;

/// Errors of core operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Refused(#[from] RegistryError),
    #[error(transparent)]
    Storage(#[from] JournalError),
}

/// Settings the core needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreConfig {
    pub stale: StalePolicy,
    /// Which statuses open an alert.
    pub alerts: AlertPolicy,
    /// Seconds without a step change after which a running task is `stalled`.
    pub task_stall_after_secs: f64,
    /// Channels defined by the environment (not stored, not editable).
    pub environment_channels: Vec<Channel>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            stale: StalePolicy::default(),
            alerts: AlertPolicy::default(),
            task_stall_after_secs: 300.0,
            environment_channels: Vec::new(),
        }
    }
}

struct Inner {
    registry: Mutex<Registry>,
    journal: Arc<dyn Journal>,
    events: broadcast::Sender<CoreEvent>,
    /// Queued deliveries only, for the delivery worker: it then wakes for
    /// notifications, not for every heartbeat.
    deliveries: broadcast::Sender<Delivery>,
    /// Heartbeats accepted since start (for `/metrics`).
    heartbeats: std::sync::atomic::AtomicU64,
    clock: Arc<dyn Clock>,
    /// Wakes the monitor when a deadline earlier than the one it sleeps on appears.
    monitor_wake: Notify,
    config: CoreConfig,
}

/// The handle every other part of laneswap drives the core through.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Core {
    /// A core restored from `snapshot` (use `Snapshot::default()` for a fresh one).
    pub fn new(
        config: CoreConfig,
        snapshot: Snapshot,
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut registry = Registry::restore(config.stale, config.alerts.clone(), snapshot, {
            use chrono::SubsecRound;
            clock.now().trunc_subsecs(6)
        });
        for channel in &config.environment_channels {
            registry.define_channel(channel.clone());
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (deliveries, _) = broadcast::channel(EVENT_BUFFER);
        Core {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                journal,
                events,
                deliveries,
                heartbeats: Default::default(),
                clock,
                monitor_wake: Notify::new(),
                config,
            }),
        }
    }

    pub fn config(&self) -> &CoreConfig {
        &self.inner.config
    }

    /// Now, at the microsecond precision of the wire and the stores.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.inner.clock.now().trunc_subsecs(6)
    }

    /// Subscribes to core events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CoreEvent> {
        self.inner.events.subscribe()
    }

    /// Subscribes to queued deliveries from now on (they are also core events).
    pub fn subscribe_deliveries(&self) -> broadcast::Receiver<Delivery> {
        self.inner.deliveries.subscribe()
    }

    /// Reads the registry under its lock. Keep `read` short and free of I/O.
    pub fn read<T>(&self, read: impl FnOnce(&Registry) -> T) -> T {
        read(&self.lock())
    }

    /// One service, cloned.
    pub fn service(&self, id: &str) -> Option<ServiceRecord> {
        self.read(|registry| registry.get(id).cloned())
    }

    /// One task, cloned.
    pub fn task(&self, task_id: &str) -> Option<ProgressTask> {
        self.read(|registry| registry.task(task_id).cloned())
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the registry torn
        // (transitions are applied field by field on one record), so a
        // poisoned lock is taken over rather than propagated.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `operation` under the lock, submits its changes, then publishes
    /// its events; the returned commit resolves when they are durable.
    fn apply<T>(
        &self,
        operation: impl FnOnce(
            &mut Registry,
            chrono::DateTime<chrono::Utc>,
        ) -> Result<(T, Outcome), RegistryError>,
    ) -> Result<(T, Commit), CoreError> {
        let now = self.now();
        let mut registry = self.lock();
        let before = registry.next_deadline();
        let (value, mut outcome) = operation(&mut registry, now)?;
        registry.queue_deliveries(&mut outcome, now);
        let after = registry.next_deadline();
        let commit = self.inner.journal.submit(outcome.changes);
        drop(registry);
        if after.is_some() && (before.is_none() || after < before) {
            self.inner.monitor_wake.notify_one();
        }
        self.publish(outcome.events);
        Ok((value, commit))
    }

    /// Takes in changes another server node made (read back from the
    /// shared database). Nothing is journaled or notified again: the node
    /// that made them did both. Subscribers see what changed.
    pub fn absorb(&self, changes: Vec<Change>) {
        let now = self.now();
        let mut registry = self.lock();
        let mut events = Vec::new();
        for change in changes {
            events.extend(registry.absorb(change, now));
        }
        drop(registry);
        // Deadlines may have moved either way.
        self.inner.monitor_wake.notify_one();
        self.publish(events);
    }

    fn publish(&self, events: Vec<CoreEvent>) {
        if self.inner.deliveries.receiver_count() > 0 {
            for event in &events {
                if let CoreEvent::DeliveryQueued { delivery } = event {
                    let _ = self.inner.deliveries.send((**delivery).clone());
                }
            }
        }
        if self.inner.events.receiver_count() == 0 {
            return;
        }
        for event in events {
            // An error only means nobody is listening any more.
            let _ = self.inner.events.send(event);
        }
    }

    /// Applies `operation` and waits until its changes are durable.
    async fn perform<T>(
        &self,
        operation: impl FnOnce(&mut Registry, Now) -> Result<(T, Outcome), RegistryError>,
    ) -> Result<T, CoreError> {
        let (value, commit) = self.apply(operation)?;
        commit.wait().await?;
        Ok(value)
    }

    /// Applies a change to one service; returns the service as it is after.
    async fn change_service(
        &self,
        id: &str,
        change: impl FnOnce(&mut Registry, Now) -> Result<Outcome, RegistryError>,
    ) -> Result<ServiceRecord, CoreError> {
        self.perform(|registry, now| {
            let outcome = change(registry, now)?;
            let record = registry
                .get(id)
                .cloned()
                .ok_or_else(|| RegistryError::ServiceNotFound(id.to_string()))?;
            Ok((record, outcome))
        })
        .await
    }

    /// Registers a service; returns its id once durable.
    pub async fn register(&self, request: Registration) -> Result<String, CoreError> {
        self.perform(|registry, now| Ok(registry.register(request, now)))
            .await
    }

    /// Applies a heartbeat; returns the updated record once durable.
    pub async fn heartbeat(
        &self,
        id: &str,
        heartbeat: Heartbeat,
    ) -> Result<ServiceRecord, CoreError> {
        let record = self
            .change_service(id, |registry, now| registry.heartbeat(id, heartbeat, now))
            .await?;
        self.inner
            .heartbeats
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(record)
    }

    /// Heartbeats accepted (durable) since this core started.
    pub fn heartbeats_received(&self) -> u64 {
        self.inner
            .heartbeats
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Pauses a service until `until` (or until resumed); returns it.
    pub async fn pause(&self, id: &str, until: Option<Now>) -> Result<ServiceRecord, CoreError> {
        self.change_service(id, |registry, now| registry.pause(id, until, now))
            .await
    }

    /// Ends a service's pause; returns it.
    pub async fn resume(&self, id: &str) -> Result<ServiceRecord, CoreError> {
        self.change_service(id, |registry, now| registry.resume(id, now))
            .await
    }

    /// Deletes a service and its tasks.
    pub async fn remove_service(&self, id: &str) -> Result<(), CoreError> {
        self.perform(|registry, _| Ok(((), registry.remove(id)?)))
            .await
    }

    /// Adds a notification channel.
    pub async fn add_channel(&self, channel: Channel) -> Result<Channel, CoreError> {
        self.perform(|registry, _| Ok(registry.add_channel(channel)))
            .await
    }

    /// Changes a channel (`edit` gets the stored one, returns the new one).
    pub async fn update_channel(
        &self,
        id: &str,
        edit: impl FnOnce(Channel) -> Channel,
    ) -> Result<Channel, CoreError> {
        self.perform(|registry, now| registry.update_channel(id, edit, now))
            .await
    }

    /// Deletes a channel.
    pub async fn remove_channel(&self, id: &str) -> Result<(), CoreError> {
        self.perform(|registry, _| Ok(((), registry.remove_channel(id)?)))
            .await
    }

    /// Marks a channel broken (a 404 or 401 from its receiver): nothing
    /// more is sent to it until its URL changes or it is enabled again.
    pub async fn mark_channel_broken(
        &self,
        id: &str,
        reason: String,
    ) -> Result<Channel, CoreError> {
        self.perform(|registry, now| registry.mark_channel_broken(id, reason, now))
            .await
    }

    /// Queues a test notification for a channel; returns the delivery.
    pub async fn queue_test(&self, channel_id: &str) -> Result<Delivery, CoreError> {
        self.perform(|registry, now| registry.queue_test(channel_id, now))
            .await
    }

    /// One channel, cloned.
    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.read(|registry| registry.channels().find(|c| c.id == id).cloned())
    }

    /// One alert, cloned.
    pub fn alert(&self, alert_id: &str) -> Option<Alert> {
        self.read(|registry| registry.alerts().get(alert_id).cloned())
    }

    /// Acknowledges an alert; it re-opens at `expires_at` if still bad.
    pub async fn acknowledge(
        &self,
        alert_id: &str,
        by: String,
        note: Option<String>,
        expires_at: Option<Now>,
    ) -> Result<Alert, CoreError> {
        self.perform(|registry, now| registry.acknowledge(alert_id, by, note, expires_at, now))
            .await
    }

    /// Takes an acknowledgement back.
    pub async fn unacknowledge(&self, alert_id: &str) -> Result<Alert, CoreError> {
        self.perform(|registry, now| registry.unacknowledge(alert_id, now))
            .await
    }

    pub async fn start_task(&self, request: NewTask) -> Result<ProgressTask, CoreError> {
        self.perform(|registry, now| registry.start_task(request, now))
            .await
    }

    pub async fn update_task(
        &self,
        task_id: &str,
        update: TaskUpdate,
        finish: bool,
    ) -> Result<ProgressTask, CoreError> {
        self.perform(|registry, now| registry.update_task(task_id, update, finish, now))
            .await
    }

    pub async fn remove_task(&self, task_id: &str) -> Result<(), CoreError> {
        self.perform(|registry, _| Ok(((), registry.remove_task(task_id)?)))
            .await
    }

    /// Flags every overdue service stale now; returns how many flipped.
    pub fn expire_due(&self) -> usize {
        self.flip(|registry, now| registry.expire_due(now))
    }

    /// Applies stale flips (and alert re-opens) and persists them in the
    /// background; returns how many events they made.
    fn flip(&self, expire: impl FnOnce(&mut Registry, Now) -> Outcome) -> usize {
        let result = self.apply(|registry, now| {
            let outcome = expire(registry, now);
            Ok((outcome.events.len(), outcome))
        });
        match result {
            Ok((flipped, commit)) => {
                if flipped > 0 {
                    tokio::spawn(async move {
                        if let Err(error) = commit.wait().await {
                            tracing::error!(%error, "could not persist stale flips");
                        }
                    });
                }
                flipped
            }
            Err(error) => {
                tracing::error!(%error, "stale check failed");
                0
            }
        }
    }

    /// Flips what is due and this node may flip: each overdue service is
    /// claimed first (several nodes on one database claim the same flip;
    /// one gets it), the others are deferred.
    pub async fn expire_claimed(&self) -> usize {
        let now = self.now();
        let overdue = self.read(|registry| registry.overdue(now));
        let mut granted = std::collections::HashSet::new();
        let mut lost = Vec::new();
        for claim in overdue {
            let (id, stale) = match &claim {
                Claim::Stale { service_id, .. } => (service_id.clone(), true),
                Claim::Reopen { alert_id, .. } => (alert_id.clone(), false),
            };
            if self.inner.journal.claim(claim).await {
                granted.insert(id);
            } else if stale {
                lost.push(id);
            }
        }
        if !lost.is_empty() {
            tracing::debug!(count = lost.len(), "stale flips made by another node");
            self.lock().defer(&lost, now + CLAIM_RETRY);
        }
        self.flip(|registry, now| registry.expire(now, |id| granted.contains(id)))
    }

    /// The stale monitor: sleeps until the earliest deadline (or until woken
    /// by an earlier one), flips what is due, and repeats until `shutdown`.
    pub async fn run_monitor(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let flipped = self.expire_claimed().await;
            if flipped > 0 {
                tracing::info!(flipped, "services marked stale");
            }
            let now = self.inner.clock.now();
            let nap = match self.read(|registry| registry.next_deadline()) {
                Some(due) => (due - now).to_std().unwrap_or(Duration::ZERO),
                // Nothing can go stale: sleep until something registers.
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(nap) => {}
                _ = self.inner.monitor_wake.notified() => {}
                _ = &mut shutdown => break,
            }
        }
    }
}
