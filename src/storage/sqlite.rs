//! The embedded store: one SQLite file in WAL mode.
//!
//! One writer thread owns the write connection. The core submits batches of
//! changes through a channel; the writer takes whatever has queued up, applies
//! it all in one transaction (group commit), and only then resolves each
//! batch's [`Commit`], so a caller is answered after its write is on disk.
//! Reads (the start-up snapshot, history) use a separate connection: WAL lets
//! them run beside the writer.
//!
//! A heartbeat is one row in `events`, clustered by service (one B-tree
//! page touched per heartbeat). Service rows are written lazily: the writer
//! keeps the newest state of each changed service and writes those rows
//! about once a second, each with the sequence number of the last event it
//! includes (`applied_seq`). Loading replays the events after `applied_seq`,
//! so a crash between two row flushes loses nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::memory::record_from_state;
use super::{Durability, HistoryQuery, Retention, Store, StoreError, StoreOptions};
use crate::core::model::{EventKind, EVENTS_IN_RECORD};
use crate::core::{
    Change, Commit, HistoryEvent, Journal, JournalError, Metadata, ProgressTask, ServiceState,
    Snapshot,
};

/// Batches taken into one transaction at most.
const MAX_GROUP: usize = 4096;
/// How often retention runs while the writer is otherwise idle or busy.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

/// How often the checkpointer copies the WAL back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// WAL frames after which the writer restarts the WAL (a short block: the
/// checkpointer has already copied almost all of them back).
const WAL_RESTART_FRAMES: i64 = 16 * 1024;

/// How often changed service rows are written (their events are durable at once).
const ROW_FLUSH_EVERY: Duration = Duration::from_secs(1);

const SCHEMA: &str = "
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
    applied_seq INTEGER NOT NULL DEFAULT 0
);
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
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
PRAGMA user_version = 1;
";

/// A batch of changes and where to report its commit.
type PendingWrite = (Vec<Change>, oneshot::Sender<Result<(), JournalError>>);

enum Job {
    Write {
        changes: Vec<Change>,
        done: oneshot::Sender<Result<(), JournalError>>,
    },
    Retention(oneshot::Sender<Result<(), StoreError>>),
    Close(oneshot::Sender<()>),
}

/// The SQLite-backed store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    reader: Arc<Mutex<Connection>>,
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {value} out of range")))
}

