//! Settings with one precedence: command-line flags > environment
//! (`LANESWAP_*`, the original names) > `.env` in the working directory >
//! config file (`$XDG_CONFIG_HOME/laneswap/config.toml` or `--config`) >
//! defaults. Every value is checked at start; a bad one is refused with the
//! key, the value and where it came from.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::storage::{default_store_uri, Durability, Retention, StoreUri};

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
        "Storage: sqlite:PATH (default: the user data directory) or memory:.";
    MONGODB_URI: "mongodb_uri", ["LANESWAP_MONGODB_URI"], None, "",
        "Original MongoDB variable; an empty value means unset.";
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
    webhooks: Vec<WebhookDef>,
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
    layers: Vec<(Source, Layer)>,
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
    fn lookup(&self, key: &Key) -> Option<(usize, Source, &str, &str)> {
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

    fn parse<T>(
        &self,
        key: &Key,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.lookup(key) {
            Some((_, source, name, value)) => {
                parse(value.trim()).map_err(|reason| ConfigError::Invalid {
                    name: name.to_string(),
                    origin: source,
                    value: value.to_string(),
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

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(secs),
        _ => Err("expected a number of seconds greater than 0".into()),
    }
}

fn parse_alert_statuses(
    text: &str,
) -> Result<std::collections::BTreeSet<crate::core::Status>, String> {
    let mut statuses = std::collections::BTreeSet::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let status: crate::core::Status = part.parse().map_err(|_| {
            format!("{part:?} is not a status (healthy warning degraded error busy stale unknown)")
        })?;
        if status == crate::core::Status::Healthy {
            return Err("healthy cannot open an alert".into());
        }
        statuses.insert(status);
    }
    Ok(statuses)
}

/// Builds (and checks) the channels of the config file's `[[webhooks]]`.
fn file_webhooks(layers: &Layers) -> Result<Vec<crate::core::Channel>, ConfigError> {
    use crate::core::channels::{guess_kind, normalise_url};
    use crate::core::{Channel, ChannelKind, ChannelSource};
    let definitions = layers
        .layers
        .iter()
        .find(|(source, _)| *source == Source::File)
        .map(|(_, layer)| layer.webhooks.clone())
        .unwrap_or_default();
    let now = chrono::Utc::now();
    let mut channels = Vec::new();
    for (index, definition) in definitions.into_iter().enumerate() {
        let invalid = |field: &str, value: String, reason: String| ConfigError::Invalid {
            name: format!("webhooks[{index}].{field}"),
            origin: Source::File,
            value,
            reason,
        };
        let kind = match &definition.kind {
            None => guess_kind(&definition.url),
            Some(text) => text
                .parse::<ChannelKind>()
                .map_err(|reason| invalid("kind", text.clone(), reason))?,
        };
        let url = normalise_url(kind, &definition.url).map_err(|reason| {
            invalid(
                "url",
                crate::core::channels::redact_url(&definition.url),
                reason.to_string(),
            )
        })?;
        let mut levels = std::collections::BTreeSet::new();
        for name in definition.levels.unwrap_or_default() {
            levels.insert(
                name.parse()
                    .map_err(|reason| invalid("levels", name.clone(), reason))?,
            );
        }
        channels.push(Channel {
            id: format!("config-{}", index + 1),
            name: definition
                .name
                .unwrap_or_else(|| crate::core::channels::redact_url(&url)),
            kind,
            url,
            levels,
            services: definition
                .services
                .unwrap_or_default()
                .into_iter()
                .collect(),
            enabled: definition.enabled.unwrap_or(true),
            source: ChannelSource::File,
            broken: None,
            created_at: now,
            updated_at: now,
        });
    }
    Ok(channels)
}

fn count(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| "expected a whole number ≥ 0".to_string())
}

/// The resolved settings of a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub store: StoreUri,
    pub stale_threshold_secs: f64,
    pub check_interval_secs: u64,
    pub cors_origins: String,
    pub max_body_bytes: usize,
    pub heartbeat_reply_events: usize,
    pub alert_statuses: std::collections::BTreeSet<crate::core::Status>,
    /// The default Discord channel's URL, normalised (`LANESWAP_DISCORD_WEBHOOK`).
    pub discord_webhook: Option<String>,
    /// Channels from `[[webhooks]]` in the config file.
    pub file_webhooks: Vec<crate::core::Channel>,
    /// How notifications are sent (timeouts, retries, Discord style).
    pub delivery: crate::notify::delivery::DeliveryOptions,
    pub operator: String,
    pub retention: Retention,
    pub durability: Durability,
    pub task_stall_after_secs: f64,
    pub log_level: String,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl Settings {
    /// Defaults, with the given store (for tests and embedding).
    pub fn with_store(store: StoreUri) -> Self {
        let mut settings = Settings::resolve(&Layers::default())
            .unwrap_or_else(|_| unreachable!("defaults are valid"));
        settings.store = store;
        settings
    }

    /// Resolves every key across the layers.
    pub fn resolve(layers: &Layers) -> Result<Settings, ConfigError> {
        // host and port: a layer's `listen` sets both for that layer.
        let listen = layers.lookup(&LISTEN);
        let host_rank = layers.lookup(&HOST).map(|(rank, ..)| rank);
        let port_rank = layers.lookup(&PORT).map(|(rank, ..)| rank);
        let parsed_listen = match listen {
            Some(_) => Some(layers.parse(&LISTEN, |text| {
                text.parse::<SocketAddr>().map_err(|_| {
                    "expected host:port, e.g. 127.0.0.1:8000 or [::1]:8000".to_string()
                })
            })?),
            None => None,
        };
        let listen_rank = listen.map(|(rank, ..)| rank);
        let host = match (parsed_listen, listen_rank) {
            (Some(addr), Some(rank)) if host_rank.is_none_or(|h| rank <= h) => addr.ip(),
            _ => layers.parse(&HOST, |text| {
                let text = if text == "localhost" {
                    "127.0.0.1"
                } else {
                    text
                };
                text.parse::<IpAddr>()
                    .map_err(|_| "expected an IP address, e.g. 127.0.0.1 or 0.0.0.0".to_string())
            })?,
        };
        let port = match (parsed_listen, listen_rank) {
            (Some(addr), Some(rank)) if port_rank.is_none_or(|p| rank <= p) => addr.port(),
            _ => layers.parse(&PORT, |text| {
                text.parse::<u16>()
                    .map_err(|_| "expected a port number 0–65535".to_string())
            })?,
        };
        let mongodb = layers.parse(&MONGODB_URI, |text| Ok(text.to_string()))?;
        if !mongodb.is_empty() {
            return Err(ConfigError::Invalid {
                name: "LANESWAP_MONGODB_URI".into(),
                origin: layers.lookup(&MONGODB_URI).map(|(_, s, ..)| s).unwrap_or(Source::Environment),
                value: redact_uri(&mongodb),
                reason: "the MongoDB backend is not available in this build yet; unset it to use the embedded store".into(),
            });
        }
        let store = layers.parse(&STORE, |text| {
            if text.is_empty() {
                Ok(default_store_uri())
            } else {
                text.parse::<StoreUri>()
            }
        })?;
        let log_level = layers.parse(&LOG_LEVEL, |text| {
            let level = text.to_ascii_lowercase();
            match level.as_str() {
                "error" | "warn" | "warning" | "info" | "debug" | "trace" => {
                    Ok(if level == "warning" {
                        "warn".into()
                    } else {
                        level
                    })
                }
                _ => Err("expected error, warn, info, debug or trace".into()),
            }
        })?;
        Ok(Settings {
            listen: SocketAddr::new(host, port),
            store,
            stale_threshold_secs: layers.parse(&STALE_THRESHOLD, positive_seconds)?,
            check_interval_secs: layers.parse(&CHECK_INTERVAL, |text| {
                match text.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err("expected a whole number of seconds greater than 0".into()),
                }
            })?,
            cors_origins: layers.parse(&CORS_ORIGINS, |text| Ok(text.to_string()))?,
            max_body_bytes: layers.parse(&MAX_BODY_BYTES, |text| match text.parse::<usize>() {
                Ok(n) if n >= 1024 => Ok(n),
                _ => Err("expected a number of bytes ≥ 1024".into()),
            })?,
            heartbeat_reply_events: layers.parse(&HEARTBEAT_REPLY_EVENTS, |text| {
                match text.parse::<usize>() {
                    Ok(n) if n <= crate::core::model::EVENTS_IN_RECORD => Ok(n),
                    _ => Err("expected a whole number from 0 to 100".into()),
                }
            })?,
            alert_statuses: layers.parse(&ALERT_STATUSES, parse_alert_statuses)?,
            file_webhooks: file_webhooks(layers)?,
            delivery: crate::notify::delivery::DeliveryOptions {
                discord: crate::notify::discord::Style {
                    username: layers.parse(&DISCORD_USERNAME, |text| {
                        if text.is_empty() || text.chars().count() > 80 {
                            Err("expected a name of 1 to 80 characters".into())
                        } else {
                            Ok(text.to_string())
                        }
                    })?,
                    avatar_url: layers.parse(&DISCORD_AVATAR_URL, |text| {
                        if text.is_empty() {
                            Ok(None)
                        } else if text.starts_with("https://") || text.starts_with("http://") {
                            Ok(Some(text.to_string()))
                        } else {
                            Err("expected an http(s) URL".into())
                        }
                    })?,
                },
                ..Default::default()
            },
            discord_webhook: layers.parse(&DISCORD_WEBHOOK, |text| {
                if text.is_empty() {
                    return Ok(None);
                }
                crate::core::channels::normalise_url(crate::core::ChannelKind::Discord, text)
                    .map(Some)
                    .map_err(|e| e.to_string())
            })?,
            operator: layers.parse(&OPERATOR, |text| {
                let name = if text.is_empty() {
                    std::env::var("USER").unwrap_or_else(|_| "operator".to_string())
                } else {
                    text.to_string()
                };
                if name.chars().count() > 128 || name.chars().any(char::is_control) {
                    Err("expected a name of at most 128 printable characters".into())
                } else {
                    Ok(name)
                }
            })?,
            retention: Retention {
                max_events_per_service: layers.parse(&HISTORY_MAX_EVENTS, count)?,
                max_age_days: layers.parse(&HISTORY_MAX_DAYS, count)?,
            },
            durability: layers.parse(&DURABILITY, |text| match text {
                "process" => Ok(Durability::Process),
                "power" => Ok(Durability::Power),
                _ => Err("expected process or power".into()),
            })?,
            task_stall_after_secs: layers.parse(&TASK_STALL_AFTER, positive_seconds)?,
            log_level,
            config_file: None,
        })
    }
}

/// Replaces the password of a URI with `****`, for logs and errors.
pub fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:****@{host}{tail}")
        }
        None => uri.to_string(),
    }
}

