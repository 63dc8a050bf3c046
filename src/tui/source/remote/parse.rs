//! Reading a server's JSON answers into the screens' rows, leniently: the
//! original server's records (a `services` object keyed by id, timestamps
//! without an offset, events without `type`) fill what they can. Every
//! string goes through [`clean`].

use chrono::{DateTime, Utc};

use crate::client::types::parse_time;
use serde_json::Value;

use crate::core::Status;
use crate::tui::data::{
    clean, intervals, progress_by_service, AckRow, AlertRow, ChannelRow, Dataset, DeliveryRow,
    EventRow, ServiceDetail, ServiceRow, TaskRow,
};
use crate::tui::source::local::{flatten, EVENTS_SHOWN};

pub fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(clean)
        .unwrap_or_default()
}

fn time(value: &Value, key: &str) -> Option<DateTime<Utc>> {
    parse_time(value.get(key)?.as_str()?)
}

fn status(value: &Value, key: &str) -> Status {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<Status>().ok())
        .unwrap_or(Status::Unknown)
}

/// The items of a list under `key` (or of a bare array).
pub fn list<'a>(body: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    body.get(key)
        .or(Some(body))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `services` as an object keyed by id (the original) or as an array.
pub fn read_services(body: &Value, focus: Option<&str>, tasks: &[TaskRow]) -> Dataset {
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

pub fn task_row(task: &Value) -> TaskRow {
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

pub fn alert_row(alert: &Value) -> AlertRow {
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

pub fn channel_row(channel: &Value) -> ChannelRow {
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
    use serde_json::json;

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
}