fn open_connection(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let open_error = |reason: String| StoreError::Open {
        location: path.display().to_string(),
        reason,
    };
    let connection = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
    let sync = match durability {
        Durability::Process => "NORMAL",
        Durability::Power => "FULL",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(|e| open_error(e.to_string()))?;
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts its writer.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                location: path.display().to_string(),
                reason: format!("cannot create directory {}: {e}", parent.display()),
            })?;
        }
        let writer = open_connection(path, options.durability)?;
        writer.execute_batch(SCHEMA).map_err(|e| StoreError::Open {
            location: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let next_seq = read_next_seq(&writer).map_err(|e| StoreError::Open {
            location: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let reader = open_connection(path, options.durability)?;
        let checkpointer = open_connection(path, options.durability)?;
        let open = Arc::new(AtomicBool::new(true));
        let still_open = Arc::clone(&open);
        let wal_full = Arc::new(AtomicBool::new(false));
        let signal_full = Arc::clone(&wal_full);
        // Checkpoints run beside the writer (PASSIVE), not inside its commits:
        // a commit never waits for the WAL to be copied back.
        thread::Builder::new()
            .name("laneswap-sqlite-checkpoint".into())
            .spawn(move || {
                while still_open.load(Ordering::Relaxed) {
                    thread::sleep(CHECKPOINT_EVERY);
                    let frames =
                        checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE);", [], |row| {
                            row.get::<_, i64>(1)
                        });
                    match frames {
                        Ok(frames) if frames > WAL_RESTART_FRAMES => {
                            signal_full.store(true, Ordering::Relaxed)
                        }
                        Ok(_) => {}
                        Err(error) => tracing::debug!(%error, "passive checkpoint failed"),
                    }
                }
            })
            .map_err(|e| StoreError::Open {
                location: path.display().to_string(),
                reason: format!("cannot start checkpoint thread: {e}"),
            })?;
        let (jobs, queue) = mpsc::channel();
        let retention = options.retention;
        thread::Builder::new()
            .name("laneswap-sqlite-writer".into())
            .spawn(move || {
                Writer {
                    connection: writer,
                    retention,
                    next_seq,
                    dirty: HashMap::new(),
                    wal_full,
                    open,
                }
                .run(queue)
            })
            .map_err(|e| StoreError::Open {
                location: path.display().to_string(),
                reason: format!("cannot start writer thread: {e}"),
            })?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(jobs)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    fn send(&self, job: Job) -> Result<(), Job> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        match jobs.as_ref() {
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
        match self.send(Job::Write { changes, done }) {
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

    async fn apply_retention(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.send(Job::Retention(done))
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    async fn close(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        if self.send(Job::Close(done)).is_ok() {
            let _ = wait.await;
        }
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok(())
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

/// Reads the next event sequence number (persisted once per commit).
fn read_next_seq(connection: &Connection) -> Result<i64, rusqlite::Error> {
    let stored: Option<i64> = connection
        .query_row(
            "SELECT value FROM counters WHERE name = 'event_seq'",
            [],
            |row| row.get(0),
        )
        .ok();
    match stored {
        Some(next) => Ok(next),
        None => connection.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM events", [], |row| {
            row.get(0)
        }),
    }
}

/// The state of a service whose row has not been written yet, and the
/// sequence number of the newest event it includes.
type DirtyRow = (ServiceState, i64);

struct Writer {
    connection: Connection,
    retention: Retention,
    /// Sequence number of the next event.
    next_seq: i64,
    /// Services whose newest state is only in their events so far.
    dirty: HashMap<String, DirtyRow>,
    /// Set by the checkpointer when the WAL should be restarted.
    wal_full: Arc<AtomicBool>,
    /// Cleared when the writer stops, which stops the checkpointer.
    open: Arc<AtomicBool>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.open.store(false, Ordering::Relaxed);
    }
}

/// What a committed transaction changed in the writer's own bookkeeping.
#[derive(Default)]
struct Applied {
    next_seq: i64,
    dirty: Vec<(String, DirtyRow)>,
    clean: Vec<String>,
}

impl Writer {
    fn run(mut self, queue: mpsc::Receiver<Job>) {
        let mut last_retention = Instant::now();
        let mut last_flush = Instant::now();
        loop {
            let first = match queue.recv_timeout(ROW_FLUSH_EVERY) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush_rows();
                    return;
                }
            };
            let mut writes = Vec::new();
            let mut others = Vec::new();
            let mut next = first;
            while let Some(job) = next.take() {
                match job {
                    Job::Write { changes, done } => writes.push((changes, done)),
                    other => others.push(other),
                }
                if writes.len() + others.len() < MAX_GROUP {
                    next = queue.try_recv().ok();
                }
            }
            self.commit_group(writes);
            for job in others {
                match job {
                    Job::Retention(done) => {
                        self.flush_rows();
                        let _ = done.send(self.retain());
                        last_retention = Instant::now();
                    }
                    Job::Close(done) => {
                        // Writes queued before the close are committed first.
                        let rest: Vec<_> = queue
                            .try_iter()
                            .filter_map(|job| match job {
                                Job::Write { changes, done } => Some((changes, done)),
                                _ => None,
                            })
                            .collect();
                        self.commit_group(rest);
                        self.flush_rows();
                        let _ = self
                            .connection
                            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
                        let _ = done.send(());
                        return;
                    }
                    Job::Write { .. } => {}
                }
            }
            if last_flush.elapsed() >= ROW_FLUSH_EVERY {
                self.flush_rows();
                last_flush = Instant::now();
            }
            self.bound_wal();
            if last_retention.elapsed() >= RETENTION_EVERY {
                self.retain_logged();
                last_retention = Instant::now();
            }
        }
    }

    /// Commits all batches in one transaction; if that fails, retries each
    /// batch alone so one bad batch cannot fail the others.
    fn commit_group(&mut self, writes: Vec<PendingWrite>) {
        if writes.is_empty() {
            return;
        }
        let all: Vec<&Change> = writes
            .iter()
            .flat_map(|(changes, _)| changes.iter())
            .collect();
        match self.transaction(&all) {
            Ok(applied) => {
                self.absorb(applied);
                for (_, done) in writes {
                    let _ = done.send(Ok(()));
                }
            }
            Err(group_error) => {
                tracing::warn!(error = %group_error, "group commit failed, retrying batches one by one");
                for (changes, done) in writes {
                    let refs: Vec<&Change> = changes.iter().collect();
                    let result = match self.transaction(&refs) {
                        Ok(applied) => {
                            self.absorb(applied);
                            Ok(())
                        }
                        Err(error) => {
                            tracing::error!(%error, "storage write failed");
                            Err(JournalError::Write(error.to_string()))
                        }
                    };
                    let _ = done.send(result);
                }
            }
        }
    }

    fn absorb(&mut self, applied: Applied) {
        self.next_seq = applied.next_seq;
        for id in applied.clean {
            self.dirty.remove(&id);
        }
        for (id, row) in applied.dirty {
            self.dirty.insert(id, row);
        }
    }

    /// Applies changes in one transaction. Bookkeeping is returned, not
    /// applied, so a rolled-back transaction leaves the writer as it was.
    fn transaction(&mut self, changes: &[&Change]) -> Result<Applied, rusqlite::Error> {
        let mut applied = Applied {
            next_seq: self.next_seq,
            ..Applied::default()
        };
        let tx = self.connection.transaction()?;
        for change in changes {
            apply_change(&tx, change, &mut applied)?;
        }
        if applied.next_seq != self.next_seq {
            tx.prepare_cached("INSERT INTO counters (name, value) VALUES ('event_seq', ?1) ON CONFLICT(name) DO UPDATE SET value = excluded.value")?
                .execute(params![applied.next_seq])?;
        }
        tx.commit()?;
        Ok(applied)
    }

    /// Keeps the WAL bounded if passive checkpoints cannot catch up.
    fn bound_wal(&mut self) {
        if self.wal_full.swap(false, Ordering::Relaxed) {
            if let Err(error) = self
                .connection
                .execute_batch("PRAGMA wal_checkpoint(RESTART);")
            {
                tracing::warn!(%error, "WAL restart failed");
            }
        }
    }

    /// Writes the rows of services changed since the last flush.
    fn flush_rows(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = self.connection.transaction()?;
            for (state, applied_seq) in self.dirty.values() {
                put_service(&tx, state, *applied_seq)?;
            }
            tx.commit()
        })();
        match result {
            Ok(()) => self.dirty.clear(),
            // The events are durable; rows are retried at the next flush.
            Err(error) => tracing::warn!(%error, "writing service rows failed; will retry"),
        }
    }

    fn retain_logged(&mut self) {
        if let Err(error) = self.retain() {
            tracing::warn!(%error, "history retention failed");
        }
    }

    fn retain(&mut self) -> Result<(), StoreError> {
        let Retention {
            max_events_per_service,
            max_age_days,
        } = self.retention;
        if max_age_days > 0 {
            let cutoff = Utc::now() - chrono::Duration::days(max_age_days as i64);
            self.connection
                .execute("DELETE FROM events WHERE at < ?1", params![micros(cutoff)])
                .map_err(backend)?;
        }
        if max_events_per_service > 0 {
            let services: Vec<String> = {
                let mut statement = self
                    .connection
                    .prepare("SELECT DISTINCT service_id FROM events")
                    .map_err(backend)?;
                let rows = statement.query_map([], |row| row.get(0)).map_err(backend)?;
                rows.collect::<Result<_, _>>().map_err(backend)?
            };
            let tx = self.connection.transaction().map_err(backend)?;
            for service_id in services {
                tx.prepare_cached(
                    "DELETE FROM events WHERE service_id = ?1 AND seq < (
                        SELECT seq FROM events WHERE service_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2
                    )",
                )
                .map_err(backend)?
                .execute(params![service_id, max_events_per_service as i64 - 1])
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
        }
        Ok(())
    }
}

