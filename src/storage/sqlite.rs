//! The embedded store: one SQLite file in WAL mode.
//!
//! One writer thread owns the write connection. The core submits batches of
//! changes through a channel; the writer takes whatever has queued up, applies
//! it all in one transaction (group commit), and only then resolves each
//! batch's [`Commit`], so a caller is answered after its write is on disk.
//! Reads (the start-up snapshot, history) use a separate connection: WAL lets
//! them run beside the writer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::memory::record_from_state;
use super::{Durability, HistoryQuery, Retention, Store, StoreError, StoreOptions};
use crate::core::model::EVENTS_IN_RECORD;
use crate::core::{
    Change, Commit, HistoryEvent, Journal, JournalError, Metadata, ProgressTask, ServiceState,
    Snapshot,
};

/// Batches taken into one transaction at most.
const MAX_GROUP: usize = 4096;
/// How often retention runs while the writer is otherwise idle or busy.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

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
    stale_threshold REAL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    service_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS events_by_service ON events(service_id, seq);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    body TEXT NOT NULL
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
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF;"
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
        let reader = open_connection(path, options.durability)?;
        let (jobs, queue) = mpsc::channel();
        let retention = options.retention;
        thread::Builder::new()
            .name("laneswap-sqlite-writer".into())
            .spawn(move || {
                Writer {
                    connection: writer,
                    retention,
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

struct Writer {
    connection: Connection,
    retention: Retention,
}

impl Writer {
    fn run(mut self, queue: mpsc::Receiver<Job>) {
        let mut last_retention = Instant::now();
        loop {
            let first = match queue.recv_timeout(RETENTION_EVERY) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    self.retain_logged();
                    last_retention = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut writes = Vec::new();
            let mut others = Vec::new();
            let mut next = Some(first);
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
                        let _ = done.send(self.retain());
                        last_retention = Instant::now();
                    }
                    Job::Close(done) => {
                        // Later writes already queued are committed first.
                        let rest: Vec<_> = queue
                            .try_iter()
                            .filter_map(|job| match job {
                                Job::Write { changes, done } => Some((changes, done)),
                                _ => None,
                            })
                            .collect();
                        self.commit_group(rest);
                        let _ = self
                            .connection
                            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
                        let _ = done.send(());
                        return;
                    }
                    Job::Write { .. } => {}
                }
            }
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
            Ok(()) => {
                for (_, done) in writes {
                    let _ = done.send(Ok(()));
                }
            }
            Err(group_error) => {
                tracing::warn!(error = %group_error, "group commit failed, retrying batches one by one");
                for (changes, done) in writes {
                    let refs: Vec<&Change> = changes.iter().collect();
                    let result = self
                        .transaction(&refs)
                        .map_err(|e| JournalError::Write(e.to_string()));
                    if let Err(error) = &result {
                        tracing::error!(%error, "storage write failed");
                    }
                    let _ = done.send(result);
                }
            }
        }
    }

    fn transaction(&mut self, changes: &[&Change]) -> Result<(), rusqlite::Error> {
        let tx = self.connection.transaction()?;
        for change in changes {
            apply_change(&tx, change)?;
        }
        tx.commit()
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
            self.connection
                .execute(
                    "DELETE FROM events WHERE seq IN (
                        SELECT seq FROM (
                            SELECT seq, ROW_NUMBER() OVER (PARTITION BY service_id ORDER BY seq DESC) AS rn
                            FROM events
                        ) WHERE rn > ?1
                    )",
                    params![max_events_per_service as i64],
                )
                .map_err(backend)?;
        }
        Ok(())
    }
}

fn to_json(metadata: &Metadata) -> String {
    serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_string())
}

fn apply_change(tx: &rusqlite::Transaction<'_>, change: &Change) -> Result<(), rusqlite::Error> {
    match change {
        Change::PutService(state) => {
            let mut statement = tx.prepare_cached(
                "INSERT INTO services (id, name, status, message, status_message, metadata, created_at, last_heartbeat, updated_at, stale_threshold)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, status = excluded.status,
                    message = excluded.message, status_message = excluded.status_message,
                    metadata = excluded.metadata, created_at = excluded.created_at,
                    last_heartbeat = excluded.last_heartbeat, updated_at = excluded.updated_at,
                    stale_threshold = excluded.stale_threshold",
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
            ])?;
        }
        Change::AppendEvent { service_id, event } => {
            let mut statement = tx.prepare_cached(
                "INSERT INTO events (service_id, at, kind, status, message, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            statement.execute(params![
                service_id,
                micros(event.timestamp),
                event.kind.as_str(),
                event.status.as_str(),
                event.message,
                event.metadata.as_ref().map(to_json),
            ])?;
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
        }
        Change::PutTask(task) => {
            let body = serde_json::to_string(task).unwrap_or_else(|_| "{}".to_string());
            let mut statement = tx.prepare_cached(
                "INSERT INTO tasks (task_id, service_id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(task_id) DO UPDATE SET service_id = excluded.service_id, body = excluded.body",
            )?;
            statement.execute(params![task.task_id, task.service_id, body])?;
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
    let mut services = Vec::new();
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
            let events = events_by_service.remove(&state.id).unwrap_or_default();
            services.push(record_from_state(state, events));
        }
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
