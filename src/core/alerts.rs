//! Alerts: at most one open alert per service, opened when it enters a bad
//! status, resolved when it leaves them. Pure state, driven by the registry's
//! status changes and by time (acknowledgement expiry).
//!
//! ```text
//!            ack                 recovery
//!   open ──────────> acknowledged ─────────> resolved
//!    ^  <──────────      │                      ^
//!    │   unack / expiry  └──────────────────────┘ (recovery from open too)
//! ```
//!
//! An acknowledgement silences the alert; if its expiry passes while the
//! service is still bad, the alert re-opens (and will notify again).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::model::{wire_time, Status};

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }
}

impl std::str::FromStr for AlertState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "open" => Ok(AlertState::Open),
            "acknowledged" => Ok(AlertState::Acknowledged),
            "resolved" => Ok(AlertState::Resolved),
            other => Err(format!("unknown alert state {other:?}")),
        }
    }
}

/// Who silenced an alert, why, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub by: String,
    pub note: Option<String>,
    #[serde(with = "wire_time")]
    pub at: DateTime<Utc>,
    #[serde(with = "wire_time::option")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub service_id: String,
    pub service_name: String,
    pub state: AlertState,
    /// The bad status the service is in (the latest, if it changed while open).
    pub status: Status,
    #[serde(with = "wire_time")]
    pub opened_at: DateTime<Utc>,
    #[serde(with = "wire_time")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "wire_time::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    pub ack: Option<Ack>,
    /// How many times an expired acknowledgement re-opened it.
    pub reopened: u32,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.state != AlertState::Resolved
    }
}

/// Which statuses open an alert (stale and error by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPolicy {
    pub bad: BTreeSet<Status>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        AlertPolicy {
            bad: [Status::Stale, Status::Error].into_iter().collect(),
        }
    }
}

/// What happened to an alert (for persistence and subscribers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertChange {
    Opened,
    /// Still bad, with another bad status.
    Updated,
    Acknowledged,
    Unacknowledged,
    /// An acknowledgement expired while the service was still bad.
    Reopened,
    Resolved,
}

/// Why an alert operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    #[error("Alert not found: {0}")]
    NotFound(String),
    #[error("Alert {0} is resolved")]
    Resolved(String),
    #[error("Alert {0} is not acknowledged")]
    NotAcknowledged(String),
}

/// Resolved alerts kept (the newest); older ones are forgotten.
pub const RESOLVED_KEPT: usize = 10_000;

/// Every alert, the open one of each service, and acknowledgement expiries.
#[derive(Debug, Default)]
pub struct AlertBook {
    alerts: IndexMap<String, Alert>,
    /// Resolved alerts, in the order they were resolved.
    resolved: std::collections::VecDeque<String>,
    active_by_service: HashMap<String, String>,
    expiries: BTreeSet<(DateTime<Utc>, String)>,
    policy: AlertPolicy,
}

impl AlertBook {
    pub fn new(policy: AlertPolicy, alerts: Vec<Alert>) -> Self {
        let mut book = AlertBook {
            policy,
            ..AlertBook::default()
        };
        for alert in alerts {
            book.index(&alert);
            if !alert.is_active() {
                book.resolved.push_back(alert.id.clone());
            }
            book.alerts.insert(alert.id.clone(), alert);
        }
        book
    }

    fn index(&mut self, alert: &Alert) {
        if alert.is_active() {
            self.active_by_service
                .insert(alert.service_id.clone(), alert.id.clone());
        }
        if let Some(expires) = alert.ack.as_ref().and_then(|ack| ack.expires_at) {
            if alert.state == AlertState::Acknowledged {
                self.expiries.insert((expires, alert.id.clone()));
            }
        }
    }

    fn unindex(&mut self, alert: &Alert) {
        if self.active_by_service.get(&alert.service_id) == Some(&alert.id) {
            self.active_by_service.remove(&alert.service_id);
        }
        if let Some(expires) = alert.ack.as_ref().and_then(|ack| ack.expires_at) {
            self.expiries.remove(&(expires, alert.id.clone()));
        }
    }

    /// Replaces an alert, keeping the indexes right.
    fn store(&mut self, alert: Alert) -> Alert {
        if let Some(old) = self.alerts.get(&alert.id).cloned() {
            self.unindex(&old);
        }
        self.index(&alert);
        self.alerts.insert(alert.id.clone(), alert.clone());
        alert
    }

    pub fn policy(&self) -> &AlertPolicy {
        &self.policy
    }

    /// Takes in an alert another node changed.
    pub fn absorb(&mut self, alert: Alert) -> Alert {
        let resolved = !alert.is_active() && !self.resolved.contains(&alert.id);
        let alert = self.store(alert);
        if resolved {
            self.resolved.push_back(alert.id.clone());
        }
        alert
    }

    /// Forgets an alert another node pruned.
    pub fn forget(&mut self, id: &str) {
        if let Some(alert) = self.alerts.shift_remove(id) {
            self.unindex(&alert);
            self.resolved.retain(|kept| kept != id);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.alerts.get(id)
    }

    /// The open or acknowledged alert of a service.
    pub fn active_for(&self, service_id: &str) -> Option<&Alert> {
        self.active_by_service
            .get(service_id)
            .and_then(|id| self.alerts.get(id))
    }

    /// Alerts, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Alert> {
        self.alerts.values()
    }

