//! `laneswap progress|alerts|webhooks …`.

use super::*;

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
        ProgressCommand::Start {
            service_id,
            name,
            steps,
            description,
        } => {
            let mut request = json!({
                "service_id": service_id,
                "task_name": name,
                "total_steps": steps,
            });
            if let Some(description) = description {
                request["description"] = json!(description);
            }
            let body = api.call(Method::POST, "/progress", Some(&request)).await?;
            // Scripts keep the id for the updates that follow.
            Ok(answer(json, &body, |task| text(task, "task_id")))
        }
        ProgressCommand::Update { id, step, message } => {
            let mut request = json!({ "current_step": step });
            if let Some(message) = message {
                request["message"] = json!(message);
            }
            let path = format!("/progress/{}", segment(&id));
            let body = api.call(Method::PUT, &path, Some(&request)).await?;
            Ok(answer(json, &body, |task| {
                table(&TASK_HEADER, vec![task_row(task)])
            }))
        }
        ProgressCommand::Complete {
            id,
            failed,
            message,
        } => {
            let mut request = json!({ "status": if failed { "failed" } else { "completed" } });
            if let Some(message) = message {
                request["message"] = json!(message);
            }
            let path = format!("/progress/{}/complete", segment(&id));
            let body = api.call(Method::PUT, &path, Some(&request)).await?;
            Ok(answer(json, &body, |task| {
                table(&TASK_HEADER, vec![task_row(task)])
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
            let body = api.acknowledge(&id, note, expires).await?;
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
                                        format!("broken: {}", crate::core::text::clean(reason))
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
