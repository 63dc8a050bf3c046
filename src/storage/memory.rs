//! The memory backend: keeps what it is given for the life of the process.
//! Used by tests and `--store memory:`; commits are immediate.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::Utc;
use indexmap::IndexMap;

use super::{HistoryQuery, Retention, Store, StoreError};
use crate::core::model::EVENTS_IN_RECORD;
use crate::core::{
    Alert, Change, Channel, Commit, Delivery, DeliveryState, HistoryEvent, Journal, ProgressTask,
    ServiceRecord, ServiceState, Snapshot,
};

#[derive(Default)]
struct Contents {
    services: IndexMap<String, ServiceState>,
    history: HashMap<String, VecDeque<HistoryEvent>>,
    tasks: IndexMap<String, ProgressTask>,
    alerts: IndexMap<String, Alert>,
    channels: IndexMap<String, Channel>,
    deliveries: IndexMap<String, Delivery>,
    closed: bool,
}

/// An in-process store.
pub struct MemoryStore {
    contents: Mutex<Contents>,
    retention: Retention,
}

impl MemoryStore {
    pub fn new(retention: Retention) -> Self {
        MemoryStore {
            contents: Mutex::new(Contents::default()),
            retention,
        }
    }

    fn contents(&self) -> std::sync::MutexGuard<'_, Contents> {
        self.contents.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Journal for MemoryStore {
    fn submit(&self, changes: Vec<Change>) -> Commit {
        let mut contents = self.contents();
        if contents.closed {
            return Commit::Done(Err(crate::core::JournalError::Closed));
        }
        for change in changes {
            match change {
                Change::PutService(state) => {
                    contents.services.insert(state.id.clone(), state);
                }
                Change::RecordEvent { state, event } => {
                    let events = contents.history.entry(state.id.clone()).or_default();
                    events.push_back(event);
                    let cap = self.retention.max_events_per_service as usize;
                    while cap > 0 && events.len() > cap {
                        events.pop_front();
                    }
                    contents.services.insert(state.id.clone(), state);
                }
                Change::RemoveService { service_id } => {
                    contents.services.shift_remove(&service_id);
                    contents.history.remove(&service_id);
                    contents
                        .tasks
                        .retain(|_, task| task.service_id != service_id);
                    contents
                        .alerts
                        .retain(|_, alert| alert.service_id != service_id);
                }
                Change::PutDelivery(delivery) => {
                    contents.deliveries.insert(delivery.id.clone(), *delivery);
                    let finished = contents
                        .deliveries
                        .values()
                        .filter(|d| d.state != DeliveryState::Pending)
                        .count();
                    if finished > super::FINISHED_DELIVERIES_KEPT {
                        if let Some(oldest) = contents
                            .deliveries
                            .values()
                            .find(|d| d.state != DeliveryState::Pending)
                            .map(|d| d.id.clone())
                        {
                            contents.deliveries.shift_remove(&oldest);
                        }
                    }
                }
                Change::PutChannel(channel) => {
                    contents.channels.insert(channel.id.clone(), channel);
                }
                Change::RemoveChannel { id } => {
                    contents.channels.shift_remove(&id);
                    contents.deliveries.retain(|_, d| d.channel_id != id);
                }
                Change::RemoveAlert { id } => {
                    contents.alerts.shift_remove(&id);
                }
                Change::PutAlert(alert) => {
                    contents.alerts.insert(alert.id.clone(), alert);
                }
                Change::PutTask(task) => {
                    contents.tasks.insert(task.task_id.clone(), task);
                }
                Change::RemoveTask { task_id } => {
                    contents.tasks.shift_remove(&task_id);
                }
            }
        }
        Commit::Done(Ok(()))
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let contents = self.contents();
        let services = contents
            .services
            .values()
            .map(|state| {
                let events = contents
                    .history
                    .get(&state.id)
                    .map(|all| {
                        let current: Vec<&HistoryEvent> = all
                            .iter()
                            .filter(|e| e.timestamp >= state.created_at)
                            .collect();
                        let skip = current.len().saturating_sub(EVENTS_IN_RECORD);
                        current[skip..].iter().map(|e| (*e).clone()).collect()
                    })
                    .unwrap_or_default();
                ServiceRecord::from_state(state.clone(), events)
            })
            .collect();
        Ok(Snapshot {
            services,
            tasks: contents.tasks.values().cloned().collect(),
            alerts: contents.alerts.values().cloned().collect(),
            channels: contents.channels.values().cloned().collect(),
        })
    }

    async fn history(
        &self,
        service_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let contents = self.contents();
        Ok(contents
            .history
            .get(service_id)
            .map(|events| {
                events
                    .iter()
                    .rev()
                    .filter(|e| query.since.is_none_or(|since| e.timestamp > since))
                    .take(query.limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        Ok(self
            .contents()
            .deliveries
            .values()
            .filter(|d| d.state == DeliveryState::Pending)
            .cloned()
            .collect())
    }

    async fn deliveries(
        &self,
        channel_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(self
            .contents()
            .deliveries
            .values()
            .rev()
            .filter(|d| d.channel_id == channel_id)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn apply_retention(&self) -> Result<(), StoreError> {
        if self.retention.max_age_days == 0 {
            return Ok(());
        }
        let cutoff = Utc::now() - chrono::Duration::days(self.retention.max_age_days as i64);
        for events in self.contents().history.values_mut() {
            events.retain(|e| e.timestamp >= cutoff);
        }
        Ok(())
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.contents().closed = true;
        Ok(())
    }

    fn describe(&self) -> String {
        "memory: (nothing survives a restart)".to_string()
    }
}
