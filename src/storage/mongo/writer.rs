//! The MongoDB store's one writer: it takes the core's changes in order,
//! groups what is waiting (a burst of heartbeats becomes one `insert_many`
//! of events and one `update` command for the services), applies them, and
//! answers every commit of the group with the result. Retention runs here
//! too, so it never races the writes.
//!
//! When the database cannot be reached, the group goes to the local
//! [`Spool`] instead (and so does everything after it until the spool has
//! drained); the drain task applies spooled groups in order once the
//! database answers again. A group's documents get ids and order numbers
//! from its `first_order`, so applying it twice inserts nothing twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use indexmap::IndexMap;
use mongodb::bson::{doc, to_bson, Bson, Document};
use mongodb::{Collection, Database};
use tokio::sync::{mpsc, oneshot};

use super::spool::{Line, Spool};
use crate::core::model::EVENTS_IN_RECORD;
use crate::core::{Change, DeliveryState, HistoryEvent, JournalError};
use crate::storage::{Retention, StoreError};

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

/// A group the database has not taken within this long is spooled.
const SLOW_WRITE: Duration = Duration::from_secs(5);

/// Changes applied per round when draining the spool.
const DRAIN_CHANGES: usize = 4096;

/// Delivery writes between two prunes of the finished ones.
const PRUNE_EVERY: u64 = 500;

