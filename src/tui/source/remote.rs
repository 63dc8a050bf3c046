//! A remote laneswap server (or the original Python LaneSwap server) over
//! HTTP: snapshots from the listing endpoints, changes from the live event
//! stream (`GET /api/events`) with reconnects, and polling every
//! `--refresh` seconds when the server has no stream.
//!
//! Responses are read leniently: the original server's records (a
//! `services` object keyed by id, timestamps without an offset, no alerts,
//! progress or webhooks endpoints) fill what they can and leave the rest
//! empty.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::local::{flatten, ALERTS_SHOWN, EVENTS_SHOWN};
use super::{Command, Connection, DataSource, Signal, SourceError};
use crate::core::Status;
use crate::tui::data::{
    clean, intervals, progress_by_service, AckRow, AlertRow, ChannelRow, Dataset, DeliveryRow,
    EventRow, ServiceDetail, ServiceRow, TaskRow,
};

/// Longest wait between reconnection attempts.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// How often a polling client checks whether the stream became available.
const STREAM_PROBE_EVERY: u32 = 15;

/// A remote server.
pub struct RemoteSource {
    base: String,
    client: reqwest::Client,
    stream_client: reqwest::Client,
    refresh: Duration,
}

impl RemoteSource {
    /// `base` is the server's root URL (`http://host:8000`).
    pub fn new(base: &str, refresh: Duration) -> Result<Self, SourceError> {
        let base = base.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("laneswap-term/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SourceError::Unreachable(error.to_string()))?;
        // The stream stays open: no total timeout, but a silent connection
        // (the server sends a keep-alive every 15 s) is given up.
        let stream_client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(45))
            .user_agent(concat!("laneswap-term/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SourceError::Unreachable(error.to_string()))?;
        Ok(RemoteSource {
            base,
            client,
            stream_client,
            refresh,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs JSON; `Ok(None)` when the server has no such endpoint.
    async fn get_optional(&self, path: &str) -> Result<Option<Value>, SourceError> {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .map_err(unreachable)?;
        if matches!(
            response.status(),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            return Ok(None);
        }
        read_json(response).await.map(Some)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, SourceError> {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(unreachable)?;
        if response.status() == StatusCode::NOT_FOUND {
            let detail = read_json(response).await.err().map(|e| e.to_string());
            return Err(match detail {
                Some(detail) if detail != "Not Found" => SourceError::Refused(detail),
                _ => SourceError::Unsupported(path.to_string()),
            });
        }
        read_json(response).await
    }

    /// Follows the event stream until it ends; `Ok(false)` when the server
    /// has none.
    async fn follow_stream(&self, signals: &mpsc::Sender<Signal>) -> Result<bool, String> {
        let mut response = self
            .stream_client
            .get(self.url("/api/events"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if !response.status().is_success() || !is_stream {
            return if matches!(
                response.status(),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ) || response.status().is_success()
            {
                Ok(false)
            } else {
                Err(format!("event stream answered {}", response.status()))
            };
        }
        let live = Connection::Live {
            url: self.base.clone(),
        };
        if signals.send(Signal::Connection(live)).await.is_err() {
            return Ok(true);
        }
        let _ = signals.send(Signal::Changed).await;
        let mut pending = String::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Err("the server closed the event stream".into()),
                Err(error) => return Err(describe(&error)),
            };
            pending.push_str(&String::from_utf8_lossy(&chunk));
            let mut changed = false;
            while let Some(end) = pending.find("\n\n") {
                let frame: String = pending.drain(..end + 2).collect();
                // Comments (`:` keep-alives) and the greeting change nothing.
                changed |= frame
                    .lines()
                    .any(|line| line.starts_with("event:") && !line.contains("hello"));
            }
            if changed {
                match signals.try_send(Signal::Changed) {
                    Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                    Err(mpsc::error::TrySendError::Closed(_)) => return Ok(true),
                }
            }
        }
    }
}

#[async_trait]
impl DataSource for RemoteSource {
    async fn snapshot(&self, focus: Option<&str>) -> Result<Dataset, SourceError> {
        let resolved_path = format!("/api/alerts?state=resolved&limit={ALERTS_SHOWN}");
        let (services, active, resolved, progress, webhooks) = tokio::join!(
            self.get_optional("/api/services"),
            self.get_optional("/api/alerts?state=active"),
            self.get_optional(&resolved_path),
            self.get_optional("/api/progress"),
            self.get_optional("/api/webhooks"),
        );
        let services = services?.ok_or_else(|| {
            SourceError::Unsupported(
                "GET /api/services answered 404: is this a laneswap server?".into(),
            )
        })?;
        let tasks: Vec<TaskRow> = progress
            .as_ref()
            .ok()
            .and_then(Option::as_ref)
            .map(|body| list(body, "tasks").map(task_row).collect())
            .unwrap_or_default();
        let has_progress = matches!(progress, Ok(Some(_)));
        let mut data = read_services(&services, focus, &tasks);
        data.tasks = tasks;
        data.has_progress = has_progress;
        data.alerts = match (active, resolved) {
            (Ok(Some(active)), resolved) => {
                let mut alerts: Vec<AlertRow> = list(&active, "alerts").map(alert_row).collect();
                if let Ok(Some(resolved)) = resolved {
                    alerts.extend(list(&resolved, "alerts").map(alert_row));
                }
                Some(alerts)
            }
            _ => None,
        };
        data.channels = match webhooks {
            Ok(Some(body)) => Some(list(&body, "webhooks").map(channel_row).collect()),
            _ => None,
        };
        Ok(data)
    }

    async fn watch(&self, signals: mpsc::Sender<Signal>) {
        let mut retry = Duration::from_millis(500);
        let connecting = Signal::Connection(Connection::Connecting {
            url: self.base.clone(),
        });
        if signals.send(connecting).await.is_err() {
            return;
        }
        loop {
            match self.follow_stream(&signals).await {
                Ok(true) => return,
                Ok(false) => {
                    // No stream (the original server): poll, and look for
                    // the stream again now and then.
                    let polling = Connection::Polling {
                        url: self.base.clone(),
                        every: self.refresh,
                    };
                    if signals.send(Signal::Connection(polling)).await.is_err() {
                        return;
                    }
                    for _ in 0..STREAM_PROBE_EVERY {
                        if signals.send(Signal::Changed).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(self.refresh).await;
                    }
                    retry = Duration::from_millis(500);
                }
                Err(error) => {
                    let down = Connection::Down {
                        url: self.base.clone(),
                        error,
                    };
                    if signals.send(Signal::Connection(down)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
    }

    async fn execute(&self, command: Command) -> Result<String, SourceError> {
        use reqwest::Method;
        match command {
            Command::Acknowledge {
                alert_id,
                note,
                expires_in,
            } => {
                let mut body = json!({});
                if let Some(note) = note {
                    body["note"] = json!(note);
                }
                if let Some(expires_in) = expires_in {
                    body["expires_in"] = json!(expires_in.as_secs_f64());
                }
                let path = format!("/api/alerts/{}/ack", segment(&alert_id));
                let alert = self.send(Method::POST, &path, Some(body)).await?;
                Ok(text(&alert, "service_name"))
            }
            Command::Unacknowledge { alert_id } => {
                let path = format!("/api/alerts/{}/unack", segment(&alert_id));
                let alert = self.send(Method::POST, &path, Some(json!({}))).await?;
                Ok(text(&alert, "service_name"))
            }
            Command::PauseService { service_id } => {
                let path = format!("/api/services/{}/pause", segment(&service_id));
                let record = self.send(Method::POST, &path, Some(json!({}))).await?;
                Ok(text(&record, "name"))
            }
            Command::ResumeService { service_id } => {
                let path = format!("/api/services/{}/resume", segment(&service_id));
                let record = self.send(Method::POST, &path, Some(json!({}))).await?;
                Ok(text(&record, "name"))
            }
            Command::DeleteService { service_id } => {
                let path = format!("/api/services/{}", segment(&service_id));
                self.send(Method::DELETE, &path, None).await?;
                Ok(clean(&service_id))
            }
            Command::SaveWebhook { id, draft } => {
                let mut body = json!({
                    "levels": draft.levels,
                    "services": draft.services,
                    "enabled": draft.enabled,
                });
                if let Some(name) = &draft.name {
                    body["name"] = json!(name);
                }
                // Empty: the server tells Discord by its URL.
                if !draft.kind.is_empty() {
                    body["kind"] = json!(draft.kind);
                }
                if let Some(url) = &draft.url {
                    body["url"] = json!(url);
                }
                let saved = match id {
                    None => self.send(Method::POST, "/api/webhooks", Some(body)).await?,
                    Some(id) => {
                        let path = format!("/api/webhooks/{}", segment(&id));
                        self.send(Method::PUT, &path, Some(body)).await?
                    }
                };
                Ok(text(&saved, "name"))
            }
            Command::TestWebhook { id } => {
                let path = format!("/api/webhooks/{}/test", segment(&id));
                self.send(Method::POST, &path, None).await?;
                Ok(id)
            }
            Command::SetWebhookEnabled { id, enabled } => {
                let path = format!("/api/webhooks/{}", segment(&id));
                let saved = self
                    .send(Method::PUT, &path, Some(json!({ "enabled": enabled })))
                    .await?;
                Ok(text(&saved, "name"))
            }
            Command::DeleteWebhook { id } => {
                let path = format!("/api/webhooks/{}", segment(&id));
                self.send(Method::DELETE, &path, None).await?;
                Ok(id)
            }
        }
    }
}

/// Percent-encodes an id for a path segment.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn unreachable(error: reqwest::Error) -> SourceError {
    SourceError::Unreachable(describe(&error))
}

/// A reqwest error in a few words, with its cause (connection refused…).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// The body as JSON, or the server's `detail` as the error.
async fn read_json(response: reqwest::Response) -> Result<Value, SourceError> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    Err(SourceError::Refused(
        detail(&body).unwrap_or_else(|| format!("the server answered {status}")),
    ))
}

/// `{"detail": "text"}` or FastAPI's `{"detail": [{"loc", "msg"}…]}` in words.
fn detail(body: &Value) -> Option<String> {
    match body.get("detail")? {
        Value::String(text) => Some(clean(text)),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|item| {
                    let field = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .and_then(|loc| loc.last())
                        .map(|last| last.as_str().map_or(last.to_string(), str::to_string))
                        .unwrap_or_default();
                    format!("{}: {}", clean(&field), clean(&text(item, "msg")))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => Some(clean(&other.to_string())),
    }
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(clean)
        .unwrap_or_default()
}

fn time(value: &Value, key: &str) -> Option<DateTime<Utc>> {
    parse_time(value.get(key)?.as_str()?)
}

/// RFC 3339, or the naive timestamps the original server stored in MongoDB
/// (taken as UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

fn status(value: &Value, key: &str) -> Status {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<Status>().ok())
        .unwrap_or(Status::Unknown)
}

/// The items of a list under `key` (or of a bare array).
fn list<'a>(body: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    body.get(key)
        .or(Some(body))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `services` as an object keyed by id (the original) or as an array.
fn read_services(body: &Value, focus: Option<&str>, tasks: &[TaskRow]) -> Dataset {
    let records: Vec<&Value> = match body.get("services") {
        Some(Value::Object(map)) => map.values().collect(),
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    let progress = progress_by_service(tasks);
    let mut detail = None;
    let services = records
        .iter()
        .map(|record| {
            let id = text(record, "id");
            if focus == Some(id.as_str()) {
                detail = Some(detail_of(record, &id));
            }
            let message = record
                .get("status_message")
                .and_then(Value::as_str)
                .or_else(|| record.get("message").and_then(Value::as_str))
                .map(clean)
                .unwrap_or_default();
            ServiceRow {
                progress: progress.get(id.as_str()).copied(),
                name: text(record, "name"),
                status: status(record, "status"),
                last_heartbeat: time(record, "last_heartbeat"),
                message,
                paused: record
                    .get("paused")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                id,
            }
        })
        .collect();
    Dataset {
        services,
        detail,
        taken_at: Some(Utc::now()),
        ..Dataset::default()
    }
}

fn detail_of(record: &Value, id: &str) -> ServiceDetail {
    let events: Vec<(bool, EventRow)> = list(record, "events")
        .filter(|event| event.is_object())
        .filter_map(|event| {
            // The original's events are all heartbeats (and may lack `type`).
            let beat = event
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(|kind| kind == "heartbeat");
            Some((
                beat,
                EventRow {
                    at: time(event, "timestamp")?,
                    status: status(event, "status"),
                    message: text(event, "message"),
                },
            ))
        })
        .collect();
    let times: Vec<DateTime<Utc>> = events
        .iter()
        .filter(|(beat, _)| *beat)
        .map(|(_, event)| event.at)
        .collect();
    let events: Vec<EventRow> = events.into_iter().map(|(_, event)| event).collect();
    let shown = events.len().saturating_sub(EVENTS_SHOWN);
    ServiceDetail {
        id: id.to_string(),
        created_at: time(record, "created_at"),
        metadata: record
            .get("metadata")
            .and_then(Value::as_object)
            .map(|map| flatten(map.iter()))
            .unwrap_or_default(),
        intervals: intervals(&times),
        events: events[shown..].to_vec(),
        pause_until: record.get("pause").and_then(|pause| time(pause, "until")),
        stale_at: time(record, "stale_at"),
    }
}

fn task_row(task: &Value) -> TaskRow {
    let number = |key: &str| task.get(key).and_then(Value::as_f64);
    let status = text(task, "status");
    let finished = ["completed", "failed", "canceled", "timeout"].contains(&status.as_str());
    TaskRow {
        id: text(task, "task_id"),
        service_id: text(task, "service_id"),
        name: text(task, "task_name"),
        current: task
            .get("current_step")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        total: task.get("total_steps").and_then(Value::as_u64).unwrap_or(0),
        percent: number("percent_complete").unwrap_or(0.0),
        rate_per_second: number("rate_per_second"),
        eta_seconds: number("eta_seconds"),
        stalled: task
            .get("stalled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        finished,
        message: text(task, "message"),
        updated_at: time(task, "updated_at"),
        status,
    }
}

fn alert_row(alert: &Value) -> AlertRow {
    AlertRow {
        id: text(alert, "id"),
        service_id: text(alert, "service_id"),
        service_name: text(alert, "service_name"),
        state: text(alert, "state"),
        status: status(alert, "status"),
        opened_at: time(alert, "opened_at"),
        resolved_at: time(alert, "resolved_at"),
        ack: alert
            .get("ack")
            .filter(|ack| ack.is_object())
            .map(|ack| AckRow {
                by: text(ack, "by"),
                note: text(ack, "note"),
                at: time(ack, "at"),
                expires_at: time(ack, "expires_at"),
            }),
        reopened: alert.get("reopened").and_then(Value::as_u64).unwrap_or(0) as u32,
    }
}

fn channel_row(channel: &Value) -> ChannelRow {
    let strings = |key: &str| -> Vec<String> {
        list(channel, key)
            .filter_map(Value::as_str)
            .map(clean)
            .collect()
    };
    ChannelRow {
        id: text(channel, "id"),
        name: text(channel, "name"),
        kind: text(channel, "kind"),
        url: text(channel, "url"),
        levels: strings("levels"),
        services: strings("services"),
        enabled: channel
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        source: text(channel, "source"),
        broken: channel.get("broken").and_then(Value::as_str).map(clean),
        last_delivery: channel
            .get("last_delivery")
            .filter(|last| last.is_object())
            .map(|last| DeliveryRow {
                state: text(last, "state"),
                at: time(last, "at"),
                http_status: last
                    .get("http_status")
                    .and_then(Value::as_u64)
                    .map(|code| code as u16),
                error: text(last, "error"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_servers_listing_reads() {
        let body = json!({
            "services": {
                "a1": {"id": "a1", "name": "svc\u{1b}[2Ja", "status": "busy",
                       "created_at": "2026-11-28T12:35:27.475081+00:00",
                       "last_heartbeat": "2026-11-28T12:40:49.144000",
                       "last_message": null, "metadata": {"region": "eu", "n": 3},
                       "events": [{"type": "heartbeat", "timestamp": "2026-11-28T12:40:40.000000Z", "status": "busy", "message": "m"},
                                  {"type": "heartbeat", "timestamp": "2026-11-28T12:40:49.144000Z", "status": "busy", "message": "m"}],
                       "status_message": "Status updated to busy", "message": null},
                "b2": {"id": "b2", "name": "svc-b", "status": "unknown", "created_at": "2026-11-28T12:35:27.477506+00:00",
                       "last_heartbeat": null, "last_message": null, "metadata": {}, "events": []}
            },
            "summary": {"total": 2}
        });
        let data = read_services(&body, Some("a1"), &[]);
        assert_eq!(data.services.len(), 2);
        assert_eq!(data.services[0].name, "svc[2Ja", "escape stripped");
        assert_eq!(data.services[0].message, "Status updated to busy");
        assert!(
            data.services[0].last_heartbeat.is_some(),
            "naive time read as UTC"
        );
        assert_eq!(data.services[1].last_heartbeat, None);
        let detail = data.detail.unwrap();
        assert_eq!(
            detail.metadata,
            vec![("region".into(), "eu".into()), ("n".into(), "3".into())]
        );
        assert_eq!(detail.intervals, vec![9]);
    }

    #[test]
    fn fastapi_errors_read_as_one_line() {
        let body = json!({"detail": [{"loc": ["body", "url"], "msg": "Field required", "type": "missing"}]});
        assert_eq!(detail(&body).unwrap(), "url: Field required");
        assert_eq!(
            detail(&json!({"detail": "Alert not found: x"})).unwrap(),
            "Alert not found: x"
        );
    }

    #[test]
    fn ids_are_encoded_for_paths() {
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(segment("ok-1.2_~"), "ok-1.2_~");
    }
}
