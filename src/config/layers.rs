//! The sources of settings and their precedence: keys, layers (flags,
//! environment, `.env`, config file) and the lookup across them.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    DotEnv,
    File,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "command line",
            Source::Environment => "environment",
            Source::DotEnv => ".env",
            Source::File => "config file",
        })
    }
}

/// One setting: its key in the config file, its environment variables (the
/// first is the documented one) and its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub file: &'static str,
    pub env: &'static [&'static str],
    pub flag: Option<&'static str>,
    pub default: &'static str,
    pub help: &'static str,
}

macro_rules! keys {
    ($($name:ident: $file:literal, [$($env:literal),*], $flag:expr, $default:literal, $help:literal;)*) => {
        $(pub const $name: Key = Key { file: $file, env: &[$($env),*], flag: $flag, default: $default, help: $help };)*
        /// Every key, in documentation order.
        pub const ALL_KEYS: &[Key] = &[$($name),*];
    };
}

keys! {
    LISTEN: "listen", ["LANESWAP_LISTEN"], Some("--listen"), "127.0.0.1:8000",
        "Address the HTTP API binds to (host:port). Overrides host and port.";
    HOST: "host", ["LANESWAP_HOST"], None, "127.0.0.1",
        "Host part of the bind address.";
    PORT: "port", ["LANESWAP_PORT"], None, "8000",
        "Port part of the bind address.";
    STORE: "store", ["LANESWAP_STORE"], Some("--store"), "",
        "Storage: sqlite:PATH (default: the user data directory), mongodb://… or memory:.";
    MONGODB_URI: "mongodb_uri", ["LANESWAP_MONGODB_URI"], None, "",
        "MongoDB connection string (original variable); an empty value means unset. Selects the MongoDB backend unless a store is given.";
    MONGODB_NAME: "mongodb_name", ["LANESWAP_MONGODB_NAME"], None, "laneswap",
        "Database of the MongoDB backend.";
    MONGODB_SPOOL: "mongodb_spool", ["LANESWAP_MONGODB_SPOOL"], None, "",
        "File that holds writes while MongoDB is unreachable (default: mongodb-spool-<database>.jsonl in the data directory).";
    MONGODB_SPOOL_MAX_MB: "mongodb_spool_max_mb", ["LANESWAP_MONGODB_SPOOL_MAX_MB"], None, "512",
        "Bound of that file in MiB; past it, writes are refused until MongoDB is back.";
    STALE_THRESHOLD: "stale_threshold", ["LANESWAP_STALE_THRESHOLD"], Some("--stale-threshold"), "60",
        "Seconds without a heartbeat before a service is stale (per-service override at registration).";
    CHECK_INTERVAL: "check_interval", ["LANESWAP_CHECK_INTERVAL"], None, "30",
        "Accepted for compatibility; detection is deadline-driven and needs no interval.";
    CORS_ORIGINS: "cors_origins", ["LANESWAP_CORS_ORIGINS"], None, "*",
        "Comma-separated browser origins allowed by CORS; * for any.";
    MAX_BODY_BYTES: "max_body_bytes", ["LANESWAP_MAX_BODY_BYTES"], None, "1048576",
        "Largest accepted request body in bytes; larger ones get 413.";
    DISCORD_WEBHOOK: "discord_webhook", ["LANESWAP_DISCORD_WEBHOOK"], None, "",
        "A Discord webhook URL: the default notification channel (original variable).";
    DISCORD_USERNAME: "discord_username", ["LANESWAP_DISCORD_WEBHOOK_USERNAME"], None, "LaneSwap Monitor",
        "Name Discord messages are posted under (original variable).";
    DISCORD_AVATAR_URL: "discord_avatar_url", ["LANESWAP_DISCORD_WEBHOOK_AVATAR_URL"], None, "",
        "Avatar image URL for Discord messages (original variable).";
    ALERT_STATUSES: "alerts.statuses", ["LANESWAP_ALERT_STATUSES"], None, "stale,error",
        "Comma-separated statuses that open an alert (any of the seven but healthy).";
    API_TOKENS: "api_tokens", ["LANESWAP_API_TOKENS"], None, "",
        "Bearer tokens, comma-separated name:role:token (role read, ingest or admin; tokens of 16+ characters). Empty: the API is open, as the original's.";
    OPERATOR: "operator", ["LANESWAP_OPERATOR"], None, "",
        "Name recorded on acknowledgements made through this server (default: $USER).";
    HEARTBEAT_REPLY_EVENTS: "heartbeat_reply_events", ["LANESWAP_HEARTBEAT_REPLY_EVENTS"], None, "100",
        "Newest events in a heartbeat reply (0–100; 100 is the original's reply).";
    HISTORY_MAX_EVENTS: "history.max_events_per_service", ["LANESWAP_HISTORY_MAX_EVENTS"], None, "10000",
        "History events kept per service in the store (0: no limit).";
    HISTORY_MAX_DAYS: "history.max_age_days", ["LANESWAP_HISTORY_MAX_DAYS"], None, "30",
        "Days of history kept in the store (0: no limit).";
    DURABILITY: "durability", ["LANESWAP_DURABILITY"], None, "process",
        "process: commits survive kill -9; power: every commit is fsynced.";
    TASK_STALL_AFTER: "progress.stall_after", ["LANESWAP_TASK_STALL_AFTER"], None, "300",
        "Seconds a running task may sit on one step before it is flagged stalled.";
    LOG_LEVEL: "log_level", ["LANESWAP_LOG_LEVEL"], Some("--log-level"), "info",
        "error, warn, info, debug or trace (LANESWAP_LOG takes a full filter).";
}

