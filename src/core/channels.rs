//! Notification channels as configuration data: where notifications go and
//! which ones each channel wants. Delivery lives in `notify`; the core keeps
//! the list so that a transition and the deliveries it calls for can be
//! committed together.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::wire_time;
use super::notifications::{Level, Notification};

/// The kind of receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A Discord webhook: embeds, rate limits, message edits.
    Discord,
    /// Any HTTP endpoint taking the generic JSON body.
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Discord => "discord",
            ChannelKind::Webhook => "webhook",
        }
    }
}

impl std::str::FromStr for ChannelKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "discord" => Ok(ChannelKind::Discord),
            "webhook" => Ok(ChannelKind::Webhook),
            other => Err(format!("unknown channel kind {other:?} (discord, webhook)")),
        }
    }
}

/// Where a channel's definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelSource {
    /// Created through the API (or the TUI); stored.
    Api,
    /// `LANESWAP_DISCORD_WEBHOOK`: rebuilt at every start, not editable.
    Environment,
    /// `[[webhooks]]` in the config file: rebuilt at every start, not editable.
    File,
}

impl ChannelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelSource::Api => "api",
            ChannelSource::Environment => "environment",
            ChannelSource::File => "file",
        }
    }
}

/// One notification channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    /// The full URL. It carries a secret: shown only redacted.
    pub url: String,
    /// Levels it wants (empty: all).
    pub levels: BTreeSet<Level>,
    /// Services it wants, by id (empty: all).
    pub services: BTreeSet<String>,
    pub enabled: bool,
    pub source: ChannelSource,
    /// Why deliveries stopped (a 404 or 401 from the receiver), if they did.
    pub broken: Option<String>,
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "wire_time")]
    pub updated_at: DateTime<Utc>,
}

impl Channel {
    /// Whether this channel takes `notification`.
    pub fn wants(&self, notification: &Notification) -> bool {
        self.enabled
            && self.broken.is_none()
            && (self.levels.is_empty() || self.levels.contains(&notification.level))
            && (self.services.is_empty() || self.services.contains(&notification.service.id))
    }
}

/// The kind a URL suggests when none is given: Discord's webhook URLs make
/// Discord channels, anything else a generic webhook.
pub fn guess_kind(url: &str) -> ChannelKind {
    if url.contains("discord.com/api/") || url.contains("discordapp.com/api/") {
        ChannelKind::Discord
    } else {
        ChannelKind::Webhook
    }
}

/// Why a URL cannot be a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL must start with http:// or https://")]
    Scheme,
    #[error("the URL has no host")]
    Host,
    #[error("a Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>")]
    Discord,
    #[error("the URL is longer than 2048 characters or contains spaces or control characters")]
    Shape,
}

/// Checks a channel URL and returns it normalised: Discord URLs are moved
/// to the versioned API (`/api/v10/webhooks/…`), where `retry_after` is in
/// seconds (the unversioned v6 one has reported milliseconds).
pub fn normalise_url(kind: ChannelKind, url: &str) -> Result<String, UrlError> {
    let url = url.trim();
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Shape);
    }
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::Scheme)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(UrlError::Scheme);
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_name = host.rsplit('@').next().unwrap_or("");
    if host_name.is_empty() || host_name.starts_with(':') {
        return Err(UrlError::Host);
    }
    match kind {
        ChannelKind::Webhook => Ok(format!("{scheme}://{rest}")),
        ChannelKind::Discord => {
            let path = &rest[host.len()..];
            let path = path.split(['?', '#']).next().unwrap_or("");
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            // api/webhooks/<id>/<token> or api/v<N>/webhooks/<id>/<token>
            let tail = match segments.as_slice() {
                ["api", "webhooks", id, token] => Some((*id, *token)),
                ["api", version, "webhooks", id, token] if version.starts_with('v') => {
                    Some((*id, *token))
                }
                _ => None,
            };
            let (id, token) = tail.ok_or(UrlError::Discord)?;
            if !id.chars().all(|c| c.is_ascii_digit()) || token.is_empty() {
                return Err(UrlError::Discord);
            }
            Ok(format!("{scheme}://{host}/api/v10/webhooks/{id}/{token}"))
        }
    }
}

/// The URL with its secret parts hidden, for listings and logs: the
/// user-info, the query, and every path segment after the first two.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "****".to_string();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The last segment is where webhook tokens live (Discord, Slack and
    // most generic receivers): it is never shown, nor anything past the
    // second segment.
    let keep = segments.len().saturating_sub(1).min(2);
    let mut shown: Vec<&str> = segments[..keep].to_vec();
    if segments.len() > keep {
        shown.push("****");
    }
    let mut text = format!("{scheme}://{host}");
    for segment in shown {
        text.push('/');
        text.push_str(segment);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_urls_are_versioned() {
        assert_eq!(
            normalise_url(
                ChannelKind::Discord,
                "https://discord.com/api/webhooks/123/abc-DEF"
            ),
            Ok("https://discord.com/api/v10/webhooks/123/abc-DEF".into())
        );
        assert_eq!(
            normalise_url(
                ChannelKind::Discord,
                "https://discordapp.com/api/v6/webhooks/123/tok?wait=true"
            ),
            Ok("https://discordapp.com/api/v10/webhooks/123/tok".into())
        );
        assert_eq!(
            normalise_url(
                ChannelKind::Discord,
                "https://discord.com/api/webhooks/x/tok"
            ),
            Err(UrlError::Discord)
        );
        assert_eq!(
            normalise_url(ChannelKind::Discord, "https://example.com/hook"),
            Err(UrlError::Discord)
        );
    }

    #[test]
    fn webhook_urls_need_a_scheme_and_host() {
        assert!(normalise_url(ChannelKind::Webhook, "http://127.0.0.1:9000/hook").is_ok());
        assert_eq!(
            normalise_url(ChannelKind::Webhook, "ftp://x/y"),
            Err(UrlError::Scheme)
        );
        assert_eq!(
            normalise_url(ChannelKind::Webhook, "example.com/hook"),
            Err(UrlError::Scheme)
        );
        assert_eq!(
            normalise_url(ChannelKind::Webhook, "https:///hook"),
            Err(UrlError::Host)
        );
        assert_eq!(
            normalise_url(ChannelKind::Webhook, "https://a b/"),
            Err(UrlError::Shape)
        );
    }

    #[test]
    fn secrets_are_hidden() {
        assert_eq!(
            redact_url("https://discord.com/api/v10/webhooks/123/secret-token"),
            "https://discord.com/api/v10/****"
        );
        assert_eq!(
            redact_url("https://user:pw@hooks.example.com/in?key=s3"),
            "https://hooks.example.com/****"
        );
        assert_eq!(
            redact_url("https://hooks.example.com/laneswap/secret-token"),
            "https://hooks.example.com/laneswap/****"
        );
        assert_eq!(
            redact_url("https://hooks.example.com"),
            "https://hooks.example.com"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9000/a/b/c"),
            "http://127.0.0.1:9000/a/b/****"
        );
    }
}
