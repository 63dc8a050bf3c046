//! `laneswap services …`.

use super::*;

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
                            crate::core::text::relative(at, now)
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
