//! The embedded store: SQLite in WAL mode, in two files (see [`schema`]).
//!
//! Threads: the **writer** owns the live file and group-commits the core's
//! changes ([`writer`]); the **mover** owns the history file and copies the
//! journal into it ([`history`]); a **checkpointer** copies the live WAL back
//! beside the writer (PASSIVE), so a commit never waits for a checkpoint.
//! Reads (the start-up snapshot, history queries) use their own connection
//! with both files attached: WAL lets them run beside the writers.

pub mod history;
pub mod schema;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use self::history::{Mover, MoverJob};
use self::schema::{
    attach_history, backend, event_row, from_micros, history_path, micros, open_connection, parse,
    parse_metadata, Cache, EventRow, EVENT_COLUMNS, HISTORY_SCHEMA, LIVE_SCHEMA,
};
use self::writer::{read_next_seq, Writer, WriterJob};
use super::{HistoryQuery, Store, StoreError, StoreOptions};
use crate::core::model::{Pause, SharedMetadata, EVENTS_IN_RECORD};
use crate::core::{
    Alert, Change, Channel, Commit, Delivery, HistoryEvent, Journal, JournalError, ProgressTask,
    ServiceState, Snapshot,
};

/// How often the checkpointer copies the live WAL back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// WAL frames after which the writer restarts the WAL.
const WAL_RESTART_FRAMES: i64 = 16 * 1024;

/// The SQLite-backed store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<WriterJob>>>,
    mover: Mutex<mpsc::Sender<MoverJob>>,
    reader: Arc<Mutex<Connection>>,
}

fn open_error(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        location: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn spawn(name: &str, path: &Path, work: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .map(|_| ())
        .map_err(|e| open_error(path, format!("cannot start thread {name}: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` (and its history file
    /// beside it) and starts its threads.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                open_error(
                    path,
                    format!("cannot create directory {}: {e}", parent.display()),
                )
            })?;
        }
        let history_file = history_path(path);
        let live = open_connection(path, options.durability, Cache::Large)?;
        live.execute_batch(LIVE_SCHEMA)
            .map_err(|e| open_error(path, e))?;
        schema::migrate(&live).map_err(|e| open_error(path, e))?;
        // Checkpoints happen beside the writer, never inside its commits.
        live.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;")
            .map_err(|e| open_error(path, e))?;
        let next_seq = read_next_seq(&live).map_err(|e| open_error(path, e))?;

        let history = open_connection(&history_file, options.durability, Cache::Large)?;
        history
            .execute_batch(HISTORY_SCHEMA)
            .map_err(|e| open_error(&history_file, e))?;
        history
            .execute("ATTACH DATABASE ?1 AS live", [path.to_string_lossy()])
            .map_err(|e| open_error(path, e))?;

        let reader = open_connection(path, options.durability, Cache::Small)?;
        attach_history(&reader, &history_file)?;
        let checkpointer = open_connection(path, options.durability, Cache::Small)?;

        let open = Arc::new(AtomicBool::new(true));
        let wal_full = Arc::new(AtomicBool::new(false));
        let (writer_jobs, writer_queue) = mpsc::channel();
        let (mover_jobs, mover_queue) = mpsc::channel();

        {
            let open = Arc::clone(&open);
            let wal_full = Arc::clone(&wal_full);
            spawn("laneswap-sqlite-checkpoint", path, move || {
                while open.load(Ordering::Relaxed) {
                    thread::sleep(CHECKPOINT_EVERY);
                    let frames =
                        checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE);", [], |row| {
                            row.get::<_, i64>(1)
                        });
                    match frames {
                        Ok(frames) if frames > WAL_RESTART_FRAMES => {
                            wal_full.store(true, Ordering::Relaxed)
                        }
                        Ok(_) => {}
                        Err(error) => tracing::debug!(%error, "passive checkpoint failed"),
                    }
                }
            })?;
        }
        {
            let mover = Mover {
                connection: history,
                retention: options.retention,
                writer: writer_jobs.clone(),
                open: Arc::clone(&open),
            };
            spawn("laneswap-sqlite-history", path, move || {
                mover.run(mover_queue)
            })?;
        }
        {
            let writer = Writer {
                connection: live,
                next_seq,
                dirty: HashMap::new(),
                wal_full,
                open,
                mover: mover_jobs.clone(),
            };
            spawn("laneswap-sqlite-writer", path, move || {
                writer.run(writer_queue)
            })?;
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(Some(writer_jobs)),
            mover: Mutex::new(mover_jobs),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    fn send(&self, job: WriterJob) -> Result<(), WriterJob> {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match writer.as_ref() {
            Some(sender) => sender.send(job).map_err(|e| e.0),
            None => Err(job),
        }
    }

    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || {
            let connection = reader.lock().unwrap_or_else(|p| p.into_inner());
            query(&connection)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?
    }
}

