//! Plain data types of the heartbeat core: statuses, service records, history
//! events and progress tasks. They serialize to the original LaneSwap wire
//! shapes so the API layer can emit them without translation tables.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

pub use super::metadata::{Metadata, SharedMetadata};

/// How many events a service record keeps inline (the original kept 100).
pub const EVENTS_IN_RECORD: usize = 100;

/// The seven heartbeat statuses, in the original declaration order: the
/// order matters for `summary.status_counts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Warning,
    Degraded,
    Error,
    Busy,
    Stale,
    Unknown,
}

impl Status {
    /// All statuses in wire order.
    pub const ALL: [Status; 7] = [
        Status::Healthy,
        Status::Warning,
        Status::Degraded,
        Status::Error,
        Status::Busy,
        Status::Stale,
        Status::Unknown,
    ];

    /// The exact wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Warning => "warning",
            Status::Degraded => "degraded",
            Status::Error => "error",
            Status::Busy => "busy",
            Status::Stale => "stale",
            Status::Unknown => "unknown",
        }
    }

    /// How bad a status is, for sorting by severity (higher is worse).
    pub fn severity(self) -> u8 {
        match self {
            Status::Error => 6,
            Status::Stale => 5,
            Status::Degraded => 4,
            Status::Warning => 3,
            Status::Unknown => 2,
            Status::Busy => 1,
            Status::Healthy => 0,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that is not one of the seven statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// Serializes a timestamp as RFC 3339 UTC with exactly six fractional digits
/// and a `+00:00` offset, which every Python `fromisoformat` accepts.
///
/// Written digit by digit: it runs for every timestamp of every response,
/// and chrono's format-string machinery is an order of magnitude slower.
pub fn format_timestamp(at: &DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    fn digits(out: &mut [u8], mut value: u32) {
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    let mut text = *b"0000-00-00T00:00:00.000000+00:00";
    digits(&mut text[0..4], at.year().clamp(0, 9999) as u32);
    digits(&mut text[5..7], at.month());
    digits(&mut text[8..10], at.day());
    digits(&mut text[11..13], at.hour());
    digits(&mut text[14..16], at.minute());
    digits(&mut text[17..19], at.second().min(59));
    digits(&mut text[20..26], at.timestamp_subsec_micros().min(999_999));
    text.iter().map(|&b| b as char).collect()
}

/// serde helper for `DateTime<Utc>` in the wire format of [`format_timestamp`].
pub mod wire_time {
    use super::*;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(at))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    /// The same for `Option<DateTime<Utc>>`.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.serialize_str(&format_timestamp(at)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let text = Option::<String>::deserialize(d)?;
            text.map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
        }
    }
}

/// What produced a history event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A heartbeat sent by the service.
    Heartbeat,
    /// The monitor found the service silent past its deadline.
    Stale,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Heartbeat => "heartbeat",
            EventKind::Stale => "stale",
        }
    }
}

impl FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "heartbeat" => Ok(EventKind::Heartbeat),
            "stale" => Ok(EventKind::Stale),
            other => Err(format!("unknown event kind {other:?}")),
        }
    }
}

/// One entry of a service's history. Inline in the record it serializes as the
/// original `{"type","timestamp","status","message"}`; the metadata that came
/// with a heartbeat is kept in the store's history only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(with = "wire_time")]
    pub timestamp: DateTime<Utc>,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<Metadata>,
}

/// Maintenance: while a pause is active the service never goes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    #[serde(with = "wire_time")]
    pub since: DateTime<Utc>,
    /// When the pause ends by itself (`None`: until resumed).
    #[serde(with = "wire_time::option")]
    pub until: Option<DateTime<Utc>>,
}

