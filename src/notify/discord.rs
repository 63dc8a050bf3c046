//! Discord webhook payloads: the original's embed format (wire-api §5) and
//! digests, always within Discord's limits (peers.md §4): title 256,
//! description 4096, field name 256 and value 1024, 25 fields, 10 embeds,
//! 6000 characters of text in all.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::core::model::format_timestamp;
use crate::core::notifications::Notification;

pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_FIELD_NAME: usize = 256;
pub const MAX_FIELD_VALUE: usize = 1024;
pub const MAX_FIELDS: usize = 25;
pub const MAX_EMBEDS: usize = 10;
pub const MAX_TOTAL: usize = 6000;
pub const MAX_USERNAME: usize = 80;

/// Metadata keys never shown (the original skipped exactly these).
const HIDDEN_KEYS: [&str; 4] = ["password", "token", "secret", "key"];

/// The webhook's display settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    pub username: String,
    pub avatar_url: Option<String>,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            username: "LaneSwap Monitor".to_string(),
            avatar_url: None,
        }
    }
}

/// Cuts `text` to `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn metadata_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The fields of a notification's embed, as the original built them.
fn fields(notification: &Notification) -> Vec<(String, String, bool)> {
    let service = &notification.service;
    let mut fields = vec![
        ("Service Name".to_string(), service.name.clone(), true),
        ("Status".to_string(), service.status.to_string(), true),
    ];
    if let Some(last) = service.last_heartbeat {
        fields.push((
            "Last Heartbeat".to_string(),
            last.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            true,
        ));
    }
    let lines: Vec<String> = service
        .metadata
        .to_map()
        .iter()
        .filter(|(key, _)| !HIDDEN_KEYS.contains(&key.as_str()))
        .map(|(key, value)| format!("**{key}**: {}", metadata_value(value)))
        .collect();
    if !lines.is_empty() {
        fields.push(("Metadata".to_string(), lines.join("\n"), false));
    }
    fields
}

/// Builds embeds while keeping the message's total text under the limit.
struct Budget {
    left: usize,
}

impl Budget {
    fn take(&mut self, text: &str, max: usize) -> String {
        let allowed = max.min(self.left);
        let cut = truncate(text, allowed);
        self.left -= cut.chars().count();
        cut
    }
}

fn embed(notification: &Notification, budget: &mut Budget, sent_at: DateTime<Utc>) -> Value {
    let mut embed = Map::new();
    embed.insert(
        "title".into(),
        json!(budget.take(&notification.title, MAX_TITLE)),
    );
    embed.insert(
        "description".into(),
        json!(budget.take(&notification.description, MAX_DESCRIPTION)),
    );
    embed.insert("color".into(), json!(notification.level.colour()));
    embed.insert("timestamp".into(), json!(format_timestamp(&sent_at)));
    let mut list = Vec::new();
    for (name, value, inline) in fields(notification).into_iter().take(MAX_FIELDS) {
        if budget.left < 2 {
            break;
        }
        let name = budget.take(&name, MAX_FIELD_NAME);
        let value = budget.take(if value.is_empty() { "-" } else { &value }, MAX_FIELD_VALUE);
        if value.is_empty() {
            break;
        }
        list.push(json!({ "name": name, "value": value, "inline": inline }));
    }
    embed.insert("fields".into(), Value::Array(list));
    Value::Object(embed)
}

fn envelope(style: &Style, embeds: Vec<Value>) -> Value {
    let mut body = Map::new();
    body.insert(
        "username".into(),
        json!(truncate(&style.username, MAX_USERNAME)),
    );
    if let Some(avatar) = &style.avatar_url {
        body.insert("avatar_url".into(), json!(avatar));
    }
    body.insert("embeds".into(), Value::Array(embeds));
    Value::Object(body)
}

/// One notification as one message with one embed (the original format).
pub fn message(notification: &Notification, style: &Style, sent_at: DateTime<Utc>) -> Value {
    let mut budget = Budget { left: MAX_TOTAL };
    envelope(style, vec![embed(notification, &mut budget, sent_at)])
}

/// The announcement of an alert, edited for its acknowledgement or
/// resolution: the original embed with a marked title, the update's colour,
/// and the update's text added.
pub fn edited(
    announcement: &Notification,
    update: &Notification,
    style: &Style,
    sent_at: DateTime<Utc>,
) -> Value {
    let marker = match update.kind {
        crate::core::notifications::NotificationKind::AlertAcknowledged => "Acknowledged",
        crate::core::notifications::NotificationKind::AlertResolved => "Resolved",
        crate::core::notifications::NotificationKind::AlertReopened => "Re-opened",
        _ => "Updated",
    };
    let mut combined = announcement.clone();
    combined.title = format!("[{marker}] {}", announcement.title);
    combined.description = format!(
        "{}\n\n**{marker}:** {}",
        announcement.description, update.description
    );
    combined.level = update.level;
    combined.service = update.service.clone();
    message(&combined, style, sent_at)
}