/// The default config file: `$XDG_CONFIG_HOME/laneswap/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("laneswap").join("config.toml"))
}

/// Reads the process environment, `.env` in the working directory and the
/// config file, and resolves them under `flags`.
pub fn load(flags: Layer, config_path: Option<&Path>) -> Result<Settings, ConfigError> {
    let environment: HashMap<String, String> = std::env::vars()
        .filter(|(name, _)| name.starts_with("LANESWAP_"))
        .collect();
    let dotenv_path = Path::new(".env");
    let dotenv = if dotenv_path.exists() {
        let mut values = HashMap::new();
        let entries = dotenvy::from_path_iter(dotenv_path).map_err(|e| ConfigError::DotEnv {
            path: ".env".into(),
            reason: e.to_string(),
        })?;
        for entry in entries {
            let (name, value) = entry.map_err(|e| ConfigError::DotEnv {
                path: ".env".into(),
                reason: e.to_string(),
            })?;
            values.insert(name, value);
        }
        values
    } else {
        HashMap::new()
    };
    let explicit = config_path
        .map(Path::to_path_buf)
        .or_else(|| environment.get("LANESWAP_CONFIG").map(PathBuf::from));
    let (file_layer, file_path) = match explicit {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            (Layer::from_toml(&text, &path)?, Some(path))
        }
        None => match default_config_path().filter(|p| p.exists()) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                (Layer::from_toml(&text, &path)?, Some(path))
            }
            None => (Layer::default(), None),
        },
    };
    let layers = Layers::new(
        flags,
        Layer::from_variables(&environment),
        Layer::from_variables(&dotenv),
        file_layer,
    );
    let mut settings = Settings::resolve(&layers)?;
    settings.config_file = file_path;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Layer {
        Layer::from_variables(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::resolve(&Layers::default()).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(settings.stale_threshold_secs, 60.0);
    }

    #[test]
    fn precedence_is_flag_env_dotenv_file() {
        let file = Layer::from_toml(
            "stale_threshold = 10\n[history]\nmax_age_days = 3\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let dotenv = vars(&[
            ("LANESWAP_STALE_THRESHOLD", "20"),
            ("LANESWAP_HISTORY_MAX_DAYS", "4"),
        ]);
        let env = vars(&[("LANESWAP_STALE_THRESHOLD", "30")]);
        let flags = Layer::from_flags(&[(STALE_THRESHOLD, Some("40".into()))]);
        let all = Settings::resolve(&Layers::new(
            flags,
            env.clone(),
            dotenv.clone(),
            file.clone(),
        ))
        .unwrap();
        assert_eq!(all.stale_threshold_secs, 40.0);
        assert_eq!(all.retention.max_age_days, 4);
        let no_flag = Settings::resolve(&Layers::new(
            Layer::default(),
            env,
            dotenv.clone(),
            file.clone(),
        ))
        .unwrap();
        assert_eq!(no_flag.stale_threshold_secs, 30.0);
        let no_env = Settings::resolve(&Layers::new(
            Layer::default(),
            Layer::default(),
            dotenv,
            file.clone(),
        ))
        .unwrap();
        assert_eq!(no_env.stale_threshold_secs, 20.0);
        let file_only = Settings::resolve(&Layers::new(
            Layer::default(),
            Layer::default(),
            Layer::default(),
            file,
        ))
        .unwrap();
        assert_eq!(file_only.stale_threshold_secs, 10.0);
        assert_eq!(file_only.retention.max_age_days, 3);
    }

    #[test]
    fn host_and_port_combine_with_listen_by_precedence() {
        let file = Layer::from_toml("listen = \"0.0.0.0:9000\"", Path::new("c.toml")).unwrap();
        let env = vars(&[("LANESWAP_PORT", "9100")]);
        let settings =
            Settings::resolve(&Layers::new(Layer::default(), env, Layer::default(), file)).unwrap();
        assert_eq!(settings.listen, "0.0.0.0:9100".parse().unwrap());
        let flags = Layer::from_flags(&[(LISTEN, Some("127.0.0.1:7000".into()))]);
        let env = vars(&[("LANESWAP_PORT", "9100")]);
        let settings =
            Settings::resolve(&Layers::new(flags, env, Layer::default(), Layer::default()))
                .unwrap();
        assert_eq!(settings.listen, "127.0.0.1:7000".parse().unwrap());
    }

    #[test]
    fn bad_values_name_the_key_and_value() {
        let env = vars(&[("LANESWAP_STALE_THRESHOLD", "soon")]);
        let error = Settings::resolve(&Layers::new(
            Layer::default(),
            env,
            Layer::default(),
            Layer::default(),
        ))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for LANESWAP_STALE_THRESHOLD (from environment): \"soon\": expected a number of seconds greater than 0"
        );
        let error = Layer::from_toml("stale_treshold = 5", Path::new("c.toml")).unwrap_err();
        assert!(
            error.to_string().contains("unknown key \"stale_treshold\""),
            "{error}"
        );
    }

    #[test]
    fn config_file_webhooks_become_read_only_channels() {
        let text = r#"
            [[webhooks]]
            name = "ops"
            url = "https://discord.com/api/webhooks/1/secret"
            levels = ["warning", "error"]

            [[webhooks]]
            url = "http://127.0.0.1:9000/in"
            services = ["db"]
        "#;
        let file = Layer::from_toml(text, Path::new("c.toml")).unwrap();
        let settings = Settings::resolve(&Layers::new(
            Layer::default(),
            Layer::default(),
            Layer::default(),
            file,
        ))
        .unwrap();
        assert_eq!(settings.file_webhooks.len(), 2);
        let ops = &settings.file_webhooks[0];
        assert_eq!(ops.id, "config-1");
        assert_eq!(ops.kind, crate::core::ChannelKind::Discord);
        assert_eq!(ops.url, "https://discord.com/api/v10/webhooks/1/secret");
        assert_eq!(ops.levels.len(), 2);
        assert_eq!(
            settings.file_webhooks[1].kind,
            crate::core::ChannelKind::Webhook
        );

        let bad =
            Layer::from_toml("[[webhooks]]\nurl = \"ftp://x\"\n", Path::new("c.toml")).unwrap();
        let error = Settings::resolve(&Layers::new(
            Layer::default(),
            Layer::default(),
            Layer::default(),
            bad,
        ))
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid value for webhooks[0].url (from config file)"),
            "{error}"
        );
        let unknown = Layer::from_toml(
            "[[webhooks]]\nurl = \"http://h/x\"\nlevel = []\n",
            Path::new("c.toml"),
        );
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `level`"));
    }

    #[test]
    fn uri_passwords_are_redacted() {
        assert_eq!(
            redact_uri("mongodb://bob:secret@db:27017/x"),
            "mongodb://bob:****@db:27017/x"
        );
        assert_eq!(redact_uri("mongodb://db:27017"), "mongodb://db:27017");
    }
}
