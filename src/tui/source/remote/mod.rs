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
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

mod parse;

use self::parse::{alert_row, channel_row, list, read_services, task_row, text};
use super::local::ALERTS_SHOWN;
use super::{Command, Connection, DataSource, Signal, SourceError};
use crate::client::http::{describe, segment};
use crate::client::{Api, ClientError};
use crate::tui::data::{clean, AlertRow, Dataset, TaskRow};

/// Longest wait between reconnection attempts.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// How often a polling client checks whether the stream became available.
const STREAM_PROBE_EVERY: u32 = 15;

/// A remote server.
pub struct RemoteSource {
    /// `http://host:8000`, for the header and the stream.
    base: String,
    api: Api,
    stream_client: reqwest::Client,
    /// Bearer token for a server that requires one.
    token: Option<String>,
    refresh: Duration,
}

impl RemoteSource {
    /// `base` is the server's root URL (`http://host:8000`); `token` is
    /// sent as a bearer token when given.
    pub fn new(base: &str, token: Option<String>, refresh: Duration) -> Result<Self, SourceError> {
        // No retries: the driver takes the next snapshot soon anyway, and a
        // failed action is better reported at once.
        let api = Api::new(
            base,
            token.clone(),
            Duration::from_secs(10),
            0,
            Duration::ZERO,
        )
        .map_err(|error| SourceError::Refused(error.to_string()))?;
        // The stream stays open: no total timeout, but a silent connection
        // (the server sends a keep-alive every 15 s) is given up.
        let stream_client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(45))
            .user_agent(concat!("laneswap-term/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SourceError::Unreachable(error.to_string()))?;
        Ok(RemoteSource {
            base: api.root().to_string(),
            api,
            stream_client,
            token,
            refresh,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs JSON under `/api`; `Ok(None)` when the server has no such
    /// endpoint.
    async fn get_optional(&self, path: &str) -> Result<Option<Value>, SourceError> {
        match self.api.call(Method::GET, path, None).await {
            Ok(body) => Ok(Some(body)),
            Err(ClientError::NotFound { .. } | ClientError::Status { status: 405, .. }) => Ok(None),
            Err(error) => Err(source_error(error, path)),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, SourceError> {
        self.api
            .call(method, path, body.as_ref())
            .await
            .map_err(|error| source_error(error, path))
    }

    /// Follows the event stream until it ends; `Ok(false)` when the server
    /// has none.
    async fn follow_stream(&self, signals: &mpsc::Sender<Signal>) -> Result<bool, StreamEnd> {
        let mut request = self
            .stream_client
            .get(self.url("/api/events"))
            .header("accept", "text/event-stream");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .map_err(|error| StreamEnd::Unreachable(describe(&error)))?;
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
                Err(StreamEnd::Refused(match response.status() {
                    StatusCode::UNAUTHORIZED => {
                        "the server needs a token: give --token or LANESWAP_TOKEN".to_string()
                    }
                    StatusCode::FORBIDDEN => "this token may not read the event stream".to_string(),
                    status => format!("event stream answered {status}"),
                }))
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
                Ok(None) => {
                    return Err(StreamEnd::Unreachable(
                        "the server closed the event stream".into(),
                    ))
                }
                Err(error) => return Err(StreamEnd::Unreachable(describe(&error))),
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

/// Why the event stream ended (other than the UI closing).
enum StreamEnd {
    /// No answer, or the connection broke.
    Unreachable(String),
    /// The server answered with an error status.
    Refused(String),
}

#[async_trait]
impl DataSource for RemoteSource {
    async fn snapshot(&self, focus: Option<&str>) -> Result<Dataset, SourceError> {
        let resolved_path = format!("/alerts?state=resolved&limit={ALERTS_SHOWN}");
        let (services, active, resolved, progress, webhooks, health) = tokio::join!(
            self.get_optional("/services"),
            self.get_optional("/alerts?state=active"),
            self.get_optional(&resolved_path),
            self.get_optional("/progress"),
            self.get_optional("/webhooks"),
            self.get_optional("/health"),
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
        data.store_degraded = health
            .ok()
            .flatten()
            .and_then(|body| body["store"]["detail"].as_str().map(clean));
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
                Err(end) => {
                    let url = self.base.clone();
                    let down = match end {
                        StreamEnd::Unreachable(error) => Connection::Down { url, error },
                        StreamEnd::Refused(error) => Connection::Refused { url, error },
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
        match command {
            Command::Acknowledge {
                alert_id,
                note,
                expires_in,
            } => {
                let alert = self
                    .api
                    .acknowledge(&alert_id, note, expires_in)
                    .await
                    .map_err(|error| source_error(error, "/alerts"))?;
                Ok(text(&alert, "service_name"))
            }
            Command::Unacknowledge { alert_id } => {
                let path = format!("/alerts/{}/unack", segment(&alert_id));
                let alert = self.send(Method::POST, &path, Some(json!({}))).await?;
                Ok(text(&alert, "service_name"))
            }
            Command::PauseService { service_id } => {
                let path = format!("/services/{}/pause", segment(&service_id));
                let record = self.send(Method::POST, &path, Some(json!({}))).await?;
                Ok(text(&record, "name"))
            }
            Command::ResumeService { service_id } => {
                let path = format!("/services/{}/resume", segment(&service_id));
                let record = self.send(Method::POST, &path, Some(json!({}))).await?;
                Ok(text(&record, "name"))
            }
            Command::DeleteService { service_id } => {
                let path = format!("/services/{}", segment(&service_id));
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
                    None => self.send(Method::POST, "/webhooks", Some(body)).await?,
                    Some(id) => {
                        let path = format!("/webhooks/{}", segment(&id));
                        self.send(Method::PUT, &path, Some(body)).await?
                    }
                };
                Ok(text(&saved, "name"))
            }
            Command::TestWebhook { id } => {
                let path = format!("/webhooks/{}/test", segment(&id));
                self.send(Method::POST, &path, None).await?;
                Ok(id)
            }
            Command::SetWebhookEnabled { id, enabled } => {
                let path = format!("/webhooks/{}", segment(&id));
                let saved = self
                    .send(Method::PUT, &path, Some(json!({ "enabled": enabled })))
                    .await?;
                Ok(text(&saved, "name"))
            }
            Command::DeleteWebhook { id } => {
                let path = format!("/webhooks/{}", segment(&id));
                self.send(Method::DELETE, &path, None).await?;
                Ok(id)
            }
        }
    }
}

/// A client error in the source's terms; a bare 404 means the server has
/// no such endpoint (the original server).
fn source_error(error: ClientError, path: &str) -> SourceError {
    match error {
        ClientError::NotFound { detail } if detail == "Not Found" => {
            SourceError::Unsupported(path.to_string())
        }
        ClientError::Status {
            status: 401,
            detail,
        } => SourceError::Refused(format!(
            "{}: give a token with --token or LANESWAP_TOKEN",
            clean(&detail)
        )),
        ClientError::NotFound { detail }
        | ClientError::Invalid { detail }
        | ClientError::Status { detail, .. } => SourceError::Refused(clean(&detail)),
        ClientError::Network { reason, .. } => SourceError::Unreachable(reason),
        ClientError::InvalidResponse { reason, .. } => SourceError::Unreachable(reason),
        other => SourceError::Refused(other.to_string()),
    }
}
