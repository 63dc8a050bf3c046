//! The live file's single writer thread: group commit of the core's changes.
//!
//! It takes whatever batches have queued up, applies them all in one
//! transaction, and resolves each batch's commit only after that transaction
//! committed. Service rows are written lazily (about once a second) with the
//! sequence number of the newest event they include; loading replays the
//! newer events, so a crash between flushes loses nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::history::MoverJob;
use super::schema::{micros, to_json};
use crate::core::model::EventKind;
use crate::core::{Change, DeliveryState, JournalError, ServiceState};

/// Batches taken into one transaction at most.
const MAX_GROUP: usize = 4096;
/// How often changed service rows are written (their events are durable at once).
const ROW_FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often finished deliveries beyond the kept number are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Background work (row writes, journal trims) is done in slices of this
/// many rows between group commits, so no commit waits long behind it.
const SLICE_ROWS: usize = 256;
/// How long the writer waits for work before doing background slices.
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// A batch of changes and where to report its commit.
pub type PendingWrite = (Vec<Change>, oneshot::Sender<Result<(), JournalError>>);

/// Work for the writer.
pub enum WriterJob {
    Write(PendingWrite),
    /// Journal rows up to this sequence number are in the history file.
    TrimJournal(i64),
    /// Write the pending service rows now.
    FlushRows(oneshot::Sender<()>),
    /// Commit what is queued, write the rows, checkpoint, stop.
    Close(oneshot::Sender<()>),
}

/// The state of a service whose row has not been written yet, and the
/// sequence number of the newest event it includes.
type DirtyRow = (ServiceState, i64);

pub struct Writer {
    pub connection: Connection,
    /// Sequence number of the next event.
    pub next_seq: i64,
    /// Services whose newest state is only in their events so far.
    pub dirty: HashMap<String, DirtyRow>,
    /// Set by the checkpointer when the WAL should be restarted.
    pub wal_full: Arc<AtomicBool>,
    /// Cleared when the writer stops, which stops the helper threads.
    pub open: Arc<AtomicBool>,
    pub mover: mpsc::Sender<MoverJob>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.open.store(false, Ordering::Relaxed);
    }
}

/// What a committed transaction changed in the writer's bookkeeping.
#[derive(Default)]
struct Applied {
    next_seq: i64,
    dirty: Vec<(String, DirtyRow)>,
    clean: Vec<String>,
    removed: Vec<String>,
}

/// Reads the next event sequence number (persisted once per commit).
pub fn read_next_seq(connection: &Connection) -> Result<i64, rusqlite::Error> {
    let stored: Option<i64> = connection
        .query_row(
            "SELECT value FROM counters WHERE name = 'event_seq'",
            [],
            |row| row.get(0),
        )
        .ok();
    match stored {
        Some(next) => Ok(next),
        None => connection.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM journal", [], |row| {
            row.get(0)
        }),
    }
}

impl Writer {
    pub fn run(mut self, queue: mpsc::Receiver<WriterJob>) {
        let mut last_flush = Instant::now();
        let mut last_prune = Instant::now();
        // Rows to write in this round of flushing, and how far to trim.
        let mut flush_round: Vec<String> = Vec::new();
        let mut trim_to: Option<i64> = None;
        let mut trimmed_to: i64 = 0;
        loop {
            let first = match queue.recv_timeout(IDLE_WAIT) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush_rows();
                    return;
                }
            };
            let mut writes = Vec::new();
            let mut trim = None;
            let mut close = None;
            let mut flushed = Vec::new();
            let mut next = first;
            while let Some(job) = next.take() {
                match job {
                    WriterJob::Write(write) => writes.push(write),
                    WriterJob::TrimJournal(upto) => trim = trim.max(Some(upto)),
                    WriterJob::Close(done) => close = Some(done),
                    WriterJob::FlushRows(done) => flushed.push(done),
                }
                if close.is_none() && writes.len() < MAX_GROUP {
                    next = queue.try_recv().ok();
                }
            }
            self.commit_group(writes);
            if trim.is_some() {
                trim_to = trim_to.max(trim);
            }
            if let Some(target) = trim_to {
                if trimmed_to == 0 {
                    trimmed_to = self
                        .connection
                        .query_row("SELECT COALESCE(MIN(seq), 1) - 1 FROM journal", [], |row| {
                            row.get(0)
                        })
                        .unwrap_or(0);
                }
                let step = target.min(trimmed_to + SLICE_ROWS as i64 * 8);
                match self
                    .connection
                    .execute("DELETE FROM journal WHERE seq <= ?1", params![step])
                {
                    Ok(_) => trimmed_to = step,
                    Err(error) => tracing::warn!(%error, "trimming the journal failed; will retry"),
                }
                if trimmed_to >= target {
                    trim_to = None;
                }
            }
            if !flushed.is_empty() {
                self.flush_rows();
                for done in flushed {
                    let _ = done.send(());
                }
            }
            if let Some(done) = close {
                self.flush_rows();
                let _ = self
                    .connection
                    .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
                let _ = done.send(());
                return;
            }
            if flush_round.is_empty() && last_flush.elapsed() >= ROW_FLUSH_EVERY {
                flush_round = self.dirty.keys().cloned().collect();
                last_flush = Instant::now();
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                self.prune_deliveries();
                last_prune = Instant::now();
            }
            if !flush_round.is_empty() {
                let cut = flush_round.len().saturating_sub(SLICE_ROWS);
                let slice = flush_round.split_off(cut);
                self.flush_some(&slice);
            }
            if self.wal_full.swap(false, Ordering::Relaxed) {
                // Between two of the writer's own commits a passive checkpoint
                // can finish the copy the checkpointer began (it waits for no
                // reader), and then the next commit starts the WAL over.
                if let Err(error) = self
                    .connection
                    .execute_batch("PRAGMA wal_checkpoint(PASSIVE);")
                {
                    tracing::warn!(%error, "WAL checkpoint failed");
                }
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
        for id in applied.removed {
            let _ = self.mover.send(MoverJob::Purge(id));
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
            tx.prepare_cached(
                "INSERT INTO counters (name, value) VALUES ('event_seq', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![applied.next_seq])?;
        }
        tx.commit()?;
        Ok(applied)
    }

    /// Keeps the newest finished deliveries (the delivery log), deletes older ones.
    fn prune_deliveries(&mut self) {
        let kept = crate::storage::FINISHED_DELIVERIES_KEPT as i64;
        let result = self.connection.execute(
            "DELETE FROM deliveries WHERE state != 'pending' AND rowid <= (
                SELECT rowid FROM deliveries WHERE state != 'pending' ORDER BY rowid DESC LIMIT 1 OFFSET ?1
            )",
            params![kept],
        );
        if let Err(error) = result {
            tracing::warn!(%error, "pruning the delivery log failed");
        }
    }