    /// The earliest acknowledgement expiry.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// A service's status changed: open, update or resolve its alert.
    /// `paused` services open no alert (an open one still resolves).
    pub fn on_status(
        &mut self,
        service_id: &str,
        service_name: &str,
        status: Status,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Option<(AlertChange, Alert)> {
        let bad = self.policy.bad.contains(&status);
        match (self.active_for(service_id).cloned(), bad) {
            (None, true) if !paused => {
                let alert = Alert {
                    id: uuid::Uuid::new_v4().to_string(),
                    service_id: service_id.to_string(),
                    service_name: service_name.to_string(),
                    state: AlertState::Open,
                    status,
                    opened_at: now,
                    updated_at: now,
                    resolved_at: None,
                    ack: None,
                    reopened: 0,
                };
                Some((AlertChange::Opened, self.store(alert)))
            }
            (Some(mut alert), true) if alert.status != status => {
                alert.status = status;
                alert.updated_at = now;
                Some((AlertChange::Updated, self.store(alert)))
            }
            (Some(mut alert), false) => {
                alert.state = AlertState::Resolved;
                alert.resolved_at = Some(now);
                alert.updated_at = now;
                alert.ack = None;
                self.resolved.push_back(alert.id.clone());
                Some((AlertChange::Resolved, self.store(alert)))
            }
            _ => None,
        }
    }

    /// Acknowledges an alert (again, to change the note or expiry).
    pub fn acknowledge(
        &mut self,
        id: &str,
        by: String,
        note: Option<String>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Alert, AlertError> {
        let mut alert = self.open_alert(id)?;
        alert.state = AlertState::Acknowledged;
        alert.ack = Some(Ack {
            by,
            note,
            at: now,
            expires_at,
        });
        alert.updated_at = now;
        Ok(self.store(alert))
    }

    /// Takes an acknowledgement back: the alert is open again.
    pub fn unacknowledge(&mut self, id: &str, now: DateTime<Utc>) -> Result<Alert, AlertError> {
        let mut alert = self.open_alert(id)?;
        if alert.state != AlertState::Acknowledged {
            return Err(AlertError::NotAcknowledged(id.to_string()));
        }
        alert.state = AlertState::Open;
        alert.ack = None;
        alert.updated_at = now;
        Ok(self.store(alert))
    }

    fn open_alert(&self, id: &str) -> Result<Alert, AlertError> {
        let alert = self
            .alerts
            .get(id)
            .ok_or_else(|| AlertError::NotFound(id.to_string()))?;
        if alert.state == AlertState::Resolved {
            return Err(AlertError::Resolved(id.to_string()));
        }
        Ok(alert.clone())
    }

    /// Re-opens every alert whose acknowledgement expired by `now`.
    pub fn expire_acks(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        self.expire_acks_where(now, |_| true)
    }

    /// Acknowledgements expired at `now`: (alert id, expiry).
    pub fn due_expiries(&self, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        self.expiries
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(due, id)| (id.clone(), *due))
            .collect()
    }

    /// Re-opens the alerts whose acknowledgement expired, those `granted`
    /// accepts; the others are dropped from the expiry index (another node
    /// re-opens them, and its change arrives here).
    pub fn expire_acks_where(
        &mut self,
        now: DateTime<Utc>,
        granted: impl Fn(&str) -> bool,
    ) -> Vec<Alert> {
        let mut reopened = Vec::new();
        while let Some((due, id)) = self.expiries.first().cloned() {
            if due > now {
                break;
            }
            self.expiries.pop_first();
            if !granted(&id) {
                continue;
            }
            let Some(mut alert) = self.alerts.get(&id).cloned() else {
                continue;
            };
            if alert.state != AlertState::Acknowledged {
                continue;
            }
            alert.state = AlertState::Open;
            alert.ack = None;
            alert.reopened += 1;
            alert.updated_at = now;
            reopened.push(self.store(alert));
        }
        reopened
    }

    /// Forgets the oldest resolved alerts beyond [`RESOLVED_KEPT`]; returns
    /// their ids (to delete them from the store too).
    pub fn prune(&mut self) -> Vec<String> {
        let mut forgotten = Vec::new();
        while self.resolved.len() > RESOLVED_KEPT {
            let Some(id) = self.resolved.pop_front() else {
                break;
            };
            if let Some(alert) = self.alerts.shift_remove(&id) {
                self.unindex(&alert);
                forgotten.push(id);
            }
        }
        forgotten
    }

    /// Forgets a deleted service's alerts; returns their ids.
    pub fn remove_service(&mut self, service_id: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .alerts
            .values()
            .filter(|alert| alert.service_id == service_id)
            .map(|alert| alert.id.clone())
            .collect();
        for id in &ids {
            if let Some(alert) = self.alerts.shift_remove(id) {
                self.unindex(&alert);
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn one_alert_per_bad_spell() {
        let mut book = AlertBook::default();
        let (change, alert) = book
            .on_status("s", "svc", Status::Error, false, at(0))
            .unwrap();
        assert_eq!(change, AlertChange::Opened);
        assert_eq!(
            book.on_status("s", "svc", Status::Error, false, at(1)),
            None
        );
        let (change, updated) = book
            .on_status("s", "svc", Status::Stale, false, at(2))
            .unwrap();
        assert_eq!(
            (change, updated.id.clone()),
            (AlertChange::Updated, alert.id.clone())
        );
        assert_eq!(
            book.on_status("s", "svc", Status::Warning, false, at(3))
                .unwrap()
                .0,
            AlertChange::Resolved
        );
        assert!(book.active_for("s").is_none());
        let (_, second) = book
            .on_status("s", "svc", Status::Stale, false, at(4))
            .unwrap();
        assert_ne!(second.id, alert.id, "a new spell is a new alert");
    }

    #[test]
    fn warning_opens_nothing_by_default_and_paused_services_open_nothing() {
        let mut book = AlertBook::default();
        assert_eq!(
            book.on_status("s", "svc", Status::Warning, false, at(0)),
            None
        );
        assert_eq!(book.on_status("s", "svc", Status::Error, true, at(0)), None);
        let strict = AlertPolicy {
            bad: [Status::Warning, Status::Error].into_iter().collect(),
        };
        let mut book = AlertBook::new(strict, Vec::new());
        assert!(book
            .on_status("s", "svc", Status::Warning, false, at(0))
            .is_some());
    }

    #[test]
    fn ack_expiry_reopens_and_recovery_clears_the_ack() {
        let mut book = AlertBook::default();
        let (_, alert) = book
            .on_status("s", "svc", Status::Error, false, at(0))
            .unwrap();
        let acked = book
            .acknowledge(
                &alert.id,
                "ana".into(),
                Some("on it".into()),
                Some(at(60)),
                at(10),
            )
            .unwrap();
        assert_eq!(acked.state, AlertState::Acknowledged);
        assert_eq!(book.next_expiry(), Some(at(60)));
        assert!(book.expire_acks(at(59)).is_empty());
        let reopened = book.expire_acks(at(60));
        assert_eq!(reopened.len(), 1);
        assert_eq!(reopened[0].state, AlertState::Open);
        assert_eq!(reopened[0].reopened, 1);
        assert_eq!(book.next_expiry(), None);

        book.acknowledge(&alert.id, "ana".into(), None, Some(at(100)), at(70))
            .unwrap();
        let (change, resolved) = book
            .on_status("s", "svc", Status::Healthy, false, at(80))
            .unwrap();
        assert_eq!(change, AlertChange::Resolved);
        assert_eq!(resolved.ack, None);
        assert_eq!(book.next_expiry(), None, "a resolved alert cannot re-open");
        assert_eq!(
            book.acknowledge(&alert.id, "ana".into(), None, None, at(90)),
            Err(AlertError::Resolved(alert.id.clone()))
        );
    }

    #[test]
    fn unack_needs_an_ack() {
        let mut book = AlertBook::default();
        let (_, alert) = book
            .on_status("s", "svc", Status::Error, false, at(0))
            .unwrap();
        assert_eq!(
            book.unacknowledge(&alert.id, at(1)),
            Err(AlertError::NotAcknowledged(alert.id.clone()))
        );
        book.acknowledge(&alert.id, "ana".into(), None, None, at(2))
            .unwrap();
        assert_eq!(
            book.unacknowledge(&alert.id, at(3)).unwrap().state,
            AlertState::Open
        );
        assert_eq!(
            book.acknowledge("nope", "ana".into(), None, None, at(4)),
            Err(AlertError::NotFound("nope".into()))
        );
    }

    #[test]
    fn old_resolved_alerts_are_forgotten() {
        let mut book = AlertBook::default();
        let mut first = None;
        for i in 0..(RESOLVED_KEPT as i64 + 3) {
            let (_, alert) = book
                .on_status("s", "svc", Status::Error, false, at(i * 2))
                .unwrap();
            first.get_or_insert(alert.id);
            book.on_status("s", "svc", Status::Healthy, false, at(i * 2 + 1))
                .unwrap();
        }
        let forgotten = book.prune();
        assert_eq!(forgotten.len(), 3);
        assert_eq!(forgotten[0], first.unwrap());
        assert_eq!(book.iter().count(), RESOLVED_KEPT);
        assert!(book.prune().is_empty());
    }

    #[test]
    fn restoring_rebuilds_the_indexes() {
        let mut book = AlertBook::default();
        let (_, alert) = book
            .on_status("s", "svc", Status::Error, false, at(0))
            .unwrap();
        let acked = book
            .acknowledge(&alert.id, "ana".into(), None, Some(at(50)), at(1))
            .unwrap();
        let restored = AlertBook::new(AlertPolicy::default(), vec![acked]);
        assert_eq!(
            restored.active_for("s").map(|a| a.id.clone()),
            Some(alert.id)
        );
        assert_eq!(restored.next_expiry(), Some(at(50)));
    }
}
