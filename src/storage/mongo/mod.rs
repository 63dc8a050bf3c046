//! The MongoDB backend (`--store mongodb://…` or `LANESWAP_MONGODB_URI`),
//! on the official driver. The same [`Store`] as the embedded backend: one
//! writer task applies the core's changes in order, grouping what arrived
//! together into as few requests as it can, and answers each commit once
//! MongoDB acknowledged it.
//!
//! Collections (database `LANESWAP_MONGODB_NAME`, default `laneswap`):
//!
//! | collection   | `_id`       | fields                                                             | indexes                          |
//! |--------------|-------------|--------------------------------------------------------------------|----------------------------------|
//! | `services`   | service id  | `order`, `state` (the row), `events` (the newest 100, inline)      | `order`                          |
//! | `events`     | generated   | `service_id`, `ts` (µs), `seq`, `at` (date), `event`               | `service_id, ts, seq`; TTL `at`  |
//! | `tasks`      | task id     | `order`, `service_id`, `task`                                      | `order`                          |
//! | `alerts`     | alert id    | `order`, `service_id`, `alert`                                     | `order`                          |
//! | `channels`   | channel id  | `order`, `channel`                                                 | `order`                          |
//! | `deliveries` | delivery id | `order`, `channel_id`, `state`, `delivery`                         | `channel_id, order`; `state, order` |
//!
//! Documents hold the core's own serde form (timestamps as RFC 3339 text
//! with microseconds, which BSON dates would cut to milliseconds); `ts`
//! and `at` are there for queries and the TTL index.

pub mod feed;
mod retention;
pub mod spool;
mod writer;

use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::Arc;

use chrono::Utc;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use super::{HistoryQuery, Retention, Store, StoreError};
use crate::core::model::EVENTS_IN_RECORD;
use crate::core::{Change, Commit, Delivery, HistoryEvent, Journal, JournalError, Snapshot};

/// A parsed MongoDB location: the URI (with its secret), the database, and
/// the local spool that holds writes while the database is unreachable.
#[derive(Clone, PartialEq, Eq)]
pub struct MongoUri {
    pub uri: String,
    pub database: String,
    /// `None`: `$XDG_DATA_HOME/laneswap/mongodb-spool-<database>.jsonl`.
    pub spool: Option<std::path::PathBuf>,
    pub spool_max_bytes: u64,
}

/// Default bound of the local spool: 512 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 512 * 1_048_576;

impl MongoUri {
    /// A location with the default database and spool.
    pub fn new(uri: impl Into<String>) -> Self {
        MongoUri {
            uri: uri.into(),
            database: DEFAULT_DATABASE.to_string(),
            spool: None,
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
        }
    }

    /// Where the spool lives.
    pub fn spool_path(&self) -> std::path::PathBuf {
        self.spool.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(|| std::path::PathBuf::from("."))
                .join("laneswap")
                .join(format!("mongodb-spool-{}.jsonl", self.database))
        })
    }

    /// The URI with its password replaced by `****`.
    pub fn redacted(&self) -> String {
        crate::config::redact_uri(&self.uri)
    }
}

impl std::fmt::Debug for MongoUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (database {})", self.redacted(), self.database)
    }
}

/// How long an operation waits for a reachable server by default.
const SELECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Default database name.
pub const DEFAULT_DATABASE: &str = "laneswap";

/// The MongoDB store.
pub struct MongoStore {
    database: Database,
    /// This server node's id in the feed.
    node: String,
    spool: Arc<spool::Spool>,
    /// The other nodes' changes, until the server takes the receiver.
    remote: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Vec<Change>>>>,
    description: String,
    writes: mpsc::UnboundedSender<writer::Job>,
    closed: AtomicBool,
    retention: Retention,
}