    /// Writes the rows of these services, if they are still pending.
    fn flush_some(&mut self, ids: &[String]) {
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = self.connection.transaction()?;
            for id in ids {
                if let Some((state, applied_seq)) = self.dirty.get(id) {
                    put_service(&tx, state, *applied_seq)?;
                }
            }
            tx.commit()
        })();
        match result {
            Ok(()) => {
                for id in ids {
                    self.dirty.remove(id);
                }
            }
            Err(error) => tracing::warn!(%error, "writing service rows failed; will retry"),
        }
    }

    /// Writes the rows of every service changed since the last flush.
    fn flush_rows(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let ids: Vec<String> = self.dirty.keys().cloned().collect();
        self.flush_some(&ids);
    }
}

fn put_service(
    tx: &rusqlite::Transaction<'_>,
    state: &ServiceState,
    applied_seq: i64,
) -> Result<(), rusqlite::Error> {
    tx.prepare_cached(
        "INSERT INTO services (id, name, status, message, status_message, metadata, created_at, last_heartbeat, updated_at, stale_threshold, applied_seq, paused_since, paused_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, status = excluded.status,
            message = excluded.message, status_message = excluded.status_message,
            metadata = excluded.metadata, created_at = excluded.created_at,
            last_heartbeat = excluded.last_heartbeat, updated_at = excluded.updated_at,
            stale_threshold = excluded.stale_threshold, applied_seq = excluded.applied_seq,
            paused_since = excluded.paused_since, paused_until = excluded.paused_until",
    )?
    .execute(params![
        state.id,
        state.name,
        state.status.as_str(),
        state.message,
        state.status_message,
        state.metadata.json(),
        micros(state.created_at),
        state.last_heartbeat.map(micros),
        state.updated_at.map(micros),
        state.stale_threshold,
        applied_seq,
        state.pause.map(|pause| micros(pause.since)),
        state.pause.and_then(|pause| pause.until).map(micros),
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
            // Every event so far belongs to an earlier incarnation or is
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
                "INSERT INTO journal (seq, service_id, at, kind, status, message, reported_message, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                seq,
                state.id,
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
            tx.prepare_cached("DELETE FROM services WHERE id = ?1")?
                .execute(params![service_id])?;
            tx.prepare_cached("DELETE FROM journal WHERE service_id = ?1")?
                .execute(params![service_id])?;
            tx.prepare_cached("DELETE FROM tasks WHERE service_id = ?1")?
                .execute(params![service_id])?;
            tx.prepare_cached("DELETE FROM alerts WHERE service_id = ?1")?
                .execute(params![service_id])?;
            applied.dirty.retain(|(id, _)| id != service_id);
            applied.clean.push(service_id.clone());
            applied.removed.push(service_id.clone());
        }
        Change::PutDelivery(delivery) => {
            let body = serde_json::to_string(delivery).unwrap_or_else(|_| "{}".to_string());
            let state = match delivery.state {
                DeliveryState::Pending => "pending",
                DeliveryState::Delivered => "delivered",
                DeliveryState::Failed => "failed",
            };
            tx.prepare_cached(
                "INSERT INTO deliveries (id, channel_id, state, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body",
            )?
            .execute(params![delivery.id, delivery.channel_id, state, body])?;
        }
        Change::PutChannel(channel) => {
            let body = serde_json::to_string(channel).unwrap_or_else(|_| "{}".to_string());
            tx.prepare_cached(
                "INSERT INTO channels (id, body) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![channel.id, body])?;
        }
        Change::RemoveChannel { id } => {
            tx.prepare_cached("DELETE FROM channels WHERE id = ?1")?
                .execute(params![id])?;
            tx.prepare_cached("DELETE FROM deliveries WHERE channel_id = ?1")?
                .execute(params![id])?;
        }
        Change::RemoveAlert { id } => {
            tx.prepare_cached("DELETE FROM alerts WHERE id = ?1")?
                .execute(params![id])?;
        }
        Change::PutAlert(alert) => {
            let body = serde_json::to_string(alert).unwrap_or_else(|_| "{}".to_string());
            tx.prepare_cached(
                "INSERT INTO alerts (id, service_id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET service_id = excluded.service_id, body = excluded.body",
            )?
            .execute(params![alert.id, alert.service_id, body])?;
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
            tx.prepare_cached("DELETE FROM tasks WHERE task_id = ?1")?
                .execute(params![task_id])?;
        }
    }
    Ok(())
}