pub fn spawn(
    database: Database,
    retention: Retention,
    spool: Arc<Spool>,
    node: String,
) -> mpsc::UnboundedSender<Job> {
    let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(drain(Writer::new(
        database.clone(),
        retention,
        Arc::clone(&spool),
        node.clone(),
    )));
    tokio::spawn(async move {
        let mut writer = Writer::new(database, retention, spool, node);
        let mut retention_tick = tokio::time::interval(RETENTION_EVERY);
        retention_tick.tick().await;
        loop {
            let first = tokio::select! {
                job = queue.recv() => match job {
                    Some(job) => job,
                    None => return,
                },
                _ = retention_tick.tick() => {
                    if let Err(error) = super::retention::trim_history(&writer.database, writer.retention).await {
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
                        let _ = done.send(
                            super::retention::trim_history(&writer.database, writer.retention)
                                .await,
                        );
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
struct ServiceUpdate {
    state: Option<Document>,
    inline: Vec<Document>,
    /// `order` if the service is new: its first change's.
    order: i64,
}

impl Default for ServiceUpdate {
    fn default() -> Self {
        ServiceUpdate {
            state: None,
            inline: Vec::new(),
            order: i64::MAX,
        }
    }
}

pub(super) struct Writer {
    database: Database,
    retention: Retention,
    spool: Arc<Spool>,
    /// This server node, for the feed other nodes read.
    node: String,
    /// Last `order` handed out (insertion order of documents).
    order: i64,
    delivery_writes: u64,
}

/// Why a group could not be applied.
#[derive(Debug)]
pub(super) enum Failure {
    /// The database did not answer (or lost the connection): spool it.
    Unreachable(String),
    /// The database refused it, or it could not be encoded.
    Refused(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(reason) | Failure::Refused(reason) => f.write_str(reason),
        }
    }
}

fn failed(error: mongodb::error::Error) -> Failure {
    use mongodb::error::ErrorKind;
    let unreachable = matches!(
        *error.kind,
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
    ) || error.contains_label("RetryableWriteError");
    if unreachable {
        Failure::Unreachable(error.to_string())
    } else {
        Failure::Refused(error.to_string())
    }
}

/// An `insert_many` failure made only of duplicate ids: a replayed group.
fn only_duplicates(error: &mongodb::error::Error) -> bool {
    match error.kind.as_ref() {
        mongodb::error::ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure
                    .write_errors
                    .as_ref()
                    .is_some_and(|errors| errors.iter().all(|e| e.code == 11000))
        }
        _ => false,
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Bson, Failure> {
    to_bson(value).map_err(|error| Failure::Refused(format!("cannot encode: {error}")))
}

/// Applies spooled groups once the database answers again.
async fn drain(mut writer: Writer) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !writer.spool.has_backlog() {
            continue;
        }
        match writer.drain_once().await {
            Ok(true) => tracing::info!("MongoDB answers again: the spool has drained"),
            Ok(false) => {}
            Err(error) => tracing::debug!(%error, "MongoDB still unreachable; the spool waits"),
        }
    }
}

impl Writer {
    pub(super) fn new(
        database: Database,
        retention: Retention,
        spool: Arc<Spool>,
        node: String,
    ) -> Writer {
        Writer {
            database,
            retention,
            spool,
            node,
            order: 0,
            delivery_writes: 0,
        }
    }

    fn collection(&self, name: &str) -> Collection<Document> {
        self.database.collection(name)
    }

    /// `count` increasing numbers near the current time in microseconds ×
    /// 1000 (documents written by several nodes still sort by arrival);
    /// returns the first.
    fn reserve(&mut self, count: usize) -> i64 {
        let now = Utc::now().timestamp_micros().saturating_mul(1000);
        let first = now.max(self.order + 1);
        self.order = first + count as i64;
        first
    }

    /// Applies every spooled group it can, in order; true once the spool
    /// is empty.
    pub(super) async fn drain_once(&mut self) -> Result<bool, String> {
        let pending = self.spool.pending().map_err(|e| e.to_string())?;
        let mut emptied = false;
        let mut start = 0;
        while start < pending.len() {
            // Several spooled groups per round of requests, so the drain
            // outpaces new writes.
            let mut end = start;
            let mut size = 0;
            while end < pending.len() && (end == start || size < DRAIN_CHANGES) {
                size += pending[end].1.changes.len();
                end += 1;
            }
            let chunk = &pending[start..end];
            for (_, line) in chunk {
                self.order = self.order.max(line.first_order + line.changes.len() as i64);
            }
            let groups: Vec<(i64, &[Change])> = chunk
                .iter()
                .map(|(_, line)| (line.first_order, line.changes.as_slice()))
                .collect();
            self.apply(&groups)
                .await
                .map_err(|failure| failure.to_string())?;
            emptied = self
                .spool
                .applied(chunk[chunk.len() - 1].0)
                .map_err(|e| e.to_string())?;
            start = end;
        }
        Ok(emptied)
    }

    /// Applies the grouped changes (or spools them) and answers their
    /// commits.
    async fn commit(
        &mut self,
        changes: &mut Vec<Change>,
        waiting: &mut Vec<oneshot::Sender<Result<(), JournalError>>>,
    ) {
        if waiting.is_empty() {
            return;
        }
        let changes = std::mem::take(changes);
        let line = Line {
            first_order: self.reserve(changes.len()),
            changes,
        };
        let result = if self.spool.has_backlog() {
            self.spool.append(&line, "MongoDB unreachable")
        } else {
            // A database that answers too slowly is treated as gone: the
            // group is spooled (a half-applied group is harmless, its replay
            // inserts nothing twice) and ingest goes on.
            let applied =
                tokio::time::timeout(SLOW_WRITE, self.apply(&[(line.first_order, &line.changes)]))
                    .await
                    .unwrap_or_else(|_| {
                        Err(Failure::Unreachable(format!(
                            "no answer within {} s",
                            SLOW_WRITE.as_secs()
                        )))
                    });
            match applied {
                Ok(()) => Ok(()),
                Err(Failure::Unreachable(reason)) => {
                    tracing::warn!(
                        %reason,
                        spool = %self.spool.path().display(),
                        "MongoDB unreachable: writes go to the local spool until it answers"
                    );
                    self.spool.append(&line, &reason)
                }
                Err(Failure::Refused(reason)) => Err(JournalError::Write(reason)),
            }
        };
        if let Err(error) = &result {
            tracing::error!(%error, "MongoDB write failed");
        }
        for done in waiting.drain(..) {
            let _ = done.send(result.clone());
        }
    }

    /// Applies groups of changes, in order, in as few requests as it can.
    /// A document's id and order number come from its group's
    /// `first_order` and the change's position, so a replay is harmless.
    async fn apply(&mut self, groups: &[(i64, &[Change])]) -> Result<(), Failure> {
        let mut events: Vec<Document> = Vec::new();
        let mut services: IndexMap<String, ServiceUpdate> = IndexMap::new();
        let mut changes: Vec<(i64, usize, &Change)> = Vec::new();
        for (first_order, group) in groups {
            for (index, change) in group.iter().enumerate() {
                changes.push((*first_order, index, change));
            }
        }
        for (first_order, index, change) in changes {
            let order = first_order + index as i64;
            match change {
                Change::PutService(state) => {
                    let update = services.entry(state.id.clone()).or_default();
                    update.state = Some(as_document(state)?);
                    update.order = update.order.min(order);
                }
                Change::RecordEvent { state, event } => {
                    let ts = event.timestamp.timestamp_micros();
                    events.push(doc! {
                        "_id": format!("{first_order}-{index}"),
                        "service_id": &state.id,
                        "ts": ts,
                        "seq": order,
                        "at": mongodb::bson::DateTime::from_millis(event.timestamp.timestamp_millis()),
                        "event": encode(event)?,
                    });
                    let inline = HistoryEvent {
                        metadata: None,
                        ..event.clone()
                    };
                    let update = services.entry(state.id.clone()).or_default();
                    update
                        .inline
                        .push(doc! { "ts": ts, "event": encode(&inline)? });
                    update.state = Some(as_document(state)?);
                    update.order = update.order.min(order);
                }
                Change::RemoveService { service_id } => {
                    self.flush(&mut events, &mut services).await?;
                    let filter = doc! { "service_id": service_id };
                    self.collection("services")
                        .delete_one(doc! { "_id": service_id })
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
                    let set = doc! { "service_id": &alert.service_id, "alert": encode(alert)? };
                    self.upsert("alerts", &alert.id, set, order).await?;
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
                        "delivery": encode(&**delivery)?,
                    };
                    self.upsert("deliveries", &delivery.id, set, order).await?;
                    self.delivery_writes += 1;
                    if self.delivery_writes % PRUNE_EVERY == 0 {
                        super::retention::prune_deliveries(&self.database)
                            .await
                            .map_err(failed)?;
                    }
                }
                Change::PutChannel(channel) => {
                    let set = doc! { "channel": encode(channel)? };
                    self.upsert("channels", &channel.id, set, order).await?;
                }
                Change::RemoveChannel { id } => {
                    self.collection("channels")
                        .delete_one(doc! { "_id": id })
                        .await
                        .map_err(failed)?;
                    self.collection("deliveries")
                        .delete_many(doc! { "channel_id": id })
                        .await
                        .map_err(failed)?;
                }
                Change::PutTask(task) => {
                    let set = doc! { "service_id": &task.service_id, "task": encode(task)? };
                    self.upsert("tasks", &task.task_id, set, order).await?;
                }
                Change::RemoveTask { task_id } => {
                    self.collection("tasks")
                        .delete_one(doc! { "_id": task_id })
                        .await
                        .map_err(failed)?;
                }
            }
        }
        self.flush(&mut events, &mut services).await?;
        self.publish(groups).await
    }

    /// Adds the groups to the feed the other nodes read (see
    /// [`super::feed`]); a replayed group is already there.
    async fn publish(&mut self, groups: &[(i64, &[Change])]) -> Result<(), Failure> {
        let mut documents = Vec::new();
        for (first_order, changes) in groups {
            let shared: Vec<&Change> = changes
                .iter()
                .filter(|change| !matches!(change, Change::PutDelivery(_)))
                .collect();
            if shared.is_empty() {
                continue;
            }
            documents.push(doc! {
                "_id": format!("{}-{first_order}", self.node),
                "node": &self.node,
                "order": self.reserve(1),
                "at": mongodb::bson::DateTime::now(),
                "changes": encode(&shared)?,
            });
        }
        if documents.is_empty() {
            return Ok(());
        }
        match self
            .collection(super::feed::COLLECTION)
            .insert_many(documents)
            .ordered(false)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if only_duplicates(&error) => Ok(()),
            Err(error) => Err(failed(error)),
        }
    }

    /// Inserts or updates a document by id; a new one gets `order`.
    async fn upsert(
        &mut self,
        name: &str,
        id: &str,
        set: Document,
        order: i64,
    ) -> Result<(), Failure> {
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
    ) -> Result<(), Failure> {
        if !events.is_empty() {
            let inserted = self
                .collection("events")
                .insert_many(std::mem::take(events))
                .ordered(false)
                .await;
            match inserted {
                Ok(_) => {}
                Err(error) if only_duplicates(&error) => {}
                Err(error) => return Err(failed(error)),
            }
        }
        if services.is_empty() {
            return Ok(());
        }
        // All service updates of the group in one `update` command: one
        // round trip however many services beat.
        let mut statements = Vec::with_capacity(services.len());
        for (id, update) in std::mem::take(services) {
            let mut change = doc! { "$setOnInsert": { "order": update.order } };
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
                return Err(Failure::Refused(format!("service update refused: {first}")));
            }
        }
        Ok(())
    }
}

fn as_document<T: serde::Serialize>(value: &T) -> Result<Document, Failure> {
    match encode(value)? {
        Bson::Document(document) => Ok(document),
        other => Err(Failure::Refused(format!(
            "expected a document, got {other:?}"
        ))),
    }
}
