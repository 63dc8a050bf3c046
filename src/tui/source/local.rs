//! The embedded server's data, read straight from the core handle; actions
//! call the core as the HTTP handlers do.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::{Command, Connection, DataSource, Signal, SourceError, WebhookDraft};
use crate::core::channels::{guess_kind, normalise_url, redact_url};
use crate::core::notifications::Level;
use crate::core::{
    Alert, Channel, ChannelKind, ChannelSource, Core, CoreError, Delivery, ProgressTask, Registry,
    ServiceRecord,
};
use crate::storage::Store;
use crate::tui::data::{
    clean, intervals, progress_by_service, AckRow, AlertRow, ChannelRow, Dataset, DeliveryRow,
    EventRow, ServiceDetail, ServiceRow, TaskRow,
};

/// Alerts the alerts view lists: the active ones and the newest resolved.
pub const ALERTS_SHOWN: usize = 200;

/// Events of the selected service's timeline.
pub const EVENTS_SHOWN: usize = 50;

/// The embedded core and store.
pub struct LocalSource {
    core: Core,
    store: Arc<dyn Store>,
    url: String,
    operator: String,
}

impl LocalSource {
    pub fn new(core: Core, store: Arc<dyn Store>, url: String, operator: String) -> Self {
        LocalSource {
            core,
            store,
            url,
            operator,
        }
    }
}

#[async_trait]
impl DataSource for LocalSource {
    async fn snapshot(&self, focus: Option<&str>) -> Result<Dataset, SourceError> {
        let now = self.core.now();
        let stall_after = self.core.config().task_stall_after_secs;
        let (taken, channels) = self.core.read(|registry| {
            let channels: Vec<Channel> = registry.channels().cloned().collect();
            (take(registry, focus), channels)
        });
        let mut data = build(taken, now, stall_after);
        let mut rows = Vec::with_capacity(channels.len());
        for channel in &channels {
            let recent = crate::core::deliveries::HEALTH_WINDOW;
            let last = match self.store.deliveries(&channel.id, recent).await {
                Ok(deliveries) => crate::core::deliveries::latest_activity(&deliveries).cloned(),
                Err(error) => {
                    tracing::warn!(%error, channel = %channel.id, "cannot read the delivery log");
                    None
                }
            };
            rows.push(channel_row(channel, last.as_ref()));
        }
        data.channels = Some(rows);
        if let crate::storage::StoreHealth::Degraded { detail, .. } = self.store.health() {
            data.store_degraded = Some(clean(&detail));
        }
        Ok(data)
    }

    async fn watch(&self, signals: mpsc::Sender<Signal>) {
        let mut events = self.core.subscribe();
        let connected = Signal::Connection(Connection::Local {
            url: self.url.clone(),
        });
        if signals.send(connected).await.is_err() {
            return;
        }
        loop {
            let signal = match events.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => Signal::Changed,
                Err(RecvError::Closed) => return,
            };
            // A full channel already holds a Changed: nothing is lost.
            match signals.try_send(signal) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }

    async fn execute(&self, command: Command) -> Result<String, SourceError> {
        let core = &self.core;
        match command {
            Command::Acknowledge {
                alert_id,
                note,
                expires_in,
            } => {
                let expires_at = match expires_in {
                    Some(duration) => Some(
                        core.now()
                            + chrono::Duration::from_std(duration)
                                .map_err(|_| SourceError::Refused("expiry too far".into()))?,
                    ),
                    None => None,
                };
                let alert = core
                    .acknowledge(&alert_id, self.operator.clone(), note, expires_at)
                    .await
                    .map_err(refused)?;
                Ok(clean(&alert.service_name))
            }
            Command::Unacknowledge { alert_id } => {
                let alert = core.unacknowledge(&alert_id).await.map_err(refused)?;
                Ok(clean(&alert.service_name))
            }
            Command::PauseService { service_id } => {
                let record = core.pause(&service_id, None).await.map_err(refused)?;
                Ok(clean(&record.name))
            }
            Command::ResumeService { service_id } => {
                let record = core.resume(&service_id).await.map_err(refused)?;
                Ok(clean(&record.name))
            }
            Command::DeleteService { service_id } => {
                core.remove_service(&service_id).await.map_err(refused)?;
                Ok(clean(&service_id))
            }
            Command::SaveWebhook { id: None, draft } => {
                let channel = new_channel(&draft, core.now())?;
                let channel = core.add_channel(channel).await.map_err(refused)?;
                Ok(clean(&channel.name))
            }
            Command::SaveWebhook {
                id: Some(id),
                draft,
            } => {
                let current = core
                    .channel(&id)
                    .ok_or_else(|| SourceError::Refused(format!("Webhook not found: {id}")))?;
                let edited = edit_channel(current, &draft)?;
                let channel = core
                    .update_channel(&id, move |_| edited)
                    .await
                    .map_err(refused)?;
                Ok(clean(&channel.name))
            }
            Command::TestWebhook { id } => {
                core.queue_test(&id).await.map_err(refused)?;
                Ok(id)
            }
            Command::SetWebhookEnabled { id, enabled } => {
                let channel = core
                    .update_channel(&id, |mut channel| {
                        channel.enabled = enabled;
                        if enabled {
                            channel.broken = None;
                        }
                        channel
                    })
                    .await
                    .map_err(refused)?;
                Ok(clean(&channel.name))
            }
            Command::DeleteWebhook { id } => {
                core.remove_channel(&id).await.map_err(refused)?;
                Ok(id)
            }
        }
    }
}

