//! Keeping the MongoDB store's size in check: history past its age or
//! per-service count, and finished deliveries beyond the log's length.
//! Run by the writer (so it never races the writes), every 10 minutes and
//! on request.

use chrono::Utc;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::Database;

use crate::storage::{Retention, StoreError, FINISHED_DELIVERIES_KEPT};

/// Keeps the newest [`FINISHED_DELIVERIES_KEPT`] finished deliveries.
pub(super) async fn prune_deliveries(database: &Database) -> Result<(), mongodb::error::Error> {
    let finished = doc! { "state": { "$ne": "pending" } };
    let deliveries = database.collection::<Document>("deliveries");
    let oldest_kept: Option<Document> = deliveries
        .find(finished.clone())
        .sort(doc! { "order": -1 })
        .skip(FINISHED_DELIVERIES_KEPT as u64)
        .limit(1)
        .await?
        .try_next()
        .await?;
    if let Some(order) = oldest_kept.and_then(|d| d.get_i64("order").ok()) {
        let mut filter = finished;
        filter.insert("order", doc! { "$lte": order });
        deliveries.delete_many(filter).await?;
    }
    Ok(())
}

/// Drops history past the age limit (the TTL index does it too, a
/// minute late) and beyond the per-service count.
pub(super) async fn trim_history(
    database: &Database,
    retention: Retention,
) -> Result<(), StoreError> {
    let backend = |error: mongodb::error::Error| StoreError::Backend(error.to_string());
    let events = database.collection::<Document>("events");
    if retention.max_age_days > 0 {
        let cutoff = Utc::now() - chrono::Duration::days(retention.max_age_days as i64);
        events
            .delete_many(doc! { "ts": { "$lt": cutoff.timestamp_micros() } })
            .await
            .map_err(backend)?;
    }
    let cap = retention.max_events_per_service;
    if cap == 0 {
        return Ok(());
    }
    let ids: Vec<Document> = database
        .collection::<Document>("services")
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
