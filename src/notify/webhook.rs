//! The generic JSON webhook body: a stable, documented shape for any
//! receiver (version 1).
//!
//! ```json
//! {"source": "laneswap", "version": 1, "kind": "status_change", "level": "error",
//!  "title": "...", "description": "...", "at": "<RFC 3339>",
//!  "service": {"id", "name", "status", "message", "status_message", "last_heartbeat", "metadata"},
//!  "from": "warning", "alert_id": null}
//! ```

use serde_json::{json, Value};

use crate::core::model::format_timestamp;
use crate::core::notifications::Notification;

/// The body POSTed for one notification.
pub fn body(notification: &Notification) -> Value {
    json!({
        "source": "laneswap",
        "version": 1,
        "kind": notification.kind,
        "level": notification.level,
        "title": notification.title,
        "description": notification.description,
        "at": format_timestamp(&notification.at),
        "service": notification.service,
        "from": notification.from,
        "alert_id": notification.alert_id,
    })
}

/// The body POSTed for several notifications at once (a digest).
pub fn digest(notifications: &[Notification]) -> Value {
    json!({
        "source": "laneswap",
        "version": 1,
        "kind": "digest",
        "count": notifications.len(),
        "notifications": notifications.iter().map(body).collect::<Vec<_>>(),
    })
}
