//! `laneswap services|progress|alerts|webhooks …`: the HTTP API from the
//! shell. Each command makes its requests through [`Api`] and answers with
//! the server's JSON (`--json`) or a readable table.

use std::time::Duration;

use chrono::Utc;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::tables::{fields, list_or_all, metadata, table, text, when};
use crate::client::http::segment;
use crate::client::{Api, ClientError};
use crate::core::Status;
use crate::tui::view::short_duration;

#[derive(Debug, Clone, Subcommand)]
pub enum ServicesCommand {
    /// List every service, worst first (or only those with --status)
    List {
        /// Only services with this status
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
    },
    /// Show one service: status, metadata, recent events
    Get {
        /// The service's id
        id: String,
    },
    /// Register a service (or overwrite the one with --id); prints its id
    Register {
        /// The service's name (names need not be unique)
        name: String,
        /// Use this id instead of a generated one
        #[arg(long)]
        id: Option<String>,
        /// Metadata entry KEY=VALUE (repeatable; numbers and true/false are typed)
        #[arg(long = "metadata", short = 'm', value_name = "KEY=VALUE", value_parser = parse_pair)]
        metadata: Vec<(String, Value)>,
        /// Seconds of silence before this service is stale (default: the server's)
        #[arg(long, value_name = "SECONDS")]
        stale_threshold: Option<f64>,
    },
    /// Send a heartbeat
    Heartbeat {
        /// The service's id
        id: String,
        /// healthy, warning, degraded, error, busy, stale or unknown
        #[arg(long, default_value = "healthy", value_parser = parse_status)]
        status: Status,
        /// What the service has to say (shown in lists and notifications)
        #[arg(long)]
        message: Option<String>,
        /// Metadata entry KEY=VALUE (repeatable), merged into the service's
        #[arg(long = "metadata", short = 'm', value_name = "KEY=VALUE", value_parser = parse_pair)]
        metadata: Vec<(String, Value)>,
    },
    /// Delete a service with its history and tasks
    Delete {
        /// The service's id
        id: String,
    },
    /// Pause a service for maintenance: no stale flips, no alerts
    Pause {
        /// The service's id
        id: String,
        /// For how long (30m, 2h, 1d); without it, until resumed
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration, conflicts_with = "until")]
        for_: Option<Duration>,
        /// Until when (RFC 3339, e.g. 2026-12-01T08:00:00Z)
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// End a maintenance pause
    Resume {
        /// The service's id
        id: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum ProgressCommand {
    /// List progress tasks
    List {
        /// Only this service's tasks
        #[arg(long, value_name = "SERVICE_ID")]
        service: Option<String>,
    },
    /// Show one task
    Get {
        /// The task's id
        id: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AlertsCommand {
    /// List alerts (active ones unless --state says otherwise)
    List {
        /// active, open, acknowledged, resolved or all
        #[arg(long, default_value = "active", value_parser = ["active", "open", "acknowledged", "resolved", "all"])]
        state: String,
    },
    /// Acknowledge an alert: silences it until the service recovers or the ack expires
    Ack {
        /// The alert's id (see `laneswap alerts list`)
        id: String,
        /// Why, for whoever looks next
        #[arg(long)]
        note: Option<String>,
        /// Re-open the alert after this long if the service is still bad (30m, 2h)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// Take an acknowledgement back
    Unack {
        /// The alert's id
        id: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum WebhooksCommand {
    /// List notification channels with their health
    List,
    /// Add a Discord or generic JSON webhook; prints its id
    Add {
        /// Where notifications are posted (kept secret: shown redacted)
        url: String,
        /// A name to show (default: the redacted URL)
        #[arg(long)]
        name: Option<String>,
        /// discord or webhook (default: discord for Discord URLs)
        #[arg(long, value_parser = ["discord", "webhook"])]
        kind: Option<String>,
        /// Levels it wants, comma-separated: info, success, warning, error (default: all)
        #[arg(long, value_delimiter = ',')]
        levels: Vec<String>,
        /// Service ids it wants, comma-separated (default: all)
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
        /// Add it disabled
        #[arg(long)]
        disabled: bool,
    },
    /// Delete a webhook
    Remove {
        /// The webhook's id
        id: String,
    },
    /// Send a test notification (the delivery log shows how it went)
    Test {
        /// The webhook's id
        id: String,
    },
}

fn parse_status(text: &str) -> Result<Status, String> {
    text.parse::<Status>().map_err(|_| {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status (one of {})", names.join(", "))
    })
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|_| "a duration such as 90s, 30m, 2h or 1d".to_string())
}

/// `KEY=VALUE`; the value is JSON when it reads as a number, a boolean or
/// null, else a string.
fn parse_pair(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "KEY=VALUE expected".to_string())?;
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    let value = match serde_json::from_str::<Value>(value) {
        Ok(parsed @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => parsed,
        _ => Value::String(value.to_string()),
    };
    Ok((key.to_string(), value))
}

fn object(pairs: Vec<(String, Value)>) -> Map<String, Value> {
    pairs.into_iter().collect()
}

/// What a command printed: the server's JSON, or readable text.
fn answer(json: bool, body: &Value, human: impl FnOnce(&Value) -> String) -> String {
    if json {
        serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string())
    } else {
        human(body)
    }
}

pub async fn services(
    api: &Api,
    json: bool,
    command: ServicesCommand,
) -> Result<String, ClientError> {
    let now = Utc::now();
    match command {
        ServicesCommand::List { status } => {
            let body = api.call(Method::GET, "/services", None).await?;
            let mut records: Vec<&Value> = body
                .get("services")
                .and_then(Value::as_object)
                .map(|map| map.values().collect())
                .unwrap_or_default();
            let status_of = |record: &Value| {
                record
                    .get("status")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<Status>().ok())
                    .unwrap_or(Status::Unknown)
            };
            if let Some(wanted) = status {
                records.retain(|record| status_of(record) == wanted);
            }
            if json {
                let filtered: Map<String, Value> = records
                    .iter()
                    .map(|record| (text(record, "id"), (*record).clone()))
                    .collect();
                let mut out = body.clone();
                if status.is_some() {
                    out["services"] = Value::Object(filtered);
                }
                return Ok(answer(true, &out, |_| String::new()));
            }
            records.sort_by_key(|record| {
                (
                    std::cmp::Reverse(status_of(record).severity()),
                    text(record, "name").to_lowercase(),
                )
            });
            let rows = records
                .iter()
                .map(|record| {
                    let mut status = status_of(record).as_str().to_string();
                    if record.get("paused").and_then(Value::as_bool) == Some(true) {
                        status.push_str(" (paused)");
                    }
                    let message = match text(record, "status_message") {
                        empty if empty.is_empty() => text(record, "message"),
                        message => message,
                    };
                    vec![
                        text(record, "name"),
                        status,
                        when(record, "last_heartbeat", now),
                        message,
                        text(record, "id"),
                    ]
                })
                .collect();
            let mut out = table(&["NAME", "STATUS", "LAST HEARTBEAT", "MESSAGE", "ID"], rows);
            let counts: Vec<String> = body["summary"]["status_counts"]
                .as_object()
                .map(|counts| {
                    counts
                        .iter()
                        .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
                        .map(|(status, n)| format!("{n} {status}"))
                        .collect()
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "\n\n{} services{}",
                body["summary"]["total"].as_u64().unwrap_or(0),
                if counts.is_empty() {
                    String::new()
                } else {
                    format!(": {}", counts.join(", "))
                }
            ));
            Ok(out)
        }
        ServicesCommand::Get { id } => {
            let body = api
                .call(Method::GET, &format!("/services/{}", segment(&id)), None)
                .await?;
            Ok(answer(json, &body, |service| {
                let mut out = fields(&[
                    ("id", text(service, "id")),
                    ("name", text(service, "name")),
                    ("status", text(service, "status")),
                    ("message", text(service, "message")),
                    ("last heartbeat", when(service, "last_heartbeat", now)),
                    ("registered", when(service, "created_at", now)),
                    ("metadata", metadata(&service["metadata"])),
                ]);
                let events: Vec<&Value> = service["events"]
                    .as_array()
                    .map(|events| events.iter().rev().take(10).collect())
                    .unwrap_or_default();
                if !events.is_empty() {
                    out.push_str("\n\nrecent events (newest first):\n");
                    let rows = events
                        .iter()
                        .map(|event| {
                            vec![
                                when(event, "timestamp", now),
                                text(event, "status"),
                                text(event, "message"),
                            ]
                        })
                        .collect();
                    out.push_str(&table(&["WHEN", "STATUS", "MESSAGE"], rows));
                }
                out
            }))
        }
        ServicesCommand::Register {
            name,
            id,
            metadata,
            stale_threshold,
        } => {
            let mut body = json!({ "service_name": name, "metadata": object(metadata) });
            if let Some(id) = id {
                body["service_id"] = json!(id);
            }
            if let Some(threshold) = stale_threshold {
                body["stale_threshold"] = json!(threshold);
            }
            let body = api.call(Method::POST, "/services", Some(&body)).await?;
            Ok(answer(json, &body, |answer| text(answer, "service_id")))
        }
        ServicesCommand::Heartbeat {
            id,
            status,
            message,
            metadata,
        } => {
            let mut body = json!({ "status": status, "metadata": object(metadata) });
            if let Some(message) = message {
                body["message"] = json!(message);
            }
            let path = format!("/services/{}/heartbeat", segment(&id));
            let body = api.call(Method::POST, &path, Some(&body)).await?;
            Ok(answer(json, &body, |service| {
                format!("{}: {}", text(service, "name"), text(service, "status"))
            }))
        }
        ServicesCommand::Delete { id } => {
            let body = api
                .call(Method::DELETE, &format!("/services/{}", segment(&id)), None)
                .await?;
            Ok(answer(json, &body, |_| format!("Deleted service {id}")))
        }
        ServicesCommand::Pause { id, for_, until } => {
            let mut body = json!({});
            if let Some(duration) = for_ {
                body["for_seconds"] = json!(duration.as_secs_f64());
            }
            if let Some(until) = until {
                body["until"] = json!(until);
            }
            let path = format!("/services/{}/pause", segment(&id));
            let body = api.call(Method::POST, &path, Some(&body)).await?;
            Ok(answer(json, &body, |service| {
                let until = service["pause"]["until"]
                    .as_str()
                    .and_then(crate::client::types::parse_time)
                    .map(|at| {
                        format!(
                            "until {} ({})",
                            at.format("%Y-%m-%d %H:%M:%S UTC"),
                            crate::tui::view::relative(at, now)
                        )
                    })
                    .unwrap_or_else(|| "until resumed".into());
                format!("Paused {} {until}", text(service, "name"))
            }))
        }
        ServicesCommand::Resume { id } => {
            let path = format!("/services/{}/resume", segment(&id));
            let body = api.call(Method::POST, &path, Some(&json!({}))).await?;
            Ok(answer(json, &body, |service| {
                format!("Resumed {}", text(service, "name"))
            }))
        }
    }
}

fn task_row(task: &Value) -> Vec<String> {
    let percent = task["percent_complete"].as_f64().unwrap_or(0.0);
    let rate = task["rate_per_second"]
        .as_f64()
        .map(|rate| format!("{rate:.2}/s"))
        .unwrap_or_else(|| "-".into());
    let eta = task["eta_seconds"]
        .as_f64()
        .map(short_duration)
        .unwrap_or_else(|| "-".into());
    let mut state = text(task, "status");
    if task["stalled"].as_bool() == Some(true) {
        state.push_str(" (stalled)");
    }
    vec![
        text(task, "service_id"),
        text(task, "task_name"),
        format!("{percent:.0}%"),
        format!(
            "{}/{}",
            task["current_step"].as_u64().unwrap_or(0),
            task["total_steps"].as_u64().unwrap_or(0)
        ),
        rate,
        eta,
        state,
        text(task, "task_id"),
    ]
}

const TASK_HEADER: [&str; 8] = [
    "SERVICE", "TASK", "DONE", "STEPS", "RATE", "ETA", "STATE", "ID",
];

pub async fn progress(
    api: &Api,
    json: bool,
    command: ProgressCommand,
) -> Result<String, ClientError> {
    match command {
        ProgressCommand::List { service } => {
            let mut body = api.call(Method::GET, "/progress", None).await?;
            if let Some(service) = service {
                let kept: Vec<Value> = body["tasks"]
                    .as_array()
                    .map(|tasks| {
                        tasks
                            .iter()
                            .filter(|task| task["service_id"] == service.as_str())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                body = json!({ "total": kept.len(), "tasks": kept });
            }
            Ok(answer(json, &body, |body| {
                let rows = body["tasks"]
                    .as_array()
                    .map(|tasks| tasks.iter().map(task_row).collect())
                    .unwrap_or_default();
                table(&TASK_HEADER, rows)
            }))
        }
        ProgressCommand::Get { id } => {
            let body = api
                .call(Method::GET, &format!("/progress/{}", segment(&id)), None)
                .await?;
            Ok(answer(json, &body, |task| {
                let labels = [
                    "service", "task", "done", "steps", "rate", "eta", "state", "id",
                ];
                let mut pairs: Vec<(&str, String)> =
                    labels.into_iter().zip(task_row(task)).collect();
                pairs.push(("message", text(task, "message")));
                pairs.push(("description", text(task, "description")));
                fields(&pairs)
            }))
        }
    }
}

pub async fn alerts(api: &Api, json: bool, command: AlertsCommand) -> Result<String, ClientError> {
    let now = Utc::now();
    match command {
        AlertsCommand::List { state } => {
            let path = if state == "all" {
                "/alerts".to_string()
            } else {
                format!("/alerts?state={state}")
            };
            let body = api.call(Method::GET, &path, None).await?;
            Ok(answer(json, &body, |body| {
                let rows = body["alerts"]
                    .as_array()
                    .map(|alerts| {
                        alerts
                            .iter()
                            .map(|alert| {
                                let ack = &alert["ack"];
                                let ack_text = if ack.is_object() {
                                    let mut text_out = text(ack, "by");
                                    let note = text(ack, "note");
                                    if !note.is_empty() {
                                        text_out.push_str(&format!(": {note}"));
                                    }
                                    if ack["expires_at"].is_string() {
                                        text_out.push_str(&format!(
                                            " (expires {})",
                                            when(ack, "expires_at", now)
                                        ));
                                    }
                                    text_out
                                } else {
                                    String::new()
                                };
                                vec![
                                    text(alert, "id"),
                                    text(alert, "state"),
                                    text(alert, "service_name"),
                                    text(alert, "status"),
                                    when(alert, "opened_at", now),
                                    ack_text,
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                table(
                    &["ID", "STATE", "SERVICE", "STATUS", "OPENED", "ACKNOWLEDGED"],
                    rows,
                )
            }))
        }
        AlertsCommand::Ack { id, note, expires } => {
            let mut body = json!({});
            if let Some(note) = note {
                body["note"] = json!(note);
            }
            if let Some(expires) = expires {
                body["expires_in"] = json!(expires.as_secs_f64());
            }
            let path = format!("/alerts/{}/ack", segment(&id));
            let body = api.call(Method::POST, &path, Some(&body)).await?;
            Ok(answer(json, &body, |alert| {
                format!("Acknowledged the alert on {}", text(alert, "service_name"))
            }))
        }
        AlertsCommand::Unack { id } => {
            let path = format!("/alerts/{}/unack", segment(&id));
            let body = api.call(Method::POST, &path, Some(&json!({}))).await?;
            Ok(answer(json, &body, |alert| {
                format!("The alert on {} is open again", text(alert, "service_name"))
            }))
        }
    }
}

pub async fn webhooks(
    api: &Api,
    json: bool,
    command: WebhooksCommand,
) -> Result<String, ClientError> {
    let now = Utc::now();
    match command {
        WebhooksCommand::List => {
            let body = api.call(Method::GET, "/webhooks", None).await?;
            Ok(answer(json, &body, |body| {
                let rows = body["webhooks"]
                    .as_array()
                    .map(|channels| {
                        channels
                            .iter()
                            .map(|channel| {
                                let state = match (
                                    channel["broken"].as_str(),
                                    channel["enabled"].as_bool(),
                                ) {
                                    (Some(reason), _) => {
                                        format!("broken: {}", crate::tui::data::clean(reason))
                                    }
                                    (None, Some(false)) => "disabled".into(),
                                    _ => "enabled".into(),
                                };
                                let last = &channel["last_delivery"];
                                let last_text = if last.is_object() {
                                    let code = last["http_status"]
                                        .as_u64()
                                        .map(|code| format!(" {code}"))
                                        .unwrap_or_default();
                                    format!(
                                        "{}{code} {}",
                                        text(last, "state"),
                                        when(last, "at", now)
                                    )
                                } else {
                                    "never".into()
                                };
                                vec![
                                    text(channel, "id"),
                                    text(channel, "name"),
                                    text(channel, "kind"),
                                    text(channel, "url"),
                                    list_or_all(channel, "levels"),
                                    list_or_all(channel, "services"),
                                    state,
                                    last_text,
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                table(
                    &[
                        "ID",
                        "NAME",
                        "KIND",
                        "URL",
                        "LEVELS",
                        "SERVICES",
                        "STATE",
                        "LAST DELIVERY",
                    ],
                    rows,
                )
            }))
        }
        WebhooksCommand::Add {
            url,
            name,
            kind,
            levels,
            services,
            disabled,
        } => {
            let mut body = json!({ "url": url, "enabled": !disabled });
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if let Some(kind) = kind {
                body["kind"] = json!(kind);
            }
            if !levels.is_empty() {
                body["levels"] = json!(levels);
            }
            if !services.is_empty() {
                body["services"] = json!(services);
            }
            let body = api.call(Method::POST, "/webhooks", Some(&body)).await?;
            Ok(answer(json, &body, |channel| text(channel, "id")))
        }
        WebhooksCommand::Remove { id } => {
            let body = api
                .call(Method::DELETE, &format!("/webhooks/{}", segment(&id)), None)
                .await?;
            Ok(answer(json, &body, |_| format!("Deleted webhook {id}")))
        }
        WebhooksCommand::Test { id } => {
            let path = format!("/webhooks/{}/test", segment(&id));
            let body = api.call(Method::POST, &path, None).await?;
            Ok(answer(json, &body, |answer| {
                format!(
                    "Test notification queued (delivery {}); `laneswap webhooks list` shows how it went",
                    text(answer, "delivery_id")
                )
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_typed_when_they_read_as_json_scalars() {
        assert_eq!(parse_pair("n=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(parse_pair("ok=true").unwrap(), ("ok".into(), json!(true)));
        assert_eq!(parse_pair("v=1.2.3").unwrap(), ("v".into(), json!("1.2.3")));
        assert_eq!(parse_pair("s=a=b").unwrap(), ("s".into(), json!("a=b")));
        assert!(parse_pair("novalue").is_err());
        assert!(parse_pair("=x").is_err());
    }

    #[test]
    fn statuses_and_durations_parse_with_helpful_errors() {
        assert_eq!(parse_status("stale").unwrap(), Status::Stale);
        assert!(parse_status("fine")
            .unwrap_err()
            .contains("healthy, warning"));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert!(parse_duration("soon").is_err());
    }
}