fn refused(error: CoreError) -> SourceError {
    match error {
        CoreError::Refused(reason) => SourceError::Refused(reason.to_string()),
        CoreError::Storage(error) => SourceError::Refused(format!("the store failed: {error}")),
    }
}

/// What a snapshot copies out of the registry while holding its lock:
/// cheap clones (records share their metadata and events), nothing more.
pub struct Taken {
    services: Vec<ServiceRecord>,
    tasks: Vec<ProgressTask>,
    alerts: Vec<Alert>,
    /// The focused service's deadline.
    deadline: Option<DateTime<Utc>>,
    focus: Option<String>,
}

/// Copies what the screens need out of the registry (under its lock).
pub fn take(registry: &Registry, focus: Option<&str>) -> Taken {
    let book = registry.alerts();
    let mut alerts: Vec<Alert> = book
        .iter()
        .rev()
        .filter(|alert| alert.is_active())
        .cloned()
        .collect();
    let resolved_wanted = ALERTS_SHOWN.saturating_sub(alerts.len());
    alerts.extend(
        book.iter()
            .rev()
            .filter(|alert| !alert.is_active())
            .take(resolved_wanted)
            .cloned(),
    );
    Taken {
        services: registry.services().cloned().collect(),
        tasks: registry.tasks().cloned().collect(),
        alerts,
        deadline: focus.and_then(|id| registry.deadline_of(id)),
        focus: focus.map(str::to_string),
    }
}

/// Builds the screens' data from what [`take`] copied (no lock held).
pub fn build(taken: Taken, now: DateTime<Utc>, stall_after_secs: f64) -> Dataset {
    let tasks: Vec<TaskRow> = taken
        .tasks
        .iter()
        .map(|task| task_row(task, now, stall_after_secs))
        .collect();
    let progress = progress_by_service(&tasks);
    let services = taken
        .services
        .iter()
        .map(|record| ServiceRow {
            id: clean(&record.id),
            name: clean(&record.name),
            status: record.status,
            last_heartbeat: record.last_heartbeat,
            message: clean(record.status_message.as_deref().unwrap_or("")),
            paused: record.pause.is_some_and(|pause| pause.is_active(now)),
            progress: progress.get(record.id.as_str()).copied(),
        })
        .collect();
    let detail = taken
        .focus
        .as_deref()
        .and_then(|id| taken.services.iter().find(|record| record.id == id))
        .map(|record| detail_of(record, taken.deadline, now));
    Dataset {
        services,
        detail,
        tasks,
        alerts: Some(taken.alerts.iter().map(alert_row).collect()),
        channels: None,
        has_progress: true,
        store_degraded: None,
        taken_at: Some(now),
    }
}

fn detail_of(
    record: &ServiceRecord,
    deadline: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ServiceDetail {
    let decoded = record.events.decoded();
    // The rhythm is the heartbeats' (a stale flip is not a beat).
    let times: Vec<DateTime<Utc>> = decoded
        .iter()
        .filter(|event| event.kind == crate::core::model::EventKind::Heartbeat)
        .map(|event| event.timestamp)
        .collect();
    let events: Vec<EventRow> = decoded
        .into_iter()
        .map(|event| EventRow {
            at: event.timestamp,
            status: event.status,
            message: clean(&event.message),
        })
        .collect();
    let shown = events.len().saturating_sub(EVENTS_SHOWN);
    ServiceDetail {
        id: clean(&record.id),
        created_at: Some(record.created_at),
        metadata: flatten(record.metadata.to_map().iter()),
        intervals: intervals(&times),
        events: events[shown..].to_vec(),
        pause_until: record
            .pause
            .filter(|pause| pause.is_active(now))
            .and_then(|pause| pause.until),
        stale_at: deadline,
    }
}

/// `key = value` pairs, values as compact JSON unless they are strings.
pub fn flatten<'a>(
    entries: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> Vec<(String, String)> {
    entries
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (clean(key), clean(&text))
        })
        .collect()
}

