//! The local spool of the MongoDB backend: while the database cannot be
//! reached, every group of changes is appended here (one JSON line, synced
//! to disk before the commit is answered), so an acknowledged write is
//! never lost; a drain task applies the lines in order once the database is
//! back. While anything is spooled, new changes are spooled too, so the
//! database sees them in the order the core made them.
//!
//! The file is bounded: past the bound, writes are refused with a clear
//! error instead of filling the disk. A side file remembers how far the
//! drain got, so a restart neither loses nor replays applied lines (a crash
//! between applying a line and recording it replays that line; its events
//! carry fixed ids and are not inserted twice).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::{Change, JournalError};
use crate::storage::StoreError;

/// One spooled group: the changes and the order number their documents get.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    pub first_order: i64,
    pub changes: Vec<Change>,
}

/// What the health endpoint and the UI say while the spool holds writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub since: DateTime<Utc>,
    pub bytes: u64,
    pub reason: String,
}

struct State {
    file: File,
    /// Bytes in the file.
    len: u64,
    /// Offset of the first line not yet applied.
    drained: u64,
    since: Option<DateTime<Utc>>,
    reason: String,
}

pub struct Spool {
    path: PathBuf,
    offset_path: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
}

fn io(path: &Path, error: std::io::Error) -> String {
    format!("{}: {error}", path.display())
}

impl Spool {
    pub fn open(path: &Path, max_bytes: u64) -> Result<Spool, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            location: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| open_error(io(dir, e)))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| open_error(io(path, e)))?;
        let len = file.metadata().map_err(|e| open_error(io(path, e)))?.len();
        let offset_path = path.with_extension("offset");
        let drained = std::fs::read_to_string(&offset_path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(len);
        Ok(Spool {
            path: path.to_path_buf(),
            offset_path,
            max_bytes,
            state: Mutex::new(State {
                file,
                len,
                drained,
                since: (drained < len).then(Utc::now),
                reason: if drained < len {
                    "writes left from an earlier run".into()
                } else {
                    String::new()
                },
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether writes are waiting for the database.
    pub fn has_backlog(&self) -> bool {
        let state = self.state();
        state.drained < state.len
    }

    /// The backlog, if any.
    pub fn backlog(&self) -> Option<Backlog> {
        let state = self.state();
        (state.drained < state.len).then(|| Backlog {
            since: state.since.unwrap_or_else(Utc::now),
            bytes: state.len - state.drained,
            reason: state.reason.clone(),
        })
    }

    /// Appends a group durably; refuses it when the bound would be passed.
    pub fn append(&self, line: &Line, reason: &str) -> Result<(), JournalError> {
        let mut text = serde_json::to_string(line)
            .map_err(|error| JournalError::Write(format!("cannot spool: {error}")))?;
        text.push('\n');
        let mut state = self.state();
        if state.len + text.len() as u64 > self.max_bytes {
            return Err(JournalError::Write(format!(
                "MongoDB has been unreachable too long: the local spool {} is full ({} MB); writes are refused until it drains",
                self.path.display(),
                self.max_bytes / 1_048_576
            )));
        }
        let write = state
            .file
            .write_all(text.as_bytes())
            .and_then(|()| state.file.sync_data());
        if let Err(error) = write {
            return Err(JournalError::Write(format!(
                "cannot spool: {}",
                io(&self.path, error)
            )));
        }
        if state.drained == state.len {
            state.since = Some(Utc::now());
            state.reason = reason.to_string();
        }
        state.len += text.len() as u64;
        Ok(())
    }

    /// The lines not yet applied, each with the offset just past it.
    pub fn pending(&self) -> Result<Vec<(u64, Line)>, StoreError> {
        let mut state = self.state();
        let (start, end) = (state.drained, state.len);
        let mut bytes = Vec::with_capacity((end - start) as usize);
        let read = state
            .file
            .seek(SeekFrom::Start(start))
            .and_then(|_| (&state.file).take(end - start).read_to_end(&mut bytes));
        drop(state);
        read.map_err(|error| StoreError::Backend(io(&self.path, error)))?;
        let mut lines = Vec::new();
        let mut offset = start;
        for raw in bytes.split_inclusive(|b| *b == b'\n') {
            offset += raw.len() as u64;
            if raw.last() != Some(&b'\n') {
                break; // a line cut short by a crash: never acknowledged
            }
            let line: Line = serde_json::from_slice(raw).map_err(|error| {
                StoreError::Corrupt(format!("{}: {error}", self.path.display()))
            })?;
            lines.push((offset, line));
        }
        Ok(lines)
    }

    /// Records that everything before `end` is in the database; empties
    /// the file once all is.
    pub fn applied(&self, end: u64) -> Result<bool, StoreError> {
        let mut state = self.state();
        state.drained = end.min(state.len);
        let emptied = state.drained == state.len;
        let result = if emptied {
            state.len = 0;
            state.drained = 0;
            state.since = None;
            state.file.set_len(0).and_then(|()| state.file.sync_data())
        } else {
            Ok(())
        };
        result.map_err(|error| StoreError::Backend(io(&self.path, error)))?;
        let offset = state.drained.to_string();
        std::fs::write(&self.offset_path, offset)
            .map_err(|error| StoreError::Backend(io(&self.offset_path, error)))?;
        Ok(emptied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Change;

    fn line(order: i64) -> Line {
        Line {
            first_order: order,
            changes: vec![Change::RemoveTask {
                task_id: format!("t{order}"),
            }],
        }
    }

    #[test]
    fn lines_come_back_in_order_and_the_file_empties_when_drained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        let spool = Spool::open(&path, 1 << 20).unwrap();
        assert!(!spool.has_backlog());
        spool.append(&line(1), "down").unwrap();
        spool.append(&line(2), "down").unwrap();
        assert_eq!(spool.backlog().unwrap().reason, "down");
        let pending = spool.pending().unwrap();
        assert_eq!(
            pending
                .iter()
                .map(|(_, l)| l.first_order)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(!spool.applied(pending[0].0).unwrap());
        // A restart resumes after what was applied.
        drop(spool);
        let spool = Spool::open(&path, 1 << 20).unwrap();
        let pending = spool.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].1.first_order, 2);
        assert!(spool.applied(pending[0].0).unwrap());
        assert!(!spool.has_backlog());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn a_full_spool_refuses_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s.jsonl"), 100).unwrap();
        spool.append(&line(1), "down").unwrap();
        let error = spool.append(&line(2), "down").unwrap_err();
        assert!(error.to_string().contains("local spool"), "{error}");
        assert!(error.to_string().contains("is full"), "{error}");
    }
}
