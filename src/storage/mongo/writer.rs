//! The MongoDB store's one writer: it takes the core's changes in order,
//! groups what is waiting (a burst of heartbeats becomes one `insert_many`
//! of events and one update per service), applies them, and answers every
//! commit of the group with the result. Retention runs here too, so it
//! never races the writes.

use std::time::Duration;

use chrono::Utc;
use futures_util::TryStreamExt;
use indexmap::IndexMap;
use mongodb::bson::{doc, to_bson, Bson, Document};
use mongodb::{Collection, Database};
use tokio::sync::{mpsc, oneshot};

use super::micros;
use crate::core::model::EVENTS_IN_RECORD;
use crate::core::{Change, DeliveryState, HistoryEvent, JournalError};
use crate::storage::{Retention, StoreError, FINISHED_DELIVERIES_KEPT};

/// What the writer is asked to do.
pub enum Job {
    Changes {
        changes: Vec<Change>,
        done: oneshot::Sender<Result<(), JournalError>>,
    },
    Retention {
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Answers once everything before it is written.
    Flush { done: oneshot::Sender<()> },
}

/// Most jobs grouped into one round of writes.
const GROUP: usize = 1024;

/// How often retention runs by itself.
const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// Delivery writes between two prunes of the finished ones.
const PRUNE_EVERY: u64 = 500;

pub fn spawn(database: Database, retention: Retention) -> mpsc::UnboundedSender<Job> {
    let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut writer = Writer {
            database,
            retention,
            order: 0,
            delivery_writes: 0,
        };
        let mut retention_tick = tokio::time::interval(RETENTION_EVERY);
        retention_tick.tick().await;
        loop {
            let first = tokio::select! {
                job = queue.recv() => match job {
                    Some(job) => job,
                    None => return,
                },
                _ = retention_tick.tick() => {
                    if let Err(error) = writer.retention().await {
                        tracing::warn!(%error, "history retention failed");
                    }
                    continue;
                }
            };
            let mut jobs = vec![first];
            while jobs.len() < GROUP {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let mut changes = Vec::new();
            let mut waiting = Vec::new();
            for job in jobs {
                match job {
                    Job::Changes {
                        changes: more,
                        done,
                    } => {
                        changes.extend(more);
                        waiting.push(done);
                    }
                    Job::Retention { done } => {
                        writer.commit(&mut changes, &mut waiting).await;
                        let _ = done.send(writer.retention().await);
                    }
                    Job::Flush { done } => {
                        writer.commit(&mut changes, &mut waiting).await;
                        let _ = done.send(());
                    }
                }
            }
            writer.commit(&mut changes, &mut waiting).await;
        }
    });
    jobs
}

/// A service's pending update within one group.
#[derive(Default)]
struct ServiceUpdate {
    state: Option<Document>,
    inline: Vec<Document>,
}

struct Writer {
    database: Database,
    retention: Retention,
    /// Last `order` handed out (insertion order of documents).
    order: i64,
    delivery_writes: u64,
}