impl Journal for SqliteStore {
    fn submit(&self, changes: Vec<Change>) -> Commit {
        if changes.is_empty() {
            return Commit::Done(Ok(()));
        }
        let (done, commit) = Commit::channel();
        match self.send(WriterJob::Write((changes, done))) {
            Ok(()) => commit,
            Err(_) => Commit::Done(Err(JournalError::Closed)),
        }
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.read(load_snapshot).await
    }

    async fn history(
        &self,
        service_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let service_id = service_id.to_string();
        self.read(move |connection| read_history(connection, &service_id, query))
            .await
    }

    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        self.read(|connection| {
            read_deliveries(
                connection,
                "SELECT body FROM deliveries WHERE state = 'pending' ORDER BY rowid",
                params![],
            )
        })
        .await
    }

    async fn deliveries(
        &self,
        channel_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let channel_id = channel_id.to_string();
        self.read(move |connection| {
            read_deliveries(
                connection,
                "SELECT body FROM deliveries WHERE channel_id = ?1 ORDER BY rowid DESC LIMIT ?2",
                params![channel_id, limit as i64],
            )
        })
        .await
    }

    async fn apply_retention(&self) -> Result<(), StoreError> {
        // Rows first: retention keeps every event a stored row does not include.
        let (flushed, wait_flush) = oneshot::channel();
        self.send(WriterJob::FlushRows(flushed))
            .map_err(|_| StoreError::Closed)?;
        wait_flush.await.map_err(|_| StoreError::Closed)?;
        let (done, wait) = oneshot::channel();
        self.mover
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(MoverJob::Retention(done))
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    async fn close(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        if self.send(WriterJob::Close(done)).is_ok() {
            let _ = wait.await;
        }
        self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "sqlite:{} (history in {})",
            self.path.display(),
            history_path(&self.path).display()
        )
    }
}

/// Journal rows not yet moved into the history file, grouped by service,
/// oldest first (moved ones are read from the history file, where
/// retention applies).
fn journal_rows(connection: &Connection) -> Result<HashMap<String, Vec<EventRow>>, StoreError> {
    // The journal is read before the history file: a row trimmed from this
    // snapshot of the journal was moved before, so the (later) snapshot of
    // the history file has it. Callers hold one read transaction throughout.
    let mut statement = connection
        .prepare(&format!("SELECT {EVENT_COLUMNS} FROM journal ORDER BY seq"))
        .map_err(backend)?;
    let mut rows = statement.query([]).map_err(backend)?;
    let mut all = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        all.push(event_row(row)?);
    }
    let moved = moved_upto(connection)?;
    let mut by_service: HashMap<String, Vec<EventRow>> = HashMap::new();
    for row in all.into_iter().filter(|row| row.seq > moved) {
        by_service
            .entry(row.service_id.clone())
            .or_default()
            .push(row);
    }
    Ok(by_service)
}

fn read_deliveries(
    connection: &Connection,
    query: &str,
    parameters: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Delivery>, StoreError> {
    let mut statement = connection.prepare_cached(query).map_err(backend)?;
    let mut rows = statement.query(parameters).map_err(backend)?;
    let mut deliveries = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let body: String = row.get(0).map_err(backend)?;
        let delivery: Delivery = serde_json::from_str(&body)
            .map_err(|e| StoreError::Corrupt(format!("delivery: {e}")))?;
        deliveries.push(delivery);
    }
    Ok(deliveries)
}

/// How far the mover has copied the journal into the history file.
fn moved_upto(connection: &Connection) -> Result<i64, StoreError> {
    connection
        .query_row(
            "SELECT COALESCE((SELECT value FROM history.progress WHERE name = 'moved_upto'), 0)",
            [],
            |row| row.get(0),
        )
        .map_err(backend)
}

/// Runs `read` in one read transaction, so every statement sees the same
/// snapshot of each file.
fn in_read_transaction<T>(
    connection: &Connection,
    read: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection.execute_batch("BEGIN").map_err(backend)?;
    let result = read(connection);
    let _ = connection.execute_batch("COMMIT");
    result
}

/// Which events of a service to read at start-up.
#[derive(Clone, Copy)]
enum Select {
    /// Those after the service's stored row (to replay).
    AfterSeq(i64),
    /// The newest of the current registration (inline events).
    Since(chrono::DateTime<chrono::Utc>),
}

/// One service's events (history file and journal merged), newest first.
fn service_events(
    connection: &Connection,
    journal: &HashMap<String, Vec<EventRow>>,
    service_id: &str,
    select: Select,
) -> Result<Vec<EventRow>, StoreError> {
    let (filter, bound, limit) = match select {
        Select::AfterSeq(seq) => ("seq > ?2", seq, i64::MAX),
        Select::Since(at) => ("at >= ?2", micros(at), EVENTS_IN_RECORD as i64),
    };
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM history.events WHERE service_id = ?1 AND {filter} ORDER BY seq DESC LIMIT ?3"
        ))
        .map_err(backend)?;
    let mut rows = statement
        .query(params![service_id, bound, limit])
        .map_err(backend)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        events.push(event_row(row)?);
    }
    // Journal rows not moved yet (or moved but not trimmed: deduplicated).
    if let Some(recent) = journal.get(service_id) {
        let wanted = |row: &&EventRow| match select {
            Select::AfterSeq(seq) => row.seq > seq,
            Select::Since(at) => row.event.timestamp >= at,
        };
        for row in recent.iter().filter(wanted) {
            events.push(EventRow {
                service_id: row.service_id.clone(),
                seq: row.seq,
                event: row.event.clone(),
                reported_message: row.reported_message.clone(),
            });
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.seq));
    events.dedup_by_key(|e| e.seq);
    if let Select::Since(_) = select {
        events.truncate(EVENTS_IN_RECORD);
    }
    Ok(events)
}