/// Many notifications for one channel as a single message: one line each
/// in one embed, coloured by the worst level, cut to Discord's limits with
/// a count of what did not fit.
pub fn digest(notifications: &[Notification], style: &Style, sent_at: DateTime<Utc>) -> Value {
    let worst = notifications
        .iter()
        .map(|n| n.level)
        .max()
        .unwrap_or(crate::core::notifications::Level::Info);
    let title = format!("{} notifications", notifications.len());
    let mut description = String::new();
    let mut shown = 0;
    for notification in notifications {
        let line = format!(
            "**{}** — {}\n",
            truncate(&notification.title, 120),
            truncate(&notification.description, 200)
        );
        // Leave room for the "and N more" line.
        if description.chars().count() + line.chars().count() > MAX_DESCRIPTION - 40 {
            break;
        }
        description.push_str(&line);
        shown += 1;
    }
    if shown < notifications.len() {
        description.push_str(&format!("… and {} more", notifications.len() - shown));
    }
    let body = json!({
        "title": truncate(&title, MAX_TITLE),
        "description": description,
        "color": worst.colour(),
        "timestamp": format_timestamp(&sent_at),
    });
    envelope(style, vec![body])
}

/// Characters of text in a payload, as Discord counts them towards 6000.
pub fn text_length(payload: &Value) -> usize {
    let count = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .map_or(0, |s| s.chars().count())
    };
    payload["embeds"]
        .as_array()
        .map(|embeds| {
            embeds
                .iter()
                .map(|embed| {
                    count(embed.get("title"))
                        + count(embed.get("description"))
                        + count(embed.get("footer").and_then(|f| f.get("text")))
                        + count(embed.get("author").and_then(|a| a.get("name")))
                        + embed["fields"].as_array().map_or(0, |fields| {
                            fields
                                .iter()
                                .map(|f| count(f.get("name")) + count(f.get("value")))
                                .sum()
                        })
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::events::{ChangeCause, CoreEvent, ServiceSummary};
    use crate::core::Status;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn summary(metadata: Value) -> ServiceSummary {
        ServiceSummary {
            id: "id-1".into(),
            name: "svc-mongo".into(),
            status: Status::Error,
            message: Some("boom".into()),
            status_message: Some("boom".into()),
            last_heartbeat: Some(at("2026-11-28T12:35:53.238307Z")),
            metadata: metadata.as_object().cloned().unwrap().into(),
        }
    }

    fn change(metadata: Value) -> Notification {
        let event = CoreEvent::StatusChanged {
            service: summary(metadata),
            from: Status::Warning,
            to: Status::Error,
            cause: ChangeCause::Heartbeat,
            at: at("2026-11-28T12:35:53.238307Z"),
        };
        Notification::from_event(&event, None).unwrap()
    }

    #[test]
    fn status_change_matches_the_original_payload() {
        let style = Style {
            username: "Laneswap Heartbeat Monitor".into(),
            avatar_url: None,
        };
        let payload = message(
            &change(json!({"v": 1, "cpu": 5, "password": "hunter2"})),
            &style,
            at("2026-11-28T12:35:53.238307Z"),
        );
        assert_eq!(
            payload,
            json!({"username":"Laneswap Heartbeat Monitor",
                "embeds":[{"title":"Service Status Change: svc-mongo",
                    "description":"Status changed from warning to error: boom",
                    "color":15158332,
                    "timestamp":"2026-11-28T12:35:53.238307+00:00",
                    "fields":[{"name":"Service Name","value":"svc-mongo","inline":true},
                        {"name":"Status","value":"error","inline":true},
                        {"name":"Last Heartbeat","value":"2026-11-28 12:35:53 UTC","inline":true},
                        {"name":"Metadata","value":"**v**: 1\n**cpu**: 5","inline":false}]}]})
        );
    }

    #[test]
    fn huge_metadata_is_cut_to_the_limits() {
        let mut big = Map::new();
        for i in 0..500 {
            big.insert(format!("key-{i}"), json!("x".repeat(100)));
        }
        let payload = message(&change(Value::Object(big)), &Style::default(), Utc::now());
        let fields = payload["embeds"][0]["fields"].as_array().unwrap();
        let metadata = fields.last().unwrap()["value"].as_str().unwrap();
        assert_eq!(metadata.chars().count(), MAX_FIELD_VALUE);
        assert!(metadata.ends_with('…'));
        assert!(text_length(&payload) <= MAX_TOTAL);
    }

    #[test]
    fn a_digest_of_fifty_fits_in_one_message() {
        let notifications: Vec<Notification> = (0..50)
            .map(|i| {
                let mut n = change(json!({}));
                n.title = format!("Service Stale: worker-{i:02} {}", "y".repeat(100));
                n.description = "No heartbeat received in 60 seconds".into();
                n
            })
            .collect();
        let payload = digest(&notifications, &Style::default(), Utc::now());
        assert_eq!(payload["embeds"].as_array().unwrap().len(), 1);
        assert!(
            text_length(&payload) <= MAX_TOTAL,
            "{}",
            text_length(&payload)
        );
        let description = payload["embeds"][0]["description"].as_str().unwrap();
        assert!(description.chars().count() <= MAX_DESCRIPTION);
        assert!(description.contains("worker-00"));
        assert!(description.contains("more"), "what does not fit is counted");
        assert_eq!(payload["embeds"][0]["title"], "50 notifications");
    }
}
