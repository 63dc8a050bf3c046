//! Durable storage behind one interface. A [`Store`] is the core's
//! [`Journal`] (it commits the core's changes) plus the reads the core does
//! not keep in memory: the snapshot to restore at start and long history.
//!
//! Backends are chosen by URI: `sqlite:PATH` (the embedded default),
//! `mongodb://…` (several nodes on one database) and `memory:` (tests and
//! throw-away runs).

pub mod memory;
pub mod mongo;
pub mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::core::{Delivery, HistoryEvent, Journal, Snapshot};

/// Errors of the storage layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the store is closed")]
    Closed,
}

/// Which history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// At most this many events, newest first.
    pub limit: usize,
    /// Only events strictly after this time.
    pub since: Option<DateTime<Utc>>,
}

/// Finished deliveries kept per store (the delivery log), newest.
pub const FINISHED_DELIVERIES_KEPT: usize = 10_000;

/// How long history is kept (per service, and overall age).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many events per service (0: no count limit).
    pub max_events_per_service: u64,
    /// Drop events older than this many days (0: no age limit).
    pub max_age_days: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_events_per_service: 10_000,
            max_age_days: 30,
        }
    }
}

/// How hard the embedded store syncs to disk on each group commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Committed data survives a crash of the process (kill -9); the last
    /// commits may be lost on power failure. SQLite `synchronous=NORMAL`.
    #[default]
    Process,
    /// Every group commit is fsynced: survives power failure too. SQLite
    /// `synchronous=FULL`.
    Power,
}

/// A parsed `--store` value.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUri {
    Memory,
    Sqlite(PathBuf),
    /// Its `Debug` and `Display` hide the password.
    Mongo(mongo::MongoUri),
}

impl fmt::Debug for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUri::Memory => f.write_str("memory:"),
            StoreUri::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUri::Mongo(location) => write!(f, "{location:?}"),
        }
    }
}

impl std::str::FromStr for StoreUri {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "memory:" || text == "memory" {
            return Ok(StoreUri::Memory);
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(
                    "sqlite: needs a file path, e.g. sqlite:/var/lib/laneswap/laneswap.db".into(),
                );
            }
            return Ok(StoreUri::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("mongodb://") || text.starts_with("mongodb+srv://") {
            return Ok(StoreUri::Mongo(mongo::MongoUri::new(text)));
        }
        Err("expected sqlite:PATH, mongodb://HOST or memory:".into())
    }
}

/// The storage interface every backend implements.
#[async_trait::async_trait]
pub trait Store: Journal {
    /// Everything needed to restore the core: services in listing order with
    /// their newest inline events, and progress tasks.
    async fn load(&self) -> Result<Snapshot, StoreError>;

    /// A service's stored history, newest first.
    async fn history(
        &self,
        service_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError>;

    /// Deliveries still to be sent, oldest first.
    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError>;

    /// A channel's deliveries, newest first (the delivery log).
    async fn deliveries(&self, channel_id: &str, limit: usize)
        -> Result<Vec<Delivery>, StoreError>;

    /// The delivered message that announced an alert on a channel (the one
    /// to edit when the alert is acknowledged or resolved), if any.
    async fn announcement(
        &self,
        channel_id: &str,
        alert_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let recent = self.deliveries(channel_id, 1000).await?;
        Ok(recent.into_iter().find(|d| {
            d.message_id.is_some()
                && d.notification.alert_id.as_deref() == Some(alert_id)
                && matches!(
                    d.notification.kind,
                    crate::core::notifications::NotificationKind::StatusChange
                        | crate::core::notifications::NotificationKind::Stale
                )
        }))
    }

    /// Applies retention now (backends also do it periodically).
    async fn apply_retention(&self) -> Result<(), StoreError>;

    /// Commits everything submitted so far and stops accepting writes.
    async fn close(&self) -> Result<(), StoreError>;

    /// A one-line description for logs (never contains credentials).
    fn describe(&self) -> String;

    /// Whether writes reach their database right now.
    fn health(&self) -> StoreHealth {
        StoreHealth::Ok
    }

    /// Whether other server nodes may share this store (their deliveries
    /// can be taken over when they die).
    fn shared(&self) -> bool {
        false
    }

    /// Takes (or renews) this node's lease on a pending delivery before
    /// sending it; false when another node holds it. Stores no other node
    /// shares always say yes.
    async fn claim_delivery(&self, _delivery_id: &str) -> bool {
        true
    }

    /// Changes other server nodes make on the same database, for the core
    /// to take in (`None` for stores no other node shares). Taken once.
    fn remote_changes(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<Vec<crate::core::Change>>> {
        None
    }
}

/// Whether a store's writes reach their database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreHealth {
    Ok,
    /// Ingest goes on, but writes wait locally (e.g. MongoDB unreachable).
    Degraded {
        since: DateTime<Utc>,
        detail: String,
    },
}

/// Options for opening a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreOptions {
    pub retention: Retention,
    pub durability: Durability,
}

/// Opens the backend named by `uri`.
pub async fn open(uri: &StoreUri, options: StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    match uri {
        StoreUri::Memory => Ok(Arc::new(memory::MemoryStore::new(options.retention))),
        StoreUri::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(path, options)?)),
        StoreUri::Mongo(location) => Ok(Arc::new(
            mongo::MongoStore::open(location, options.retention).await?,
        )),
    }
}

/// The default embedded store location: `$XDG_DATA_HOME/laneswap/laneswap.db`.
pub fn default_store_uri() -> StoreUri {
    let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
    StoreUri::Sqlite(base.join("laneswap").join("laneswap.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_uris_parse() {
        assert_eq!("memory:".parse::<StoreUri>(), Ok(StoreUri::Memory));
        assert_eq!(
            "sqlite:/tmp/x.db".parse::<StoreUri>(),
            Ok(StoreUri::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<StoreUri>(),
            Ok(StoreUri::Sqlite("/tmp/x.db".into()))
        );
        assert!("sqlite:".parse::<StoreUri>().is_err());
        assert!("postgres://x".parse::<StoreUri>().is_err());
    }
}