fn task_row(task: &ProgressTask, now: DateTime<Utc>, stall_after_secs: f64) -> TaskRow {
    TaskRow {
        id: clean(&task.task_id),
        service_id: clean(&task.service_id),
        name: clean(&task.task_name),
        status: clean(&task.status),
        current: task.current_step,
        total: task.total_steps,
        percent: task.percent_complete(),
        rate_per_second: task.rate_per_second(now),
        eta_seconds: task.eta_seconds(now),
        stalled: task.is_stalled(now, stall_after_secs),
        finished: task.is_finished(),
        message: clean(task.message.as_deref().unwrap_or("")),
        updated_at: Some(task.updated_at),
    }
}

fn alert_row(alert: &Alert) -> AlertRow {
    AlertRow {
        id: clean(&alert.id),
        service_id: clean(&alert.service_id),
        service_name: clean(&alert.service_name),
        state: alert.state.as_str().to_string(),
        status: alert.status,
        opened_at: Some(alert.opened_at),
        resolved_at: alert.resolved_at,
        ack: alert.ack.as_ref().map(|ack| AckRow {
            by: clean(&ack.by),
            note: clean(ack.note.as_deref().unwrap_or("")),
            at: Some(ack.at),
            expires_at: ack.expires_at,
        }),
        reopened: alert.reopened,
    }
}

fn channel_row(channel: &Channel, last: Option<&Delivery>) -> ChannelRow {
    ChannelRow {
        id: clean(&channel.id),
        name: clean(&channel.name),
        kind: channel.kind.as_str().to_string(),
        url: clean(&redact_url(&channel.url)),
        levels: channel
            .levels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect(),
        services: channel.services.iter().map(|s| clean(s)).collect(),
        enabled: channel.enabled,
        source: channel.source.as_str().to_string(),
        broken: channel.broken.as_deref().map(clean),
        last_delivery: last.map(|delivery| {
            let attempt = delivery.attempts.last();
            DeliveryRow {
                state: delivery_state(delivery).to_string(),
                at: attempt
                    .map(|attempt| attempt.at)
                    .or(Some(delivery.created_at)),
                http_status: attempt.and_then(|attempt| attempt.status),
                error: clean(attempt.and_then(|a| a.error.as_deref()).unwrap_or("")),
            }
        }),
    }
}

fn delivery_state(delivery: &Delivery) -> &'static str {
    match delivery.state {
        crate::core::DeliveryState::Pending => "pending",
        crate::core::DeliveryState::Delivered => "delivered",
        crate::core::DeliveryState::Failed => "failed",
    }
}

fn parse_levels(names: &[String]) -> Result<BTreeSet<Level>, SourceError> {
    names
        .iter()
        .map(|name| name.parse::<Level>().map_err(SourceError::Refused))
        .collect()
}

fn parse_kind(text: &str, url: &str) -> Result<ChannelKind, SourceError> {
    if text.is_empty() {
        return Ok(guess_kind(url));
    }
    text.parse::<ChannelKind>().map_err(SourceError::Refused)
}

fn new_channel(draft: &WebhookDraft, now: DateTime<Utc>) -> Result<Channel, SourceError> {
    let url_text = draft
        .url
        .as_deref()
        .ok_or_else(|| SourceError::Refused("a webhook needs a URL".into()))?;
    let kind = parse_kind(&draft.kind, url_text)?;
    let url = normalise_url(kind, url_text).map_err(|e| SourceError::Refused(e.to_string()))?;
    Ok(Channel {
        id: uuid::Uuid::new_v4().to_string(),
        name: draft.name.clone().unwrap_or_else(|| redact_url(&url)),
        kind,
        url,
        levels: parse_levels(&draft.levels)?,
        services: draft.services.iter().cloned().collect(),
        enabled: draft.enabled,
        source: ChannelSource::Api,
        broken: None,
        created_at: now,
        updated_at: now,
    })
}

fn edit_channel(mut channel: Channel, draft: &WebhookDraft) -> Result<Channel, SourceError> {
    let kind = parse_kind(&draft.kind, draft.url.as_deref().unwrap_or(&channel.url))?;
    if let Some(url) = &draft.url {
        channel.url = normalise_url(kind, url).map_err(|e| SourceError::Refused(e.to_string()))?;
        channel.broken = None;
    }
    if let Some(name) = &draft.name {
        channel.name = name.clone();
    }
    channel.kind = kind;
    channel.levels = parse_levels(&draft.levels)?;
    channel.services = draft.services.iter().cloned().collect();
    if draft.enabled && !channel.enabled {
        channel.broken = None;
    }
    channel.enabled = draft.enabled;
    Ok(channel)
}