fn to_json(metadata: &Metadata) -> String {
    serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_string())
}

fn put_service(
    tx: &rusqlite::Transaction<'_>,
    state: &ServiceState,
    applied_seq: i64,
) -> Result<(), rusqlite::Error> {
    let mut statement = tx.prepare_cached(
        "INSERT INTO services (id, name, status, message, status_message, metadata, created_at, last_heartbeat, updated_at, stale_threshold, applied_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, status = excluded.status,
            message = excluded.message, status_message = excluded.status_message,
            metadata = excluded.metadata, created_at = excluded.created_at,
            last_heartbeat = excluded.last_heartbeat, updated_at = excluded.updated_at,
            stale_threshold = excluded.stale_threshold, applied_seq = excluded.applied_seq",
    )?;
    statement.execute(params![
        state.id,
        state.name,
        state.status.as_str(),
        state.message,
        state.status_message,
        to_json(&state.metadata),
        micros(state.created_at),
        state.last_heartbeat.map(micros),
        state.updated_at.map(micros),
        state.stale_threshold,
        applied_seq,
    ])?;
    Ok(())
}

fn apply_change(
    tx: &rusqlite::Transaction<'_>,
    change: &Change,
    applied: &mut Applied,
) -> Result<(), rusqlite::Error> {
    match change {
        Change::PutService(state) => {
            // Every event so far belongs to earlier incarnations or is
            // already reflected: the row is complete as written.
            put_service(tx, state, applied.next_seq - 1)?;
            applied.dirty.retain(|(id, _)| id != &state.id);
            applied.clean.push(state.id.clone());
        }
        Change::RecordEvent { state, event } => {
            let seq = applied.next_seq;
            applied.next_seq += 1;
            let reported = match event.kind {
                EventKind::Heartbeat => state.message.as_deref(),
                EventKind::Stale => None,
            };
            tx.prepare_cached(
                "INSERT INTO events (service_id, seq, at, kind, status, message, reported_message, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                state.id,
                seq,
                micros(event.timestamp),
                event.kind.as_str(),
                event.status.as_str(),
                event.message,
                reported,
                event.metadata.as_ref().map(to_json),
            ])?;
            applied.clean.retain(|id| id != &state.id);
            applied.dirty.push((state.id.clone(), (state.clone(), seq)));
        }
        Change::RemoveService { service_id } => {
            tx.execute("DELETE FROM services WHERE id = ?1", params![service_id])?;
            tx.execute(
                "DELETE FROM events WHERE service_id = ?1",
                params![service_id],
            )?;
            tx.execute(
                "DELETE FROM tasks WHERE service_id = ?1",
                params![service_id],
            )?;
            applied.dirty.retain(|(id, _)| id != service_id);
            applied.clean.push(service_id.clone());
        }
        Change::PutTask(task) => {
            let body = serde_json::to_string(task).unwrap_or_else(|_| "{}".to_string());
            tx.prepare_cached(
                "INSERT INTO tasks (task_id, service_id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(task_id) DO UPDATE SET service_id = excluded.service_id, body = excluded.body",
            )?
            .execute(params![task.task_id, task.service_id, body])?;
        }
        Change::RemoveTask { task_id } => {
            tx.execute("DELETE FROM tasks WHERE task_id = ?1", params![task_id])?;
        }
    }
    Ok(())
}