fn failed(error: mongodb::error::Error) -> JournalError {
    JournalError::Write(error.to_string())
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Bson, JournalError> {
    to_bson(value).map_err(|error| JournalError::Write(format!("cannot encode: {error}")))
}

impl Writer {
    fn collection(&self, name: &str) -> Collection<Document> {
        self.database.collection(name)
    }

    /// An increasing number near the current time in microseconds × 1000,
    /// so documents written by several nodes still sort by arrival.
    fn next_order(&mut self) -> i64 {
        let now = Utc::now().timestamp_micros().saturating_mul(1000);
        self.order = now.max(self.order + 1);
        self.order
    }

    /// Applies the grouped changes and answers their commits.
    async fn commit(
        &mut self,
        changes: &mut Vec<Change>,
        waiting: &mut Vec<oneshot::Sender<Result<(), JournalError>>>,
    ) {
        if waiting.is_empty() {
            return;
        }
        let result = self.apply(std::mem::take(changes)).await;
        if let Err(error) = &result {
            tracing::error!(%error, "MongoDB write failed");
        }
        for done in waiting.drain(..) {
            let _ = done.send(result.clone());
        }
    }

    async fn apply(&mut self, changes: Vec<Change>) -> Result<(), JournalError> {
        let mut events: Vec<Document> = Vec::new();
        let mut services: IndexMap<String, ServiceUpdate> = IndexMap::new();
        for change in changes {
            match change {
                Change::PutService(state) => {
                    services.entry(state.id.clone()).or_default().state =
                        Some(as_document(&state)?);
                }
                Change::RecordEvent { state, event } => {
                    let seq = self.next_order();
                    let ts = micros(event.timestamp);
                    events.push(doc! {
                        "service_id": &state.id,
                        "ts": ts,
                        "seq": seq,
                        "at": mongodb::bson::DateTime::from_millis(event.timestamp.timestamp_millis()),
                        "event": encode(&event)?,
                    });
                    let inline = HistoryEvent {
                        metadata: None,
                        ..event
                    };
                    let update = services.entry(state.id.clone()).or_default();
                    update
                        .inline
                        .push(doc! { "ts": ts, "event": encode(&inline)? });
                    update.state = Some(as_document(&state)?);
                }
                Change::RemoveService { service_id } => {
                    self.flush(&mut events, &mut services).await?;
                    let filter = doc! { "service_id": &service_id };
                    self.collection("services")
                        .delete_one(doc! { "_id": &service_id })
                        .await
                        .map_err(failed)?;
                    for name in ["events", "tasks", "alerts"] {
                        self.collection(name)
                            .delete_many(filter.clone())
                            .await
                            .map_err(failed)?;
                    }
                }
                Change::PutAlert(alert) => {
                    let set = doc! { "service_id": &alert.service_id, "alert": encode(&alert)? };
                    self.upsert("alerts", &alert.id, set).await?;
                }
                Change::RemoveAlert { id } => {
                    self.collection("alerts")
                        .delete_one(doc! { "_id": id })
                        .await
                        .map_err(failed)?;
                }
                Change::PutDelivery(delivery) => {
                    let state = match delivery.state {
                        DeliveryState::Pending => "pending",
                        DeliveryState::Delivered => "delivered",
                        DeliveryState::Failed => "failed",
                    };
                    let set = doc! {
                        "channel_id": &delivery.channel_id,
                        "state": state,
                        "delivery": encode(&*delivery)?,
                    };
                    self.upsert("deliveries", &delivery.id, set).await?;
                    self.delivery_writes += 1;
                    if self.delivery_writes % PRUNE_EVERY == 0 {
                        self.prune_deliveries().await?;
                    }
                }
                Change::PutChannel(channel) => {
                    let set = doc! { "channel": encode(&channel)? };
                    self.upsert("channels", &channel.id, set).await?;
                }
                Change::RemoveChannel { id } => {
                    self.collection("channels")
                        .delete_one(doc! { "_id": &id })
                        .await
                        .map_err(failed)?;
                    self.collection("deliveries")
                        .delete_many(doc! { "channel_id": &id })
                        .await
                        .map_err(failed)?;
                }
                Change::PutTask(task) => {
                    let set = doc! { "service_id": &task.service_id, "task": encode(&task)? };
                    self.upsert("tasks", &task.task_id, set).await?;
                }
                Change::RemoveTask { task_id } => {
                    self.collection("tasks")
                        .delete_one(doc! { "_id": task_id })
                        .await
                        .map_err(failed)?;
                }
            }
        }
        self.flush(&mut events, &mut services).await
    }

    /// Inserts or updates a document by id; a new one gets its `order`.
    async fn upsert(&mut self, name: &str, id: &str, set: Document) -> Result<(), JournalError> {
        let order = self.next_order();
        self.collection(name)
            .update_one(
                doc! { "_id": id },
                doc! { "$set": set, "$setOnInsert": { "order": order } },
            )
            .upsert(true)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// Writes the buffered events and service updates.
    async fn flush(
        &mut self,
        events: &mut Vec<Document>,
        services: &mut IndexMap<String, ServiceUpdate>,
    ) -> Result<(), JournalError> {
        if !events.is_empty() {
            self.collection("events")
                .insert_many(std::mem::take(events))
                .ordered(false)
                .await
                .map_err(failed)?;
        }
        if services.is_empty() {
            return Ok(());
        }
        // All service updates of the group in one `update` command: one
        // round trip however many services beat.
        let mut statements = Vec::with_capacity(services.len());
        for (id, update) in std::mem::take(services) {
            let order = self.next_order();
            let mut change = doc! { "$setOnInsert": { "order": order } };
            if let Some(state) = update.state {
                change.insert("$set", doc! { "state": state });
            }
            if !update.inline.is_empty() {
                change.insert(
                    "$push",
                    doc! { "events": { "$each": update.inline, "$slice": -(EVENTS_IN_RECORD as i64) } },
                );
            }
            statements.push(doc! { "q": { "_id": id }, "u": change, "upsert": true });
        }
        let reply = self
            .database
            .run_command(doc! { "update": "services", "updates": statements, "ordered": false })
            .await
            .map_err(failed)?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if let Some(first) = errors.first() {
                return Err(JournalError::Write(format!("service update refused: {first}")));
            }
        }
        Ok(())
    }

    /// Keeps the newest [`FINISHED_DELIVERIES_KEPT`] finished deliveries.
    async fn prune_deliveries(&self) -> Result<(), JournalError> {
        let finished = doc! { "state": { "$ne": "pending" } };
        let deliveries = self.collection("deliveries");
        let oldest_kept: Option<Document> = deliveries
            .find(finished.clone())
            .sort(doc! { "order": -1 })
            .skip(FINISHED_DELIVERIES_KEPT as u64)
            .limit(1)
            .await
            .map_err(failed)?
            .try_next()
            .await
            .map_err(failed)?;
        if let Some(order) = oldest_kept.and_then(|d| d.get_i64("order").ok()) {
            let mut filter = finished;
            filter.insert("order", doc! { "$lte": order });
            deliveries.delete_many(filter).await.map_err(failed)?;
        }
        Ok(())
    }

    /// Drops history past the age limit (the TTL index does it too, a
    /// minute late) and beyond the per-service count.
    async fn retention(&self) -> Result<(), StoreError> {
        let backend = |error: mongodb::error::Error| StoreError::Backend(error.to_string());
        let events = self.collection("events");
        if self.retention.max_age_days > 0 {
            let cutoff = Utc::now() - chrono::Duration::days(self.retention.max_age_days as i64);
            events
                .delete_many(doc! { "ts": { "$lt": micros(cutoff) } })
                .await
                .map_err(backend)?;
        }
        let cap = self.retention.max_events_per_service;
        if cap == 0 {
            return Ok(());
        }
        let ids: Vec<Document> = self
            .collection("services")
            .find(doc! {})
            .projection(doc! { "_id": 1 })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        for id in ids.iter().filter_map(|d| d.get_str("_id").ok()) {
            let boundary: Option<Document> = events
                .find(doc! { "service_id": id })
                .sort(doc! { "ts": -1, "seq": -1 })
                .skip(cap)
                .limit(1)
                .await
                .map_err(backend)?
                .try_next()
                .await
                .map_err(backend)?;
            let Some(boundary) = boundary else {
                continue;
            };
            let (ts, seq) = (
                boundary.get_i64("ts").unwrap_or(i64::MIN),
                boundary.get_i64("seq").unwrap_or(i64::MIN),
            );
            events
                .delete_many(doc! {
                    "service_id": id,
                    "$or": [ { "ts": { "$lt": ts } }, { "ts": ts, "seq": { "$lte": seq } } ],
                })
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}

fn as_document<T: serde::Serialize>(value: &T) -> Result<Document, JournalError> {
    match encode(value)? {
        Bson::Document(document) => Ok(document),
        other => Err(JournalError::Write(format!(
            "expected a document, got {other:?}"
        ))),
    }
}
