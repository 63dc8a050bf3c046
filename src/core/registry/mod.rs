//! The in-memory registry: services in registration order, progress tasks,
//! and an index of stale deadlines so the monitor finds the next one in
//! O(log n). Every operation is synchronous and pure apart from `self`: it
//! returns the [`Change`]s to persist and the [`CoreEvent`]s to publish.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use super::alerts::{Alert, AlertBook, AlertChange, AlertError, AlertPolicy};
use super::channels::Channel;
use super::events::{ChangeCause, CoreEvent, ServiceSummary};
use super::journal::{Change, ServiceState, Snapshot};
use super::model::{
    EventKind, HistoryEvent, Metadata, Pause, ProgressTask, ServiceRecord, SharedMetadata, Status,
};
use super::staleness::{self, StalePolicy};

mod absorb;
mod channels;
mod tasks;
#[cfg(test)]
mod tests;

/// What an operation did: changes to persist, events to publish.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub events: Vec<CoreEvent>,
}

/// A registration request, already validated.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub service_id: Option<String>,
    pub service_name: String,
    pub metadata: Metadata,
    pub stale_threshold: Option<f64>,
}

/// A heartbeat, already validated.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub status: Status,
    pub message: Option<String>,
    pub metadata: Option<Metadata>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            status: Status::Healthy,
            message: None,
            metadata: None,
        }
    }
}

/// A new progress task, already validated.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub service_id: String,
    pub task_name: String,
    pub total_steps: u64,
    pub description: Option<String>,
    pub metadata: Metadata,
}

/// A progress report on an existing task.
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    pub current_step: Option<u64>,
    pub status: Option<String>,
    pub message: Option<String>,
    pub metadata: Option<Metadata>,
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("Service not found: {0}")]
    ServiceNotFound(String),
    #[error("Task not found: {0}")]
    TaskNotFound(String),
    #[error(transparent)]
    Alert(#[from] AlertError),
    #[error("Webhook not found: {0}")]
    ChannelNotFound(String),
    #[error("Webhook {0} is defined by the environment or the config file; change it there")]
    ChannelReadOnly(String),
}

#[derive(Debug)]
struct Entry {
    record: ServiceRecord,
    /// The deadline currently in the index, if any.
    deadline: Option<DateTime<Utc>>,
    /// Restart grace start, for services restored from the store.
    grace_from: Option<DateTime<Utc>>,
}

/// Status counts in wire order, all seven present.
pub type StatusCounts = [(Status, usize); 7];

/// The registry itself.
#[derive(Debug, Default)]
pub struct Registry {
    services: IndexMap<String, Entry>,
    deadlines: BTreeSet<(DateTime<Utc>, String)>,
    tasks: IndexMap<String, ProgressTask>,
    alerts: AlertBook,
    channels: IndexMap<String, Channel>,
    policy: StalePolicy,
}

impl Registry {
    pub fn new(policy: StalePolicy) -> Self {
        Registry {
            policy,
            ..Registry::default()
        }
    }

    /// Rebuilds the registry from a snapshot. Every restored service gets a
    /// fresh threshold counted from `now` before it can go stale.
    pub fn restore(
        policy: StalePolicy,
        alert_policy: AlertPolicy,
        snapshot: Snapshot,
        now: DateTime<Utc>,
    ) -> Self {
        let mut registry = Registry::new(policy);
        registry.alerts = AlertBook::new(alert_policy, snapshot.alerts);
        for channel in snapshot.channels {
            registry.channels.insert(channel.id.clone(), channel);
        }
        for record in snapshot.services {
            let id = record.id.clone();
            registry.services.insert(
                id.clone(),
                Entry {
                    record,
                    deadline: None,
                    grace_from: Some(now),
                },
            );
            registry.reindex(&id);
        }
        for task in snapshot.tasks {
            registry.tasks.insert(task.task_id.clone(), task);
        }
        registry
    }

    pub fn policy(&self) -> &StalePolicy {
        &self.policy
    }

    pub fn get(&self, id: &str) -> Option<&ServiceRecord> {
        self.services.get(id).map(|entry| &entry.record)
    }