fn load_snapshot(connection: &Connection) -> Result<Snapshot, StoreError> {
    in_read_transaction(connection, load_snapshot_in)
}

fn load_snapshot_in(connection: &Connection) -> Result<Snapshot, StoreError> {
    let journal = journal_rows(connection)?;
    let mut states: Vec<(ServiceState, i64)> = Vec::new();
    {
        let mut statement = connection
            .prepare(
                "SELECT id, name, status, message, status_message, metadata, created_at, last_heartbeat, updated_at, stale_threshold, applied_seq, paused_since, paused_until
                 FROM services ORDER BY rowid",
            )
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let status: String = row.get(2).map_err(backend)?;
            let metadata: String = row.get(5).map_err(backend)?;
            let optional_time =
                |index: usize| -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
                    row.get::<_, Option<i64>>(index)
                        .map_err(backend)?
                        .map(from_micros)
                        .transpose()
                };
            let state = ServiceState {
                id: row.get(0).map_err(backend)?,
                name: row.get(1).map_err(backend)?,
                status: parse(&status, "status")?,
                message: row.get(3).map_err(backend)?,
                status_message: row.get(4).map_err(backend)?,
                metadata: SharedMetadata::new(&parse_metadata(&metadata)?),
                created_at: from_micros(row.get(6).map_err(backend)?)?,
                last_heartbeat: optional_time(7)?,
                updated_at: optional_time(8)?,
                stale_threshold: row.get(9).map_err(backend)?,
                pause: match optional_time(11)? {
                    Some(since) => Some(Pause {
                        since,
                        until: optional_time(12)?,
                    }),
                    None => None,
                },
            };
            states.push((state, row.get(10).map_err(backend)?));
        }
    }
    let mut services = Vec::with_capacity(states.len());
    for (mut state, applied_seq) in states {
        // Replay what happened after the row was written.
        let newer = service_events(
            connection,
            &journal,
            &state.id,
            Select::AfterSeq(applied_seq),
        )?;
        for row in newer.iter().rev() {
            state.replay(&row.event, row.reported_message.clone());
        }
        // The newest inline events of the current registration.
        let inline = service_events(
            connection,
            &journal,
            &state.id,
            Select::Since(state.created_at),
        )?;
        let events: Vec<HistoryEvent> = inline
            .into_iter()
            .map(|row| HistoryEvent {
                metadata: None,
                ..row.event
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        services.push(crate::core::ServiceRecord::from_state(state, events));
    }
    let mut tasks = Vec::new();
    {
        let mut statement = connection
            .prepare("SELECT body FROM tasks ORDER BY rowid")
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let body: String = row.get(0).map_err(backend)?;
            let task: ProgressTask = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("task: {e}")))?;
            tasks.push(task);
        }
    }
    let mut alerts = Vec::new();
    {
        let mut statement = connection
            .prepare("SELECT body FROM alerts ORDER BY rowid")
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let body: String = row.get(0).map_err(backend)?;
            let alert: Alert = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("alert: {e}")))?;
            alerts.push(alert);
        }
    }
    let mut channels = Vec::new();
    {
        let mut statement = connection
            .prepare("SELECT body FROM channels ORDER BY rowid")
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let body: String = row.get(0).map_err(backend)?;
            let channel: Channel = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("channel: {e}")))?;
            channels.push(channel);
        }
    }
    Ok(Snapshot {
        services,
        tasks,
        alerts,
        channels,
    })
}

fn read_history(
    connection: &Connection,
    service_id: &str,
    query: HistoryQuery,
) -> Result<Vec<HistoryEvent>, StoreError> {
    let since = query.since.map(micros).unwrap_or(i64::MIN);
    in_read_transaction(connection, |connection| {
        // Journal first, then the history file (see `journal_rows`).
        let mut events = Vec::new();
        {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM journal WHERE service_id = ?1 AND at > ?2"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![service_id, since])
                .map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                events.push(event_row(row)?);
            }
        }
        let moved = moved_upto(connection)?;
        events.retain(|row| row.seq > moved);
        {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM history.events
                     WHERE service_id = ?1 AND at > ?2 ORDER BY seq DESC LIMIT ?3"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![service_id, since, query.limit as i64])
                .map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                events.push(event_row(row)?);
            }
        }
        events.sort_by_key(|row| std::cmp::Reverse(row.seq));
        events.dedup_by_key(|row| row.seq);
        events.truncate(query.limit);
        Ok(events.into_iter().map(|row| row.event).collect())
    })
}