/// A refused setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for {name} (from {origin}): {value:?}: {reason}")]
    Invalid {
        name: String,
        origin: Source,
        value: String,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("cannot read {path}: {reason}")]
    DotEnv { path: String, reason: String },
}

/// Values from one source, by file key.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    values: HashMap<&'static str, (String, String)>,
    /// `[[webhooks]]` tables (config file only).
    pub(super) webhooks: Vec<WebhookDef>,
}

/// One `[[webhooks]]` table of the config file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDef {
    pub url: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub levels: Option<Vec<String>>,
    pub services: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl Layer {
    fn insert(&mut self, key: &Key, shown_name: String, value: String) {
        self.values.insert(key.file, (shown_name, value));
    }

    /// A layer of values given on the command line, by key.
    pub fn from_flags(values: &[(Key, Option<String>)]) -> Self {
        let mut layer = Layer::default();
        for (key, value) in values {
            if let Some(value) = value {
                layer.insert(key, key.flag.unwrap_or(key.file).to_string(), value.clone());
            }
        }
        layer
    }

    /// A layer of `LANESWAP_*` variables (from the environment or `.env`).
    pub fn from_variables(variables: &HashMap<String, String>) -> Self {
        let mut layer = Layer::default();
        for key in ALL_KEYS {
            for name in key.env {
                if let Some(value) = variables.get(*name) {
                    layer.insert(key, name.to_string(), value.clone());
                    break;
                }
            }
        }
        layer
    }

    /// A layer from TOML text; unknown keys are refused with their name.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file_error = |reason: String| ConfigError::File {
            path: path.display().to_string(),
            reason,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        let webhooks: Vec<WebhookDef> = match table.remove("webhooks") {
            None => Vec::new(),
            Some(value) => value
                .try_into()
                .map_err(|e: toml::de::Error| file_error(format!("[[webhooks]]: {e}")))?,
        };
        let mut flat = Vec::new();
        flatten("", &toml::Value::Table(table), &mut flat);
        let mut layer = Layer::default();
        for (name, value) in flat {
            let key = ALL_KEYS
                .iter()
                .find(|k| k.file == name)
                .ok_or_else(|| file_error(format!("unknown key {name:?}")))?;
            layer.insert(key, name.clone(), value);
        }
        layer.webhooks = webhooks;
        Ok(layer)
    }
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(table) => {
            for (name, inner) in table {
                let full = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&full, inner, out);
            }
        }
        toml::Value::String(text) => out.push((prefix.to_string(), text.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The layers, highest precedence first.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub(super) layers: Vec<(Source, Layer)>,
}

impl Layers {
    pub fn new(flags: Layer, environment: Layer, dotenv: Layer, file: Layer) -> Self {
        Layers {
            layers: vec![
                (Source::Flag, flags),
                (Source::Environment, environment),
                (Source::DotEnv, dotenv),
                (Source::File, file),
            ],
        }
    }

    /// The winning value for `key`: (where, shown name, value).
    pub(super) fn lookup(&self, key: &Key) -> Option<(usize, Source, &str, &str)> {
        self.layers
            .iter()
            .enumerate()
            .find_map(|(rank, (source, layer))| {
                layer
                    .values
                    .get(key.file)
                    .map(|(name, value)| (rank, *source, name.as_str(), value.as_str()))
            })
    }

    /// Like [`Layers::parse`], for a value that is a secret: errors show
    /// `****` instead of it.
    pub(super) fn parse_secret<T>(
        &self,
        key: &Key,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parse(key, parse).map_err(|error| match error {
            ConfigError::Invalid {
                name,
                origin,
                reason,
                ..
            } => ConfigError::Invalid {
                name,
                origin,
                value: "****".into(),
                reason,
            },
            other => other,
        })
    }

    pub(super) fn parse<T>(
        &self,
        key: &Key,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.lookup(key) {
            Some((_, source, name, value)) => {
                parse(value.trim()).map_err(|reason| ConfigError::Invalid {
                    name: name.to_string(),
                    origin: source,
                    // A URI's password never reaches a message.
                    value: super::redact_uri(value),
                    reason,
                })
            }
            None => parse(key.default).map_err(|reason| ConfigError::Invalid {
                name: key.file.to_string(),
                origin: Source::File,
                value: key.default.to_string(),
                reason,
            }),
        }
    }
}
