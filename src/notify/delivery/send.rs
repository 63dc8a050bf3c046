//! One request to a receiver and what its answer means: posting a message
//! (single or digest), editing the Discord message that announced an alert,
//! and classifying the answer (delivered, rate limited, retry, broken,
//! refused).

use std::time::Duration;

use chrono::Utc;

use super::Context;
use crate::core::{Channel, ChannelKind, Delivery};
use crate::notify::{discord, webhook};

/// What one request came to.
pub(super) enum Outcome {
    /// Accepted; the receiver's message id, if it gave one.
    Delivered(u16, Option<String>),
    /// 429: wait this long; `true` when the limit is global (all lanes).
    RateLimited(u16, Duration, bool),
    Retry(Option<u16>, String),
    Broken(u16, String),
    Refused(u16, String),
}

/// An acknowledgement or resolution for a Discord channel edits the message
/// that announced the alert, when that message is known.
async fn edit_target(
    context: &Context,
    channel: &Channel,
    batch: &[Delivery],
) -> Option<(String, Delivery)> {
    use crate::core::notifications::NotificationKind;
    let [delivery] = batch else {
        return None;
    };
    let update = &delivery.notification;
    // A re-opened alert must reach people again: that one is a new message.
    let is_update = matches!(
        update.kind,
        NotificationKind::AlertAcknowledged | NotificationKind::AlertResolved
    );
    if channel.kind != ChannelKind::Discord || !is_update {
        return None;
    }
    let alert_id = update.alert_id.as_deref()?;
    let announcement = context
        .store
        .announcement(&channel.id, alert_id)
        .await
        .ok()??;
    let message_id = announcement.message_id.clone()?;
    Some((message_id, announcement))
}

pub(super) async fn send(context: &Context, channel: &Channel, batch: &[Delivery]) -> Outcome {
    if let Some((message_id, announcement)) = edit_target(context, channel, batch).await {
        let body = discord::edited(
            &announcement.notification,
            &batch[0].notification,
            &context.options.discord,
            Utc::now(),
        );
        let url = format!("{}/messages/{message_id}", channel.url);
        match context.client.patch(&url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {
                return Outcome::Delivered(response.status().as_u16(), Some(message_id));
            }
            // The message is gone (deleted in Discord): post a new one below.
            Ok(response) if response.status().as_u16() == 404 => {}
            Ok(response) => return classify(context, response).await,
            Err(error) => return network_error(error),
        }
    }
    post(context, channel, batch).await
}

fn network_error(error: reqwest::Error) -> Outcome {
    let kind = if error.is_timeout() {
        "timed out"
    } else {
        "network error"
    };
    // The innermost cause says what happened ("Connection refused"); the
    // URL is left out, it carries the channel's secret.
    let mut cause = None;
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        cause = Some(inner.to_string());
        source = inner.source();
    }
    let error = error.without_url();
    match cause {
        Some(cause) if !cause.is_empty() => {
            Outcome::Retry(None, format!("{kind}: {error} ({cause})"))
        }
        _ => Outcome::Retry(None, format!("{kind}: {error}")),
    }
}

async fn post(context: &Context, channel: &Channel, batch: &[Delivery]) -> Outcome {
    let notifications: Vec<_> = batch.iter().map(|d| d.notification.clone()).collect();
    let now = Utc::now();
    let (url, body) = match channel.kind {
        ChannelKind::Discord => {
            let body = match notifications.as_slice() {
                [one] => discord::message(one, &context.options.discord, now),
                many => discord::digest(many, &context.options.discord, now),
            };
            (format!("{}?wait=true", channel.url), body)
        }
        ChannelKind::Webhook => {
            let body = match notifications.as_slice() {
                [one] => webhook::body(one),
                many => webhook::digest(many),
            };
            (channel.url.clone(), body)
        }
    };
    match context.client.post(&url).json(&body).send().await {
        Ok(response) => classify(context, response).await,
        Err(error) => network_error(error),
    }
}

/// What a receiver's answer means for the delivery.
async fn classify(context: &Context, response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let retry_after_header = header("retry-after");
    let reset_after = header("x-ratelimit-reset-after");
    let remaining = header("x-ratelimit-remaining");
    let global_header = response
        .headers()
        .get("x-ratelimit-global")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let text = response.text().await.unwrap_or_default();
    match status {
        200..=299 => {
            // Discord says when the bucket is empty: wait before the next one.
            if remaining == Some(0.0) {
                if let Some(reset) = reset_after.filter(|s| s.is_finite() && *s > 0.0) {
                    tokio::time::sleep(Duration::from_secs_f64(
                        reset.min(context.options.max_retry_after.as_secs_f64()),
                    ))
                    .await;
                }
            }
            let message_id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_string)));
            Outcome::Delivered(status, message_id)
        }
        429 => {
            let parsed = serde_json::from_str::<serde_json::Value>(&text).ok();
            let from_body = parsed
                .as_ref()
                .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_f64));
            let global = parsed
                .as_ref()
                .and_then(|v| v.get("global").and_then(serde_json::Value::as_bool))
                .unwrap_or(false)
                || global_header;
            let seconds = from_body
                .or(retry_after_header)
                .or(reset_after)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(1.0);
            Outcome::RateLimited(status, Duration::from_secs_f64(seconds), global)
        }
        401 | 404 => Outcome::Broken(
            status,
            format!("the receiver answered {status}: {}", short(&text)),
        ),
        500..=599 => Outcome::Retry(
            Some(status),
            format!("the receiver answered {status}: {}", short(&text)),
        ),
        _ => Outcome::Refused(
            status,
            format!("the receiver refused it ({status}): {}", short(&text)),
        ),
    }
}

fn short(text: &str) -> String {
    discord::truncate(text.trim(), 200)
}
