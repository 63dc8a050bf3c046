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
use crate::core::text::short_duration;
use crate::core::Status;

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
    /// Start a task for a service (prints its id), e.g. from a backup script
    Start {
        /// The service the task belongs to
        service_id: String,
        /// What the task is, e.g. "nightly backup"
        name: String,
        /// How many steps it has
        #[arg(long, value_name = "N")]
        steps: u64,
        /// A longer description
        #[arg(long)]
        description: Option<String>,
    },
    /// Report a task's current step
    Update {
        /// The task's id
        id: String,
        /// Steps done so far
        #[arg(long, value_name = "N")]
        step: u64,
        /// What it is doing now
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Finish a task (completed, or failed with --failed)
    Complete {
        /// The task's id
        id: String,
        /// Mark it failed instead of completed
        #[arg(long)]
        failed: bool,
        /// A closing message
        #[arg(long, short)]
        message: Option<String>,
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

mod resources;
mod services;

pub use self::resources::{alerts, progress, webhooks};
pub use self::services::services;

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