impl Pause {
    /// Whether the pause still holds at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// A registered service, as the core keeps it in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRecord {
    pub id: String,
    pub name: String,
    pub status: Status,
    /// The last heartbeat's message (null when it sent none).
    pub message: Option<String>,
    /// The last heartbeat's message, `Status updated to <status>`, or the stale text.
    pub status_message: Option<String>,
    pub metadata: SharedMetadata,
    /// Time of (the last) registration: re-registering an id starts afresh.
    pub created_at: DateTime<Utc>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Per-service stale threshold in seconds; `None` uses the global one.
    pub stale_threshold: Option<f64>,
    /// Maintenance pause, if one was set (it may have ended: see [`Pause::is_active`]).
    pub pause: Option<Pause>,
    /// The newest events, oldest first, at most [`EVENTS_IN_RECORD`].
    pub events: EventLog,
}

/// One inline event, kept as its wire JSON. Every heartbeat reply carries
/// the service's inline events, so they are encoded once when they happen
/// and copied as bytes afterwards; cloning a record only bumps counters.
#[derive(Clone)]
pub struct InlineEvent(Arc<RawValue>);

impl InlineEvent {
    /// Encodes an event (without its metadata, as the original record).
    pub fn encode(event: &HistoryEvent) -> Self {
        let inline = HistoryEvent {
            metadata: None,
            ..event.clone()
        };
        let raw = serde_json::value::to_raw_value(&inline)
            .unwrap_or_else(|_| super::metadata::empty_object());
        InlineEvent(Arc::from(raw))
    }

    /// The event as a value (`None` only if the encoding was corrupted).
    pub fn decode(&self) -> Option<HistoryEvent> {
        serde_json::from_str(self.0.get()).ok()
    }

    /// The wire JSON.
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for InlineEvent {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl fmt::Debug for InlineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl Serialize for InlineEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A service's inline events, oldest first, capped at [`EVENTS_IN_RECORD`].
///
/// Shared copy-on-write: cloning a record (for a reply or a listing) is one
/// counter increment, and a push copies the list only while such a clone is
/// still alive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog(Arc<VecDeque<InlineEvent>>);

impl Serialize for EventLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl EventLog {
    /// Appends an event, dropping the oldest beyond the cap.
    pub fn push(&mut self, event: &HistoryEvent) {
        let events = Arc::make_mut(&mut self.0);
        while events.len() >= EVENTS_IN_RECORD {
            events.pop_front();
        }
        events.push_back(InlineEvent::encode(event));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The encoded events, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &InlineEvent> {
        self.0.iter()
    }

    /// The newest `count` events, oldest first, for serializing.
    pub fn newest_n(&self, count: usize) -> NewestEvents<'_> {
        NewestEvents {
            log: self,
            skip: self.0.len().saturating_sub(count),
        }
    }

    /// The newest event, decoded.
    pub fn newest(&self) -> Option<HistoryEvent> {
        self.0.back().and_then(InlineEvent::decode)
    }

    /// Every event, decoded, oldest first.
    pub fn decoded(&self) -> Vec<HistoryEvent> {
        self.0.iter().filter_map(InlineEvent::decode).collect()
    }
}

/// A serializable tail of an [`EventLog`].
#[derive(Debug, Clone, Copy)]
pub struct NewestEvents<'a> {
    log: &'a EventLog,
    skip: usize,
}

impl NewestEvents<'_> {
    /// Bytes these events take as JSON (to size an output buffer once).
    pub fn json_len(&self) -> usize {
        self.log
            .0
            .iter()
            .skip(self.skip)
            .map(|e| e.json().len() + 1)
            .sum()
    }
}

impl Serialize for NewestEvents<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.log.0.iter().skip(self.skip))
    }
}

impl<'a> FromIterator<&'a HistoryEvent> for EventLog {
    fn from_iter<I: IntoIterator<Item = &'a HistoryEvent>>(events: I) -> Self {
        let mut log = EventLog::default();
        for event in events {
            log.push(event);
        }
        log
    }
}

/// A long-running task that reports progress (the client task API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressTask {
    pub task_id: String,
    pub service_id: String,
    pub task_name: String,
    pub description: Option<String>,
    pub total_steps: u64,
    pub current_step: u64,
    /// Free string as the original clients send it (`running`, `completed`, …).
    pub status: String,
    pub message: Option<String>,
    pub metadata: Metadata,
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "wire_time")]
    pub updated_at: DateTime<Utc>,
    /// When `current_step` last changed: drives the `stalled` flag.
    #[serde(with = "wire_time")]
    pub step_changed_at: DateTime<Utc>,
    #[serde(with = "wire_time::option", default)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// Task statuses after which a task no longer moves.
