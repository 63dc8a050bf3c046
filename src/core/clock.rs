//! Injectable time. Production reads the system clock; tests use
//! [`TokioClock`] under `tokio::time::pause()` so that advancing tokio's
//! virtual time also advances the wall clock the core sees.

use chrono::{DateTime, Utc};

/// A source of "now" for the core.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time derived from tokio's clock: `start + (tokio now - tokio start)`.
/// Under a paused tokio runtime it moves only when tests advance time.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall_start: DateTime<Utc>,
    tokio_start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `wall_start` now and follows tokio time from here.
    pub fn starting_at(wall_start: DateTime<Utc>) -> Self {
        TokioClock {
            wall_start,
            tokio_start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.tokio_start;
        self.wall_start
            + chrono::Duration::from_std(elapsed).unwrap_or_else(|_| chrono::Duration::zero())
    }
}
