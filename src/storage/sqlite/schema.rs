//! The two SQLite files, their tables, and conversions between rows and
//! core types.
//!
//! - The live file (`laneswap.db`): `services`, `tasks`, `counters`, and
//!   `journal`, an append-only log of events. A heartbeat is one appended
//!   journal row, so a group commit touches a few pages however many
//!   services it covers.
//! - The history file (`laneswap-history.db`): `events`, clustered by
//!   service. A background mover copies the journal into it about once a
//!   second, when each touched page takes many events at once.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::super::{Durability, StoreError};
use crate::core::{HistoryEvent, Metadata};

pub const LIVE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    status_message TEXT,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_heartbeat INTEGER,
    updated_at INTEGER,
    stale_threshold REAL,
    applied_seq INTEGER NOT NULL DEFAULT 0,
    paused_since INTEGER,
    paused_until INTEGER
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    service_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    reported_message TEXT,
    metadata TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channels (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries(state);
CREATE INDEX IF NOT EXISTS deliveries_by_channel ON deliveries(channel_id);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
PRAGMA user_version = 1;
";

pub const HISTORY_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    service_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    reported_message TEXT,
    metadata TEXT,
    PRIMARY KEY (service_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS progress (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
PRAGMA user_version = 1;
";

/// The event columns, in the same order in `journal` and `events`.
pub const EVENT_COLUMNS: &str =
    "service_id, seq, at, kind, status, message, reported_message, metadata";

/// `laneswap.db` → `laneswap-history.db`, beside it.
pub fn history_path(live: &Path) -> PathBuf {
    let stem = live
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "laneswap".into());
    let name = match live.extension() {
        Some(ext) => format!("{stem}-history.{}", ext.to_string_lossy()),
        None => format!("{stem}-history"),
    };
    live.with_file_name(name)
}

pub fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {value} out of range")))
}

pub fn to_json(metadata: &Metadata) -> String {
    serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_string())
}

pub fn parse_metadata(text: &str) -> Result<Metadata, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))
}

pub fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} {text:?}")))
}

/// An event row (`EVENT_COLUMNS` order): the service, its sequence number,
/// the event, and the message the heartbeat reported.
pub struct EventRow {
    pub service_id: String,
    pub seq: i64,
    pub event: HistoryEvent,
    pub reported_message: Option<String>,
}

/// Reads an event row selected with `EVENT_COLUMNS`.
pub fn event_row(row: &rusqlite::Row<'_>) -> Result<EventRow, StoreError> {
    let kind: String = row.get(3).map_err(backend)?;
    let status: String = row.get(4).map_err(backend)?;
    let metadata: Option<String> = row.get(7).map_err(backend)?;
    Ok(EventRow {
        service_id: row.get(0).map_err(backend)?,
        seq: row.get(1).map_err(backend)?,
        event: HistoryEvent {
            kind: parse(&kind, "event kind")?,
            timestamp: from_micros(row.get(2).map_err(backend)?)?,
            status: parse(&status, "status")?,
            message: row.get(5).map_err(backend)?,
            metadata: metadata.as_deref().map(parse_metadata).transpose()?,
        },
        reported_message: row.get(6).map_err(backend)?,
    })
}

/// Opens a connection with the store's pragmas (WAL, 1 KiB pages: a random
/// update rewrites a quarter of what 4 KiB pages would).
/// Page cache per connection: the writer's and the mover's hot pages; the
/// reader and the checkpointer get by with less.
#[derive(Debug, Clone, Copy)]
pub enum Cache {
    Large,
    Small,
}

pub fn open_connection(
    path: &Path,
    durability: Durability,
    cache: Cache,
) -> Result<Connection, StoreError> {
    let open_error = |reason: String| StoreError::Open {
        location: path.display().to_string(),
        reason,
    };
    let connection = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
    let cache_kib = match cache {
        Cache::Large => -2048,
        Cache::Small => -256,
    };
    let sync = match durability {
        Durability::Process => "NORMAL",
        Durability::Power => "FULL",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync};
             PRAGMA busy_timeout = 5000; PRAGMA cache_size = {cache_kib}; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(|e| open_error(e.to_string()))?;
    Ok(connection)
}

/// Columns added to `services` after its first version, with their types:
/// files created before get them on open.
const ADDED_SERVICE_COLUMNS: [(&str, &str); 2] =
    [("paused_since", "INTEGER"), ("paused_until", "INTEGER")];

/// Brings an older live file up to the current columns.
pub fn migrate(connection: &Connection) -> Result<(), rusqlite::Error> {
    let mut statement = connection.prepare("SELECT name FROM pragma_table_info('services')")?;
    let existing: Vec<String> = statement
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for (column, kind) in ADDED_SERVICE_COLUMNS {
        if !existing.iter().any(|name| name == column) {
            connection
                .execute_batch(&format!("ALTER TABLE services ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

/// Attaches the history file to a connection of the live file as `history`.
pub fn attach_history(connection: &Connection, history: &Path) -> Result<(), StoreError> {
    connection
        .execute("ATTACH DATABASE ?1 AS history", [history.to_string_lossy()])
        .map_err(|e| StoreError::Open {
            location: history.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok(())
}
