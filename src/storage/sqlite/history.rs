//! The history mover: a background thread that owns the history file. About
//! once a second it copies the journal's new rows into `events` (clustered
//! by service, so each page it touches takes many events at once), tells the
//! writer it may trim them from the journal, and applies retention. Ingest
//! never waits for it: it writes another file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::schema::{backend, micros, EVENT_COLUMNS};
use super::writer::WriterJob;
use crate::storage::{Retention, StoreError};

/// How often the journal is moved into the history file.
const MOVE_EVERY: Duration = Duration::from_secs(1);
/// How often retention runs on its own.
const RETENTION_EVERY: Duration = Duration::from_secs(300);

/// Work for the mover.
pub enum MoverJob {
    /// A service was deleted: delete its history.
    Purge(String),
    /// Move the journal now, then apply retention.
    Retention(oneshot::Sender<Result<(), StoreError>>),
}

pub struct Mover {
    /// The history file, with the live file attached as `live`.
    pub connection: Connection,
    pub retention: Retention,
    pub writer: mpsc::Sender<WriterJob>,
    pub open: Arc<AtomicBool>,
}

impl Mover {
    pub fn run(self, queue: mpsc::Receiver<MoverJob>) {
        // History of services deleted while a move was in flight, before a crash.
        if let Err(error) = self.connection.execute(
            "DELETE FROM events WHERE service_id NOT IN (SELECT id FROM live.services)",
            [],
        ) {
            tracing::warn!(%error, "removing orphaned history failed");
        }
        let mut last_retention = Instant::now();
        while self.open.load(Ordering::Relaxed) {
            match queue.recv_timeout(MOVE_EVERY) {
                Ok(MoverJob::Purge(service_id)) => self.purge(&service_id),
                Ok(MoverJob::Retention(done)) => {
                    let result = self.move_journal().and_then(|()| self.retain());
                    let _ = done.send(result);
                    last_retention = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if let Err(error) = self.move_journal() {
                tracing::warn!(%error, "moving the journal into history failed; will retry");
            }
            if last_retention.elapsed() >= RETENTION_EVERY {
                if let Err(error) = self.retain() {
                    tracing::warn!(%error, "history retention failed");
                }
                last_retention = Instant::now();
            }
        }
    }

    fn purge(&self, service_id: &str) {
        if let Err(error) = self.connection.execute(
            "DELETE FROM events WHERE service_id = ?1",
            params![service_id],
        ) {
            tracing::warn!(%error, service_id, "deleting the history of a removed service failed");
        }
    }

    /// Copies the journal rows not moved before into `events`, records how
    /// far it got (in the same transaction), then lets the writer trim them.
    /// A row is moved once: retention may delete it from `events` while the
    /// journal still holds it, and it must not come back.
    pub fn move_journal(&self) -> Result<(), StoreError> {
        let moved: i64 = self
            .connection
            .query_row(
                "SELECT COALESCE((SELECT value FROM progress WHERE name = 'moved_upto'), 0)",
                [],
                |row| row.get(0),
            )
            .map_err(backend)?;
        let upto: Option<i64> = self
            .connection
            .query_row("SELECT MAX(seq) FROM live.journal", [], |row| row.get(0))
            .map_err(backend)?;
        let Some(upto) = upto.filter(|upto| *upto > moved) else {
            if let Some(upto) = upto {
                let _ = self.writer.send(WriterJob::TrimJournal(upto));
            }
            return Ok(());
        };
        let moved_now = (|| -> Result<(), rusqlite::Error> {
            self.connection.execute_batch("BEGIN")?;
            self.connection.execute(
                &format!(
                    "INSERT OR IGNORE INTO events ({EVENT_COLUMNS})
                     SELECT {EVENT_COLUMNS} FROM live.journal
                     WHERE seq > ?1 AND seq <= ?2 AND service_id IN (SELECT id FROM live.services)"
                ),
                params![moved, upto],
            )?;
            self.connection.execute(
                "INSERT INTO progress (name, value) VALUES ('moved_upto', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![upto],
            )?;
            self.connection.execute_batch("COMMIT")
        })();
        if let Err(error) = moved_now {
            let _ = self.connection.execute_batch("ROLLBACK");
            return Err(backend(error));
        }
        let _ = self.writer.send(WriterJob::TrimJournal(upto));
        Ok(())
    }

    fn retain(&self) -> Result<(), StoreError> {
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
            self.connection.execute_batch("BEGIN").map_err(backend)?;
            for service_id in services {
                let deleted = self
                    .connection
                    .prepare_cached(
                        // Never an event newer than the service's stored row:
                        // those are still needed to rebuild it.
                        "DELETE FROM events WHERE service_id = ?1 AND seq < (
                            SELECT seq FROM events WHERE service_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2
                        ) AND seq <= COALESCE((SELECT applied_seq FROM live.services WHERE id = ?1), 0)",
                    )
                    .and_then(|mut statement| statement.execute(params![service_id, max_events_per_service as i64 - 1]));
                if let Err(error) = deleted {
                    let _ = self.connection.execute_batch("ROLLBACK");
                    return Err(backend(error));
                }
            }
            self.connection.execute_batch("COMMIT").map_err(backend)?;
        }
        Ok(())
    }
}