pub const FINISHED_TASK_STATUSES: [&str; 4] = ["completed", "failed", "canceled", "timeout"];

impl ProgressTask {
    /// Percent done, 0–100, guarded against `total_steps == 0`.
    pub fn percent_complete(&self) -> f64 {
        if self.total_steps == 0 {
            return if self.is_finished() { 100.0 } else { 0.0 };
        }
        (self.current_step as f64 / self.total_steps as f64 * 100.0).min(100.0)
    }

    pub fn is_finished(&self) -> bool {
        FINISHED_TASK_STATUSES.contains(&self.status.as_str())
    }

    /// Steps per second since the task started, if it has advanced at all.
    pub fn rate_per_second(&self, now: DateTime<Utc>) -> Option<f64> {
        let end = self.completed_at.unwrap_or(now);
        let elapsed = (end - self.created_at).num_microseconds()? as f64 / 1e6;
        (self.current_step > 0 && elapsed > 0.0).then(|| self.current_step as f64 / elapsed)
    }

    /// Estimated seconds to completion at the average rate so far.
    pub fn eta_seconds(&self, now: DateTime<Utc>) -> Option<f64> {
        if self.is_finished() {
            return None;
        }
        let rate = self.rate_per_second(now)?;
        let remaining = self.total_steps.saturating_sub(self.current_step) as f64;
        Some(remaining / rate)
    }

    /// A running task whose step has not advanced for `stall_after` seconds.
    pub fn is_stalled(&self, now: DateTime<Utc>, stall_after_secs: f64) -> bool {
        !self.is_finished()
            && (now - self.step_changed_at).num_milliseconds() as f64 / 1000.0 >= stall_after_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_in_wire_order() {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["healthy", "warning", "degraded", "error", "busy", "stale", "unknown"]
        );
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("HEALTHY".parse::<Status>().is_err());
        assert!("critical".parse::<Status>().is_err());
    }

    #[test]
    fn fast_timestamps_match_chrono() {
        for text in [
            "2026-11-28T12:35:27.475081Z",
            "1999-01-02T03:04:05.000001Z",
            "2026-12-31T23:59:59.999999Z",
        ] {
            let at = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(
                format_timestamp(&at),
                at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
            );
        }
    }

    #[test]
    fn event_log_keeps_the_newest_encoded() {
        let at = Utc::now();
        let mut log = EventLog::default();
        for i in 0..(EVENTS_IN_RECORD + 5) {
            log.push(&HistoryEvent {
                kind: EventKind::Heartbeat,
                timestamp: at,
                status: Status::Healthy,
                message: i.to_string(),
                metadata: Some(Metadata::new()),
            });
        }
        assert_eq!(log.len(), EVENTS_IN_RECORD);
        let newest = log.newest().unwrap();
        assert_eq!(newest.message, (EVENTS_IN_RECORD + 4).to_string());
        assert_eq!(newest.metadata, None, "inline events carry no metadata");
        assert_eq!(log.decoded()[0].message, "5");
    }

    #[test]
    fn timestamps_have_six_fraction_digits() {
        let at = DateTime::parse_from_rfc3339("2026-11-28T12:35:27Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_timestamp(&at), "2026-11-28T12:35:27.000000+00:00");
    }

    #[test]
    fn percent_is_guarded_and_capped() {
        let now = Utc::now();
        let mut task = ProgressTask {
            task_id: "t".into(),
            service_id: "s".into(),
            task_name: "n".into(),
            description: None,
            total_steps: 0,
            current_step: 5,
            status: "running".into(),
            message: None,
            metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
            step_changed_at: now,
            completed_at: None,
        };
        assert_eq!(task.percent_complete(), 0.0);
        task.total_steps = 4;
        assert_eq!(task.percent_complete(), 100.0);
        task.total_steps = 10;
        assert_eq!(task.percent_complete(), 50.0);
    }
}