fn backend(error: mongodb::error::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// A document field holding the core's serde form, read back.
fn field<T: DeserializeOwned>(document: &Document, key: &str) -> Result<T, StoreError> {
    let value = document
        .get(key)
        .ok_or_else(|| corrupt(format!("a document lacks `{key}`")))?;
    mongodb::bson::from_bson(value.clone()).map_err(corrupt)
}

impl MongoStore {
    /// Connects, checks the server answers, creates the indexes, and starts
    /// the writer.
    pub async fn open(location: &MongoUri, retention: Retention) -> Result<MongoStore, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            location: location.redacted(),
            reason,
        };
        let mut options = ClientOptions::parse(&location.uri)
            .await
            .map_err(|error| open_error(crate::config::redact_uri(&error.to_string())))?;
        // The driver's default is to wait 30 s for a server; say sooner
        // that the database cannot be reached (the URI may set its own).
        if !location.uri.contains("serverSelectionTimeoutMS") {
            options.server_selection_timeout = Some(SELECTION_TIMEOUT);
        }
        options
            .app_name
            .get_or_insert_with(|| "laneswap".to_string());
        let client =
            Client::with_options(options).map_err(|error| open_error(error.to_string()))?;
        let database = client.database(&location.database);
        database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|error| open_error(format!("the server does not answer: {error}")))?;
        let spool = Arc::new(spool::Spool::open(
            &location.spool_path(),
            location.spool_max_bytes,
        )?);
        let node = uuid::Uuid::new_v4().to_string();
        let start = Utc::now().timestamp_micros().saturating_mul(1000);
        let store = MongoStore {
            description: format!(
                "mongodb: {} (database {})",
                location.redacted(),
                location.database
            ),
            writes: writer::spawn(
                database.clone(),
                retention,
                Arc::clone(&spool),
                node.clone(),
            ),
            remote: std::sync::Mutex::new(Some(feed::spawn(database.clone(), node.clone(), start))),
            node,
            spool,
            database,
            closed: AtomicBool::new(false),
            retention,
        };
        store.create_indexes().await?;
        // Writes spooled by an earlier run reach the database before
        // anything is read from it.
        if store.spool.has_backlog() {
            let mut writer = writer::Writer::new(
                store.database.clone(),
                retention,
                Arc::clone(&store.spool),
                store.node.clone(),
            );
            writer
                .drain_once()
                .await
                .map_err(|reason| StoreError::Open {
                    location: location.redacted(),
                    reason: format!(
                        "cannot apply the writes spooled in {}: {reason}",
                        store.spool.path().display()
                    ),
                })?;
        }
        Ok(store)
    }

    fn collection(&self, name: &str) -> Collection<Document> {
        self.database.collection(name)
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document| IndexModel::builder().keys(keys).build();
        for name in ["services", "tasks", "alerts", "channels"] {
            self.collection(name)
                .create_index(index(doc! { "order": 1 }))
                .await
                .map_err(backend)?;
        }
        let events = self.collection("events");
        events
            .create_index(index(doc! { "service_id": 1, "ts": -1, "seq": -1 }))
            .await
            .map_err(backend)?;
        if self.retention.max_age_days > 0 {
            let ttl = IndexModel::builder()
                .keys(doc! { "at": 1 })
                .options(
                    IndexOptions::builder()
                        .expire_after(std::time::Duration::from_secs(
                            self.retention.max_age_days * 86_400,
                        ))
                        .name("history_ttl".to_string())
                        .build(),
                )
                .build();
            events.create_index(ttl).await.map_err(backend)?;
        }
        feed::create_indexes(&self.database).await?;
        let deliveries = self.collection("deliveries");
        deliveries
            .create_index(index(doc! { "channel_id": 1, "order": -1 }))
            .await
            .map_err(backend)?;
        deliveries
            .create_index(index(doc! { "state": 1, "order": 1 }))
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Documents of a collection matching `filter`, sorted, at most
    /// `limit` (all when `None`).
    async fn find(
        &self,
        name: &str,
        filter: Document,
        sort: Document,
        limit: Option<usize>,
    ) -> Result<Vec<Document>, StoreError> {
        let collection = self.collection(name);
        let mut find = collection.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        find.await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }

    /// The same, each decoded from its `key` field.
    async fn find_decoded<T: DeserializeOwned>(
        &self,
        name: &str,
        filter: Document,
        sort: Document,
        limit: Option<usize>,
        key: &str,
    ) -> Result<Vec<T>, StoreError> {
        let documents = self.find(name, filter, sort, limit).await?;
        documents
            .iter()
            .map(|document| field(document, key))
            .collect()
    }

    /// Every document of a collection in `order`, decoded from `key`.
    async fn ordered<T: DeserializeOwned>(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.find_decoded(name, doc! {}, doc! { "order": 1 }, None, key)
            .await
    }
}

