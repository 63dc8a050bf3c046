//! Stale detection as pure functions of time: a service's deadline is
//! `max(last_heartbeat or registration, restart grace start) + threshold`,
//! and the monitor only ever sleeps until the earliest deadline.

use chrono::{DateTime, Duration, Utc};

use super::model::{Pause, ServiceRecord, Status};

/// The global stale settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StalePolicy {
    /// Seconds without a heartbeat before a service is stale (default 60).
    pub default_threshold_secs: f64,
}

impl Default for StalePolicy {
    fn default() -> Self {
        StalePolicy {
            default_threshold_secs: 60.0,
        }
    }
}

impl StalePolicy {
    /// The threshold that applies to one service.
    pub fn threshold_for(&self, record: &ServiceRecord) -> f64 {
        record
            .stale_threshold
            .unwrap_or(self.default_threshold_secs)
    }
}

/// Converts fractional seconds to a chrono duration (microsecond precision).
pub fn seconds(secs: f64) -> Duration {
    Duration::microseconds((secs * 1e6).round() as i64)
}

/// When the service goes stale if nothing arrives, or `None` when it cannot
/// (already stale, whether flagged by us or reported by the client).
///
/// `grace_from` is the moment this process restored the service from the
/// store: after downtime every service gets one fresh threshold from then.
pub fn deadline(
    record: &ServiceRecord,
    policy: &StalePolicy,
    grace_from: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if record.status == Status::Stale {
        return None;
    }
    let last_sign_of_life = record.last_heartbeat.unwrap_or(record.created_at);
    let mut base = match grace_from {
        Some(grace) if grace > last_sign_of_life => grace,
        _ => last_sign_of_life,
    };
    // A pause holds the deadline off; one with an end gives a fresh
    // threshold from that end.
    match record.pause {
        Some(Pause { until: None, .. }) => return None,
        Some(Pause {
            until: Some(end), ..
        }) if end > base => base = end,
        _ => {}
    }
    Some(base + seconds(policy.threshold_for(record)))
}

/// The status a service has at `now`: its own, or stale once past its deadline.
pub fn status_at(
    now: DateTime<Utc>,
    record: &ServiceRecord,
    policy: &StalePolicy,
    grace_from: Option<DateTime<Utc>>,
) -> Status {
    match deadline(record, policy, grace_from) {
        Some(due) if now >= due => Status::Stale,
        _ => record.status,
    }
}

/// The original's stale text, `No heartbeat received in 60 seconds`.
pub fn stale_message(threshold_secs: f64) -> String {
    if threshold_secs.fract() == 0.0 {
        format!("No heartbeat received in {} seconds", threshold_secs as i64)
    } else {
        format!("No heartbeat received in {threshold_secs} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn record(created: i64, last: Option<i64>, status: Status) -> ServiceRecord {
        ServiceRecord {
            id: "a".into(),
            name: "a".into(),
            status,
            message: None,
            status_message: None,
            metadata: Default::default(),
            created_at: at(created),
            last_heartbeat: last.map(at),
            updated_at: None,
            stale_threshold: None,
            pause: None,
            events: Default::default(),
        }
    }

    /// (created, last heartbeat, status, per-service threshold, grace, expected deadline)
    type DeadlineCase = (
        i64,
        Option<i64>,
        Status,
        Option<f64>,
        Option<i64>,
        Option<i64>,
    );

    #[test]
    fn table_of_deadlines() {
        let policy = StalePolicy::default();
        // (created, last heartbeat, status, per-service threshold, grace, expected deadline)
        let cases: [DeadlineCase; 6] = [
            (0, None, Status::Unknown, None, None, Some(60)),
            (0, Some(30), Status::Healthy, None, None, Some(90)),
            (0, Some(30), Status::Error, Some(5.0), None, Some(35)),
            (0, Some(30), Status::Stale, None, None, None),
            (0, Some(30), Status::Healthy, None, Some(100), Some(160)),
            (0, Some(30), Status::Healthy, None, Some(10), Some(90)),
        ];
        for (created, last, status, threshold, grace, expected) in cases {
            let mut r = record(created, last, status);
            r.stale_threshold = threshold;
            let got = deadline(&r, &policy, grace.map(at));
            assert_eq!(
                got,
                expected.map(at),
                "case {created} {last:?} {status} {threshold:?} {grace:?}"
            );
        }
        let mut fractional = record(0, None, Status::Busy);
        fractional.stale_threshold = Some(0.5);
        assert_eq!(
            deadline(&fractional, &policy, None),
            Some(at(0) + seconds(0.5))
        );
    }

    #[test]
    fn pauses_hold_the_deadline_off() {
        let policy = StalePolicy::default();
        let mut r = record(0, Some(10), Status::Healthy);
        r.pause = Some(Pause {
            since: at(20),
            until: None,
        });
        assert_eq!(deadline(&r, &policy, None), None);
        r.pause = Some(Pause {
            since: at(20),
            until: Some(at(500)),
        });
        assert_eq!(
            deadline(&r, &policy, None),
            Some(at(560)),
            "a fresh threshold after the pause"
        );
        r.pause = Some(Pause {
            since: at(20),
            until: Some(at(30)),
        });
        assert_eq!(
            deadline(&r, &policy, None),
            Some(at(90)),
            "a pause that ended early changes nothing"
        );
    }

    #[test]
    fn flips_exactly_at_the_deadline() {
        let policy = StalePolicy::default();
        let r = record(0, Some(10), Status::Healthy);
        assert_eq!(status_at(at(69), &r, &policy, None), Status::Healthy);
        assert_eq!(status_at(at(70), &r, &policy, None), Status::Stale);
    }

    #[test]
    fn stale_text_matches_the_original() {
        assert_eq!(stale_message(60.0), "No heartbeat received in 60 seconds");
        assert_eq!(stale_message(2.5), "No heartbeat received in 2.5 seconds");
    }
}