    /// Services in registration order.
    pub fn services(&self) -> impl Iterator<Item = &ServiceRecord> {
        self.services.values().map(|entry| &entry.record)
    }

    pub fn status_counts(&self) -> StatusCounts {
        let mut counts = Status::ALL.map(|status| (status, 0));
        for entry in self.services.values() {
            let slot = Status::ALL
                .iter()
                .position(|s| *s == entry.record.status)
                .unwrap_or(0);
            counts[slot].1 += 1;
        }
        counts
    }

    /// The earliest moment something is due: a stale deadline or the
    /// expiry of an alert acknowledgement.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let stale = self.deadlines.first().map(|(at, _)| *at);
        match (stale, self.alerts.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The alerts.
    pub fn alerts(&self) -> &AlertBook {
        &self.alerts
    }

    /// Feeds a status change to the alert book and records what it did.
    fn alert_on_status(&mut self, id: &str, now: DateTime<Utc>, outcome: &mut Outcome) {
        let Some(record) = self.services.get(id).map(|entry| &entry.record) else {
            return;
        };
        let paused = record.pause.is_some_and(|pause| pause.is_active(now));
        let (name, status) = (record.name.clone(), record.status);
        if let Some((change, alert)) = self.alerts.on_status(id, &name, status, paused, now) {
            outcome.changes.push(Change::PutAlert(alert.clone()));
            outcome
                .events
                .push(CoreEvent::AlertChanged { change, alert });
        }
        for forgotten in self.alerts.prune() {
            outcome.changes.push(Change::RemoveAlert { id: forgotten });
        }
    }

    /// Acknowledges an alert (`expires_at`: when it re-opens if still bad).
    pub fn acknowledge(
        &mut self,
        alert_id: &str,
        by: String,
        note: Option<String>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(Alert, Outcome), RegistryError> {
        let alert = self
            .alerts
            .acknowledge(alert_id, by, note, expires_at, now)?;
        Ok((
            alert.clone(),
            alert_outcome(AlertChange::Acknowledged, alert),
        ))
    }

    /// Takes an acknowledgement back.
    pub fn unacknowledge(
        &mut self,
        alert_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(Alert, Outcome), RegistryError> {
        let alert = self.alerts.unacknowledge(alert_id, now)?;
        Ok((
            alert.clone(),
            alert_outcome(AlertChange::Unacknowledged, alert),
        ))
    }

    /// When one service will go stale if nothing arrives.
    pub fn deadline_of(&self, id: &str) -> Option<DateTime<Utc>> {
        self.services.get(id).and_then(|entry| entry.deadline)
    }

    fn reindex(&mut self, id: &str) {
        let Some(entry) = self.services.get_mut(id) else {
            return;
        };
        if let Some(old) = entry.deadline.take() {
            self.deadlines.remove(&(old, id.to_string()));
        }
        let due = staleness::deadline(&entry.record, &self.policy, entry.grace_from);
        entry.deadline = due;
        if let Some(due) = due {
            self.deadlines.insert((due, id.to_string()));
        }
    }

    /// Registers a service (original semantics: a supplied id is used
    /// verbatim and an existing record with it is overwritten in place).
    pub fn register(&mut self, request: Registration, now: DateTime<Utc>) -> (String, Outcome) {
        let id = request
            .service_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let record = ServiceRecord {
            id: id.clone(),
            name: request.service_name,
            status: Status::Unknown,
            message: None,
            status_message: None,
            metadata: SharedMetadata::new(&request.metadata),
            created_at: now,
            last_heartbeat: None,
            updated_at: None,
            stale_threshold: request.stale_threshold,
            pause: None,
            events: Default::default(),
        };
        let mut outcome = Outcome {
            changes: vec![Change::PutService(ServiceState::of(&record))],
            events: vec![CoreEvent::ServiceRegistered {
                service: ServiceSummary::of(&record),
            }],
        };
        let overwritten = self.services.contains_key(&id);
        // IndexMap::insert keeps the position of an existing key.
        self.services.insert(
            id.clone(),
            Entry {
                record,
                deadline: self.services.get(&id).and_then(|e| e.deadline),
                grace_from: None,
            },
        );
        self.reindex(&id);
        if overwritten {
            // Starting afresh (unknown) ends a bad spell of the old record.
            self.alert_on_status(&id, now, &mut outcome);
        }
        (id, outcome)
    }

    /// Applies a heartbeat (wire-api §1.4 steps 2–7).
    pub fn heartbeat(
        &mut self,
        id: &str,
        heartbeat: Heartbeat,
        now: DateTime<Utc>,
    ) -> Result<Outcome, RegistryError> {
        let entry = self
            .services
            .get_mut(id)
            .ok_or_else(|| RegistryError::ServiceNotFound(id.to_string()))?;
        let record = &mut entry.record;
        let previous = record.status;
        let heartbeat_status = heartbeat.status;
        let status_message = heartbeat
            .message
            .clone()
            .unwrap_or_else(|| format!("Status updated to {}", heartbeat.status));
        record.status = heartbeat.status;
        record.message = heartbeat.message;
        record.status_message = Some(status_message.clone());
        record.last_heartbeat = Some(now);
        record.updated_at = Some(now);
        if let Some(sent) = &heartbeat.metadata {
            record.metadata.merge(sent);
        }
        let inline = HistoryEvent {
            kind: EventKind::Heartbeat,
            timestamp: now,
            status: heartbeat.status,
            message: status_message,
            metadata: None,
        };
        record.events.push(&inline);
        let stored = HistoryEvent {
            metadata: heartbeat.metadata.filter(|m| !m.is_empty()),
            ..inline.clone()
        };
        let summary = ServiceSummary::of(record);
        let mut outcome = Outcome {
            changes: vec![Change::RecordEvent {
                state: ServiceState::of(record),
                event: stored,
            }],
            events: Vec::with_capacity(2),
        };
        if previous != heartbeat.status {
            outcome.events.push(CoreEvent::StatusChanged {
                service: summary.clone(),
                from: previous,
                to: heartbeat.status,
                cause: ChangeCause::Heartbeat,
                at: now,
            });
        }
        outcome.events.push(CoreEvent::Heartbeat {
            service: summary,
            event: inline,
        });
        // A heartbeat ends the restart grace: the normal threshold applies.
        entry.grace_from = None;
        self.reindex(id);
        if previous != heartbeat_status {
            self.alert_on_status(id, now, &mut outcome);
        }
        Ok(outcome)
    }

    /// Flags every service whose deadline is at or before `now` as stale.
    pub fn expire_due(&mut self, now: DateTime<Utc>) -> Outcome {
        self.expire(now, |_| true)
    }

    /// What is due at `now`: services past their deadline (with the silence
    /// that ran out) and expired acknowledgements, as claims.
    pub fn overdue(&self, now: DateTime<Utc>) -> Vec<crate::core::Claim> {
        self.deadlines
            .iter()
            .take_while(|(due, _)| *due <= now)
            .filter_map(|(_, id)| {
                let record = &self.services.get(id)?.record;
                Some(crate::core::Claim::Stale {
                    service_id: id.clone(),
                    silent_since: record.last_heartbeat.unwrap_or(record.created_at),
                })
            })
            .chain(
                self.alerts
                    .due_expiries(now)
                    .into_iter()
                    .map(|(alert_id, expired_at)| crate::core::Claim::Reopen {
                        alert_id,
                        expired_at,
                    }),
            )
            .collect()
    }

    /// Moves the deadline of services another node is flipping to `until`
    /// (their change arrives through the shared database; if it does not,
    /// this node claims again then).
    pub fn defer(&mut self, ids: &[String], until: DateTime<Utc>) {
        for id in ids {
            let Some(entry) = self.services.get_mut(id) else {
                continue;
            };
            if let Some(old) = entry.deadline.take() {
                self.deadlines.remove(&(old, id.clone()));
            }
            entry.deadline = Some(until);
            self.deadlines.insert((until, id.clone()));
        }
    }

    /// Flags the overdue services `granted` accepts as stale and re-opens
    /// the alerts (by id) whose acknowledgement expired that it accepts.
    pub fn expire(&mut self, now: DateTime<Utc>, granted: impl Fn(&str) -> bool) -> Outcome {
        let mut outcome = Outcome::default();
        let due_now: Vec<(DateTime<Utc>, String)> = self
            .deadlines
            .iter()
            .take_while(|(due, _)| *due <= now)
            .filter(|(_, id)| granted(id))
            .cloned()
            .collect();
        for (due, id) in due_now {
            self.deadlines.remove(&(due, id.clone()));
            let Some(entry) = self.services.get_mut(&id) else {
                continue;
            };
            entry.deadline = None;
            let record = &mut entry.record;
            let previous = record.status;
            let text = staleness::stale_message(self.policy.threshold_for(record));
            record.status = Status::Stale;
            record.status_message = Some(text.clone());
            let event = HistoryEvent {
                kind: EventKind::Stale,
                timestamp: due,
                status: Status::Stale,
                message: text,
                metadata: None,
            };
            record.events.push(&event);
            outcome.changes.push(Change::RecordEvent {
                state: ServiceState::of(record),
                event,
            });
            outcome.events.push(CoreEvent::StatusChanged {
                service: ServiceSummary::of(record),
                from: previous,
                to: Status::Stale,
                cause: ChangeCause::Deadline,
                at: now,
            });
            self.alert_on_status(&id, now, &mut outcome);
        }
        for alert in self.alerts.expire_acks_where(now, &granted) {
            outcome.changes.push(Change::PutAlert(alert.clone()));
            outcome.events.push(CoreEvent::AlertChanged {
                change: AlertChange::Reopened,
                alert,
            });
        }
        outcome
    }

    /// Pauses a service (maintenance) until `until`, or until resumed.
    pub fn pause(
        &mut self,
        id: &str,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, RegistryError> {
        let entry = self
            .services
            .get_mut(id)
            .ok_or_else(|| RegistryError::ServiceNotFound(id.to_string()))?;
        entry.record.pause = Some(Pause { since: now, until });
        let outcome = pause_outcome(&entry.record);
        self.reindex(id);
        Ok(outcome)
    }

    /// Ends a pause. The service gets a fresh threshold from now, as after
    /// a restart: it has not been expected to beat while paused.
    pub fn resume(&mut self, id: &str, now: DateTime<Utc>) -> Result<Outcome, RegistryError> {
        let entry = self
            .services
            .get_mut(id)
            .ok_or_else(|| RegistryError::ServiceNotFound(id.to_string()))?;
        entry.record.pause = None;
        entry.grace_from = Some(now);
        let outcome = pause_outcome(&entry.record);
        self.reindex(id);
        Ok(outcome)
    }

    /// Deletes a service and its tasks.
    pub fn remove(&mut self, id: &str) -> Result<Outcome, RegistryError> {
        let entry = self
            .services
            .shift_remove(id)
            .ok_or_else(|| RegistryError::ServiceNotFound(id.to_string()))?;
        if let Some(due) = entry.deadline {
            self.deadlines.remove(&(due, id.to_string()));
        }
        self.alerts.remove_service(id);
        let mut outcome = Outcome {
            changes: vec![Change::RemoveService {
                service_id: id.to_string(),
            }],
            events: Vec::new(),
        };
        let owned: Vec<String> = self
            .tasks
            .values()
            .filter(|task| task.service_id == id)
            .map(|task| task.task_id.clone())
            .collect();
        for task_id in owned {
            self.tasks.shift_remove(&task_id);
            outcome.events.push(CoreEvent::TaskRemoved {
                task_id,
                service_id: id.to_string(),
            });
        }
        outcome
            .events
            .push(CoreEvent::ServiceRemoved { id: id.to_string() });
        Ok(outcome)
    }
}

fn alert_outcome(change: AlertChange, alert: Alert) -> Outcome {
    Outcome {
        changes: vec![Change::PutAlert(alert.clone())],
        events: vec![CoreEvent::AlertChanged { change, alert }],
    }
}

fn pause_outcome(record: &ServiceRecord) -> Outcome {
    Outcome {
        changes: vec![Change::PutService(ServiceState::of(record))],
        events: vec![CoreEvent::PauseChanged {
            service: ServiceSummary::of(record),
            pause: record.pause,
        }],
    }
}