/// How long a node holds a delivery it is sending (renewed at each
/// attempt); past it, another node takes the delivery over.
const DELIVERY_LEASE_MS: i64 = 30_000;

/// How long a claim holds before another node may take the flip over
/// (the claiming node died before making it).
const CLAIM_LEASE_MS: i64 = 60_000;

impl Journal for MongoStore {
    /// Compare-and-set on the service's document: the first node to claim
    /// this silence (`claims.stale.key`) gets it; a claim older than the
    /// lease can be taken over. If the database cannot answer, the node
    /// flips by itself (duplicates are possible then, nothing is missed).
    fn claim(&self, claim: crate::core::Claim) -> crate::core::ClaimAnswer {
        let (collection, id, field, key) = match &claim {
            crate::core::Claim::Stale {
                service_id,
                silent_since,
            } => (
                "services",
                service_id.clone(),
                "claims.stale",
                silent_since.timestamp_micros(),
            ),
            crate::core::Claim::Reopen {
                alert_id,
                expired_at,
            } => (
                "alerts",
                alert_id.clone(),
                "claims.reopen",
                expired_at.timestamp_micros(),
            ),
        };
        let documents = self.collection(collection);
        let node = self.node.clone();
        Box::pin(async move {
            let now = mongodb::bson::DateTime::now();
            let expired =
                mongodb::bson::DateTime::from_millis(now.timestamp_millis() - CLAIM_LEASE_MS);
            let filter = doc! {
                "_id": &id,
                "$or": [
                    { format!("{field}.key"): { "$ne": key } },
                    { format!("{field}.at"): { "$lt": expired } },
                ],
            };
            let update = doc! { "$set": { field: { "key": key, "by": &node, "at": now } } };
            match documents.update_one(filter, update).await {
                Ok(result) => result.modified_count == 1,
                Err(error) => {
                    tracing::warn!(%error, %id, "cannot claim a transition; making it here");
                    true
                }
            }
        })
    }

    fn submit(&self, changes: Vec<Change>) -> Commit {
        if self.closed.load(Ordering::Acquire) {
            return Commit::Done(Err(JournalError::Closed));
        }
        let (done, commit) = Commit::channel();
        if self
            .writes
            .send(writer::Job::Changes { changes, done })
            .is_err()
        {
            return Commit::Done(Err(JournalError::Closed));
        }
        commit
    }
}

