//! Deliveries: one notification on its way to one channel. The core creates
//! them in the same commit as the transition that calls for them (so an
//! answered request never loses its notification); the delivery worker in
//! `notify` sends them and records every attempt.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::wire_time;
use super::notifications::Notification;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver accepted it.
    Delivered,
    /// Given up: a permanent refusal, or the channel is gone.
    Failed,
}

/// One try at sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "wire_time")]
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything (network error, timeout, refusal).
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// Attempts kept per delivery (the newest).
pub const ATTEMPTS_KEPT: usize = 20;

/// One notification for one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub channel_id: String,
    pub notification: Notification,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    #[serde(with = "wire_time")]
    pub next_attempt_at: DateTime<Utc>,
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "wire_time::option")]
    pub finished_at: Option<DateTime<Utc>>,
    /// When it went out inside another delivery's digest message.
    pub digest_id: Option<String>,
    /// The receiver's id for the message (Discord, with `?wait=true`), so
    /// that acknowledgement and resolution can edit it.
    #[serde(default)]
    pub message_id: Option<String>,
}

impl Delivery {
    pub fn new(channel_id: &str, notification: Notification, now: DateTime<Utc>) -> Self {
        Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            channel_id: channel_id.to_string(),
            notification,
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            next_attempt_at: now,
            created_at: now,
            finished_at: None,
            digest_id: None,
            message_id: None,
        }
    }

    /// Records an attempt, keeping the newest [`ATTEMPTS_KEPT`].
    pub fn record(&mut self, attempt: Attempt) {
        self.attempts.push(attempt);
        if self.attempts.len() > ATTEMPTS_KEPT {
            let excess = self.attempts.len() - ATTEMPTS_KEPT;
            self.attempts.drain(..excess);
        }
    }
}

/// How many of a channel's newest deliveries [`latest_activity`] looks at.
pub const HEALTH_WINDOW: usize = 20;

/// The delivery that best tells a channel's health: among `newest_first`,
/// the one attempted most recently (a queue behind a back-off has newer
/// deliveries with no attempt yet), else the newest.
pub fn latest_activity(newest_first: &[Delivery]) -> Option<&Delivery> {
    newest_first
        .iter()
        .filter_map(|delivery| {
            delivery
                .attempts
                .last()
                .map(|attempt| (attempt.at, delivery))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, delivery)| delivery)
        .or_else(|| newest_first.first())
}
