//! The feed: how server nodes sharing one database see each other's
//! changes. Every group of changes a node applies is also written to the
//! `feed` collection (`node`, `order` = when it was written, the changes;
//! kept 10 minutes by a TTL index). Each node tails the feed every
//! [`POLL`], skipping its own documents, and hands the others' changes to
//! its core ([`crate::core::Core::absorb`]).
//!
//! Documents are read again for a `WINDOW` (5 s) behind the newest one seen,
//! so one written a little late by a slower node is not missed; ids seen
//! are remembered for that window.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use tokio::sync::mpsc;

use crate::core::Change;
use crate::storage::StoreError;

pub const COLLECTION: &str = "feed";

/// How often a node looks for the others' changes.
pub const POLL: Duration = Duration::from_millis(200);

/// How far behind the newest document seen a node reads again (in
/// `order` units: microseconds × 1000).
const WINDOW: i64 = 5_000_000 * 1000;

/// How long feed documents are kept.
const KEEP: Duration = Duration::from_secs(600);

pub async fn create_indexes(database: &Database) -> Result<(), StoreError> {
    let feed: Collection<Document> = database.collection(COLLECTION);
    let backend = |error: mongodb::error::Error| StoreError::Backend(error.to_string());
    feed.create_index(IndexModel::builder().keys(doc! { "order": 1 }).build())
        .await
        .map_err(backend)?;
    let ttl = IndexModel::builder()
        .keys(doc! { "at": 1 })
        .options(
            IndexOptions::builder()
                .expire_after(KEEP)
                .name("feed_ttl".to_string())
                .build(),
        )
        .build();
    feed.create_index(ttl).await.map_err(backend)?;
    Ok(())
}

/// Tails the feed from `start` (an `order`) and sends the other nodes'
/// changes, until the receiver is dropped.
pub fn spawn(database: Database, node: String, start: i64) -> mpsc::UnboundedReceiver<Vec<Change>> {
    let (changes, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let feed: Collection<Document> = database.collection(COLLECTION);
        let mut newest = start;
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if changes.is_closed() {
                return;
            }
            // Never before `start`: what was written earlier is in the
            // snapshot this node loaded.
            let after = (newest - WINDOW).max(start);
            let filter = doc! { "order": { "$gt": after }, "node": { "$ne": &node } };
            let documents: Result<Vec<Document>, _> =
                match feed.find(filter).sort(doc! { "order": 1 }).await {
                    Ok(cursor) => cursor.try_collect().await,
                    Err(error) => Err(error),
                };
            let documents = match documents {
                Ok(documents) => documents,
                Err(error) => {
                    tracing::debug!(%error, "cannot read the feed; trying again");
                    continue;
                }
            };
            for document in documents {
                let (Ok(id), Ok(order)) = (document.get_str("_id"), document.get_i64("order"))
                else {
                    continue;
                };
                if seen.contains_key(id) {
                    continue;
                }
                seen.insert(id.to_string(), order);
                newest = newest.max(order);
                let decoded: Result<Vec<Change>, _> = document
                    .get("changes")
                    .cloned()
                    .map(mongodb::bson::from_bson)
                    .unwrap_or_else(|| Ok(Vec::new()));
                match decoded {
                    Ok(list) if !list.is_empty() => {
                        if changes.send(list).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, id, "unreadable feed document"),
                }
            }
            seen.retain(|_, order| *order > newest - WINDOW);
        }
    });
    received
}
