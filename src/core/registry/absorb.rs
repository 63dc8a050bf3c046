//! Changes another server node made, read back from the shared database:
//! the registry takes them in (records, deadlines, alerts, channels,
//! tasks) without journaling them again and without queueing
//! notifications: the node that made a change already did both. What it
//! returns is for subscribers that only show state (the event stream, the
//! terminal UI).

use chrono::{DateTime, Utc};

use super::{Entry, Registry};
use crate::core::events::{ChangeCause, CoreEvent, ServiceSummary};
use crate::core::journal::{Change, ServiceState};
use crate::core::model::{EventKind, HistoryEvent, ServiceRecord};
use crate::core::AlertChange;

impl ServiceRecord {
    /// A record from a stored row and its newest inline events.
    pub fn from_state(state: ServiceState, events: Vec<HistoryEvent>) -> ServiceRecord {
        ServiceRecord {
            id: state.id,
            name: state.name,
            status: state.status,
            message: state.message,
            status_message: state.status_message,
            metadata: state.metadata,
            created_at: state.created_at,
            last_heartbeat: state.last_heartbeat,
            updated_at: state.updated_at,
            stale_threshold: state.stale_threshold,
            pause: state.pause,
            events: events.iter().collect(),
        }
    }
}

impl Registry {
    /// Takes in one change made by another node.
    pub fn absorb(&mut self, change: Change, now: DateTime<Utc>) -> Vec<CoreEvent> {
        match change {
            Change::PutService(state) => self.absorb_state(state, None, now),
            Change::RecordEvent { state, event } => self.absorb_state(state, Some(event), now),
            Change::RemoveService { service_id } => {
                if self.remove(&service_id).is_ok() {
                    self.tasks.retain(|_, task| task.service_id != service_id);
                    vec![CoreEvent::ServiceRemoved { id: service_id }]
                } else {
                    Vec::new()
                }
            }
            Change::PutAlert(alert) => {
                let alert = self.alerts.absorb(alert);
                vec![CoreEvent::AlertChanged {
                    change: AlertChange::Updated,
                    alert,
                }]
            }
            Change::RemoveAlert { id } => {
                self.alerts.forget(&id);
                Vec::new()
            }
            Change::PutChannel(channel) => {
                let channel_id = channel.id.clone();
                self.channels.insert(channel_id.clone(), channel);
                vec![CoreEvent::ChannelChanged { channel_id }]
            }
            Change::RemoveChannel { id } => {
                self.channels.shift_remove(&id);
                vec![CoreEvent::ChannelRemoved { channel_id: id }]
            }
            Change::PutTask(task) => {
                self.tasks.insert(task.task_id.clone(), task.clone());
                vec![CoreEvent::ProgressChanged { task }]
            }
            Change::RemoveTask { task_id } => match self.tasks.shift_remove(&task_id) {
                Some(task) => vec![CoreEvent::TaskRemoved {
                    task_id,
                    service_id: task.service_id,
                }],
                None => Vec::new(),
            },
            // Deliveries belong to the node that queued them.
            Change::PutDelivery(_) => Vec::new(),
        }
    }

    fn absorb_state(
        &mut self,
        state: ServiceState,
        event: Option<HistoryEvent>,
        _now: DateTime<Utc>,
    ) -> Vec<CoreEvent> {
        let id = state.id.clone();
        let previous = self.services.get(&id).map(|entry| entry.record.status);
        let fresh = match self.services.get_mut(&id) {
            Some(entry) if entry.record.created_at == state.created_at => {
                let events = std::mem::take(&mut entry.record.events);
                let mut record = ServiceRecord::from_state(state, Vec::new());
                record.events = events;
                entry.record = record;
                false
            }
            // New here, or registered again elsewhere (which starts afresh).
            _ => {
                let record = ServiceRecord::from_state(state, Vec::new());
                self.services.insert(
                    id.clone(),
                    Entry {
                        record,
                        deadline: None,
                        grace_from: None,
                    },
                );
                true
            }
        };
        let Some(entry) = self.services.get_mut(&id) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let summary = |record: &ServiceRecord| ServiceSummary::of(record);
        if fresh {
            events.push(CoreEvent::ServiceRegistered {
                service: summary(&entry.record),
            });
        }
        let status = entry.record.status;
        // A change can be read twice (the feed is re-read for a while); an
        // event not newer than the newest one kept is already there.
        let event = event.filter(|event| {
            entry
                .record
                .events
                .newest()
                .is_none_or(|newest| newest.timestamp < event.timestamp)
        });
        if let Some(event) = event {
            entry.record.events.push(&event);
            if event.kind == EventKind::Heartbeat {
                events.push(CoreEvent::Heartbeat {
                    service: summary(&entry.record),
                    event: event.clone(),
                });
            }
            if let Some(from) = previous.filter(|from| *from != status) {
                events.push(CoreEvent::StatusChanged {
                    service: summary(&entry.record),
                    from,
                    to: status,
                    cause: if event.kind == EventKind::Stale {
                        ChangeCause::Deadline
                    } else {
                        ChangeCause::Heartbeat
                    },
                    at: event.timestamp,
                });
            }
        }
        self.reindex(&id);
        events
    }
}