#[async_trait::async_trait]
impl Store for MongoStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let documents = self
            .find("services", doc! {}, doc! { "order": 1 }, None)
            .await?;
        let mut services = Vec::with_capacity(documents.len());
        for document in &documents {
            let state: crate::core::ServiceState = field(document, "state")?;
            let inline: Vec<Document> = match document.get_array("events") {
                Ok(items) => items
                    .iter()
                    .filter_map(|item| item.as_document().cloned())
                    .collect(),
                Err(_) => Vec::new(),
            };
            let created_us = state.created_at.timestamp_micros();
            let mut timed: Vec<(i64, HistoryEvent)> = Vec::with_capacity(inline.len());
            for item in &inline {
                let ts = item.get_i64("ts").unwrap_or(i64::MIN);
                if ts >= created_us {
                    timed.push((ts, field(item, "event")?));
                }
            }
            // A group replayed after a write that timed out half-way may
            // have pushed its events twice: one per timestamp, in order.
            timed.sort_by_key(|(ts, _)| *ts);
            timed.dedup_by_key(|(ts, _)| *ts);
            let mut events: Vec<HistoryEvent> = timed.into_iter().map(|(_, event)| event).collect();
            let skip = events.len().saturating_sub(EVENTS_IN_RECORD);
            services.push(crate::core::ServiceRecord::from_state(
                state,
                events.split_off(skip),
            ));
        }
        Ok(Snapshot {
            services,
            tasks: self.ordered("tasks", "task").await?,
            alerts: self.ordered("alerts", "alert").await?,
            channels: self.ordered("channels", "channel").await?,
        })
    }

    async fn history(
        &self,
        service_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let mut filter = doc! { "service_id": service_id };
        if let Some(since) = query.since {
            filter.insert("ts", doc! { "$gt": since.timestamp_micros() });
        }
        let newest_first = doc! { "ts": -1, "seq": -1 };
        self.find_decoded("events", filter, newest_first, Some(query.limit), "event")
            .await
    }

    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        let pending = doc! { "state": "pending" };
        self.find_decoded("deliveries", pending, doc! { "order": 1 }, None, "delivery")
            .await
    }

    async fn deliveries(
        &self,
        channel_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let of_channel = doc! { "channel_id": channel_id };
        self.find_decoded(
            "deliveries",
            of_channel,
            doc! { "order": -1 },
            Some(limit),
            "delivery",
        )
        .await
    }

    async fn apply_retention(&self) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        self.writes
            .send(writer::Job::Retention { done })
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::Release);
        let (done, flushed) = oneshot::channel();
        if self.writes.send(writer::Job::Flush { done }).is_ok() {
            let _ = flushed.await;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn shared(&self) -> bool {
        true
    }

    /// A lease on the delivery document (`lease.by`, `lease.until`): this
    /// node's own or an expired one is taken; another live node's is not.
    async fn claim_delivery(&self, delivery_id: &str) -> bool {
        let now = mongodb::bson::DateTime::now();
        let until =
            mongodb::bson::DateTime::from_millis(now.timestamp_millis() + DELIVERY_LEASE_MS);
        let filter = doc! {
            "_id": delivery_id,
            "state": "pending",
            "$or": [
                { "lease": { "$exists": false } },
                { "lease.by": &self.node },
                { "lease.until": { "$lt": now } },
            ],
        };
        let update = doc! { "$set": { "lease": { "by": &self.node, "until": until } } };
        let deliveries = self.collection("deliveries");
        // A delivery this node just queued may not be written yet: wait
        // for it a little (its commit is in flight), then send anyway.
        let mut existed = false;
        for _ in 0..20 {
            match deliveries.update_one(filter.clone(), update.clone()).await {
                Ok(result) if result.matched_count == 1 => return true,
                // It existed before this try and is not ours to take.
                Ok(_) if existed => return false,
                Ok(_) => match deliveries.find_one(doc! { "_id": delivery_id }).await {
                    // Written meanwhile: try once more.
                    Ok(Some(_)) => existed = true,
                    Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                    Err(_) => return true,
                },
                Err(error) => {
                    tracing::warn!(%error, delivery = delivery_id, "cannot claim a delivery; sending it");
                    return true;
                }
            }
        }
        true
    }

    fn remote_changes(&self) -> Option<mpsc::UnboundedReceiver<Vec<Change>>> {
        self.remote
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    fn health(&self) -> super::StoreHealth {
        match self.spool.backlog() {
            None => super::StoreHealth::Ok,
            Some(backlog) => super::StoreHealth::Degraded {
                since: backlog.since,
                detail: format!(
                    "MongoDB unreachable ({}); {} bytes of writes spooled in {}",
                    backlog.reason,
                    backlog.bytes,
                    self.spool.path().display()
                ),
            },
        }
    }
}