fn parse_metadata(text: &str) -> Result<Metadata, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} {text:?}")))
}

fn load_snapshot(connection: &Connection) -> Result<Snapshot, StoreError> {
    let mut events_by_service: HashMap<String, Vec<HistoryEvent>> = HashMap::new();
    {
        let mut statement = connection
            .prepare(
                "SELECT service_id, at, kind, status, message FROM (
                    SELECT e.service_id, e.at, e.kind, e.status, e.message, e.seq,
                           ROW_NUMBER() OVER (PARTITION BY e.service_id ORDER BY e.seq DESC) AS rn
                    FROM events e JOIN services s ON s.id = e.service_id
                    WHERE e.at >= s.created_at
                 ) WHERE rn <= ?1 ORDER BY service_id, seq",
            )
            .map_err(backend)?;
        let mut rows = statement
            .query(params![EVENTS_IN_RECORD as i64])
            .map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let service_id: String = row.get(0).map_err(backend)?;
            let kind: String = row.get(2).map_err(backend)?;
            let status: String = row.get(3).map_err(backend)?;
            let event = HistoryEvent {
                kind: parse(&kind, "event kind")?,
                timestamp: from_micros(row.get(1).map_err(backend)?)?,
                status: parse(&status, "status")?,
                message: row.get(4).map_err(backend)?,
                metadata: None,
            };
            events_by_service.entry(service_id).or_default().push(event);
        }
    }
    let mut states: Vec<ServiceState> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    {
        let mut statement = connection
            .prepare(
                "SELECT id, name, status, message, status_message, metadata, created_at, last_heartbeat, updated_at, stale_threshold
                 FROM services ORDER BY rowid",
            )
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let status: String = row.get(2).map_err(backend)?;
            let metadata: String = row.get(5).map_err(backend)?;
            let state = ServiceState {
                id: row.get(0).map_err(backend)?,
                name: row.get(1).map_err(backend)?,
                status: parse(&status, "status")?,
                message: row.get(3).map_err(backend)?,
                status_message: row.get(4).map_err(backend)?,
                metadata: parse_metadata(&metadata)?,
                created_at: from_micros(row.get(6).map_err(backend)?)?,
                last_heartbeat: row
                    .get::<_, Option<i64>>(7)
                    .map_err(backend)?
                    .map(from_micros)
                    .transpose()?,
                updated_at: row
                    .get::<_, Option<i64>>(8)
                    .map_err(backend)?
                    .map(from_micros)
                    .transpose()?,
                stale_threshold: row.get(9).map_err(backend)?,
            };
            position.insert(state.id.clone(), states.len());
            states.push(state);
        }
    }
    // Events newer than a row's state: replay them onto it.
    {
        let mut statement = connection
            .prepare(
                "SELECT e.service_id, e.at, e.kind, e.status, e.message, e.reported_message, e.metadata
                 FROM events e JOIN services s ON s.id = e.service_id
                 WHERE e.seq > s.applied_seq ORDER BY e.service_id, e.seq",
            )
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let service_id: String = row.get(0).map_err(backend)?;
            let kind: String = row.get(2).map_err(backend)?;
            let status: String = row.get(3).map_err(backend)?;
            let metadata: Option<String> = row.get(6).map_err(backend)?;
            let event = HistoryEvent {
                kind: parse(&kind, "event kind")?,
                timestamp: from_micros(row.get(1).map_err(backend)?)?,
                status: parse(&status, "status")?,
                message: row.get(4).map_err(backend)?,
                metadata: metadata.as_deref().map(parse_metadata).transpose()?,
            };
            if let Some(&index) = position.get(&service_id) {
                states[index].replay(&event, row.get(5).map_err(backend)?);
            }
        }
    }
    let services = states
        .into_iter()
        .map(|state| {
            let events = events_by_service.remove(&state.id).unwrap_or_default();
            record_from_state(state, events)
        })
        .collect();
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
    Ok(Snapshot { services, tasks })
}

fn read_history(
    connection: &Connection,
    service_id: &str,
    query: HistoryQuery,
) -> Result<Vec<HistoryEvent>, StoreError> {
    let since = query.since.map(micros).unwrap_or(i64::MIN);
    let mut statement = connection
        .prepare_cached(
            "SELECT at, kind, status, message, metadata FROM events
             WHERE service_id = ?1 AND at > ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .map_err(backend)?;
    let mut rows = statement
        .query(params![service_id, since, query.limit as i64])
        .map_err(backend)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let kind: String = row.get(1).map_err(backend)?;
        let status: String = row.get(2).map_err(backend)?;
        let metadata: Option<String> = row.get(4).map_err(backend)?;
        events.push(HistoryEvent {
            kind: parse(&kind, "event kind")?,
            timestamp: from_micros(row.get(0).map_err(backend)?)?,
            status: parse(&status, "status")?,
            message: row.get(3).map_err(backend)?,
            metadata: metadata.as_deref().map(parse_metadata).transpose()?,
        });
    }
    Ok(events)
}
