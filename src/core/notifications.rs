//! What deserves a notification, and at which level: the original's rules
//! (wire-api §5) for status changes and stale flips, plus alert
//! acknowledgement, re-opening and resolution. Channel formats (Discord,
//! generic JSON) are rendered from these in `notify`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alerts::{Alert, AlertChange};
use super::events::{ChangeCause, CoreEvent, ServiceSummary};
use super::model::{wire_time, Status};

/// Severity of a notification (the original's four levels and colours).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Success,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    /// The original's Discord embed colours.
    pub fn colour(self) -> u32 {
        match self {
            Level::Info => 0x3498db,
            Level::Success => 0x2ecc71,
            Level::Warning => 0xf39c12,
            Level::Error => 0xe74c3c,
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "info" => Ok(Level::Info),
            "success" => Ok(Level::Success),
            "warning" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown level {other:?} (info, success, warning, error)"
            )),
        }
    }
}

/// The original's level for a reported status change.
pub fn status_change_level(from: Status, to: Status) -> Level {
    match to {
        Status::Warning => Level::Warning,
        Status::Error => Level::Error,
        Status::Healthy if matches!(from, Status::Warning | Status::Error | Status::Stale) => {
            Level::Success
        }
        _ => Level::Info,
    }
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    StatusChange,
    Stale,
    AlertAcknowledged,
    AlertReopened,
    AlertResolved,
    /// Sent on request to check a channel.
    Test,
}

/// One notification, channel-agnostic.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub level: Level,
    pub title: String,
    pub description: String,
    pub service: ServiceSummary,
    /// For status changes: the status before.
    pub from: Option<Status>,
    /// The alert it concerns, if any (acknowledgements and resolutions edit
    /// the message that announced it, where the channel allows).
    pub alert_id: Option<String>,
    #[serde(with = "wire_time")]
    pub at: DateTime<Utc>,
}

impl Notification {
    /// A notification that checks a channel works.
    pub fn test(at: DateTime<Utc>) -> Notification {
        Notification {
            kind: NotificationKind::Test,
            level: Level::Info,
            title: "Test notification from laneswap".to_string(),
            description: "If you can read this, the channel works.".to_string(),
            service: ServiceSummary {
                id: "laneswap".to_string(),
                name: "laneswap".to_string(),
                status: Status::Healthy,
                message: None,
                status_message: None,
                last_heartbeat: Some(at),
                metadata: Default::default(),
            },
            from: None,
            alert_id: None,
            at,
        }
    }

    /// The notification a core event calls for, if any. `service` is the
    /// current summary of the alert's service (alert events carry no summary).
    pub fn from_event(event: &CoreEvent, service: Option<&ServiceSummary>) -> Option<Notification> {
        match event {
            CoreEvent::StatusChanged {
                service,
                from,
                to,
                cause: ChangeCause::Heartbeat,
                at,
            } => {
                let mut description = format!("Status changed from {from} to {to}");
                if let Some(message) = &service.message {
                    description.push_str(": ");
                    description.push_str(message);
                }
                Some(Notification {
                    kind: NotificationKind::StatusChange,
                    level: status_change_level(*from, *to),
                    title: format!("Service Status Change: {}", service.name),
                    description,
                    service: service.clone(),
                    from: Some(*from),
                    alert_id: None,
                    at: *at,
                })
            }
            CoreEvent::StatusChanged {
                service,
                from,
                cause: ChangeCause::Deadline,
                at,
                ..
            } => Some(Notification {
                kind: NotificationKind::Stale,
                level: Level::Warning,
                title: format!("Service Stale: {}", service.name),
                description: service.status_message.clone().unwrap_or_default(),
                service: service.clone(),
                from: Some(*from),
                alert_id: None,
                at: *at,
            }),
            CoreEvent::AlertChanged { change, alert } => {
                let service = service?.clone();
                alert_notification(*change, alert, service)
            }
            _ => None,
        }
    }
}

fn alert_notification(
    change: AlertChange,
    alert: &Alert,
    service: ServiceSummary,
) -> Option<Notification> {
    let (kind, level, title, description) = match change {
        AlertChange::Acknowledged => {
            let ack = alert.ack.as_ref()?;
            let mut text = format!("Acknowledged by {}", ack.by);
            if let Some(note) = &ack.note {
                text.push_str(": ");
                text.push_str(note);
            }
            if let Some(expires) = ack.expires_at {
                text.push_str(&format!(
                    " (until {})",
                    expires.format("%Y-%m-%d %H:%M:%S UTC")
                ));
            }
            (
                NotificationKind::AlertAcknowledged,
                Level::Info,
                "Alert Acknowledged",
                text,
            )
        }
        AlertChange::Reopened => (
            NotificationKind::AlertReopened,
            if alert.status == Status::Error {
                Level::Error
            } else {
                Level::Warning
            },
            "Alert Re-opened",
            format!(
                "The acknowledgement expired and the service is still {}",
                alert.status
            ),
        ),
        AlertChange::Resolved => (
            NotificationKind::AlertResolved,
            Level::Success,
            "Alert Resolved",
            format!("The service recovered: it is {} now", service.status),
        ),
        AlertChange::Opened | AlertChange::Updated | AlertChange::Unacknowledged => return None,
    };
    Some(Notification {
        kind,
        level,
        title: format!("{title}: {}", alert.service_name),
        description,
        service,
        from: None,
        alert_id: Some(alert.id.clone()),
        at: alert.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_original() {
        use Status::*;
        let cases = [
            (Healthy, Warning, Level::Warning),
            (Healthy, Error, Level::Error),
            (Warning, Healthy, Level::Success),
            (Error, Healthy, Level::Success),
            (Stale, Healthy, Level::Success),
            (Unknown, Healthy, Level::Info),
            (Healthy, Degraded, Level::Info),
            (Busy, Healthy, Level::Info),
            (Degraded, Healthy, Level::Info),
            (Healthy, Stale, Level::Info),
        ];
        for (from, to, level) in cases {
            assert_eq!(status_change_level(from, to), level, "{from} -> {to}");
        }
        assert_eq!(Level::Error.colour(), 15158332);
        assert_eq!(Level::Warning.colour(), 15965202);
        assert_eq!(Level::Success.colour(), 3066993);
        assert_eq!(Level::Info.colour(), 3447003);
    }
}
