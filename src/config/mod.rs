//! Settings with one precedence: command-line flags > environment
//! (`LANESWAP_*`, the original names) > `.env` in the working directory >
//! config file (`$XDG_CONFIG_HOME/laneswap/config.toml` or `--config`) >
//! defaults. Every value is checked at start; a bad one is refused with the
//! key, the value and where it came from.

mod layers;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

pub use layers::*;

use crate::storage::{default_store_uri, Durability, Retention, StoreUri};

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
    /// Bearer tokens (`LANESWAP_API_TOKENS`); empty: the API is open.
    pub api_tokens: crate::api::auth::TokenBook,
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
        let mongodb = layers.parse(&MONGODB_URI, |text| {
            if text.is_empty()
                || text.starts_with("mongodb://")
                || text.starts_with("mongodb+srv://")
            {
                Ok(text.to_string())
            } else {
                Err("expected mongodb://HOST… or mongodb+srv://HOST…".to_string())
            }
        })?;
        let database = layers.parse(&MONGODB_NAME, |text| {
            let bad =
                text.is_empty() || text.len() > 63 || text.chars().any(|c| "/\\. \"$".contains(c));
            if bad {
                Err(
                    "a MongoDB database name: 1–63 characters, none of / \\ . space \" $"
                        .to_string(),
                )
            } else {
                Ok(text.to_string())
            }
        })?;
        let store = layers.parse(&STORE, |text| {
            if text.is_empty() {
                Ok(default_store_uri())
            } else {
                text.parse::<StoreUri>()
            }
        })?;
        let store_given = layers
            .lookup(&STORE)
            .is_some_and(|(_, _, _, text)| !text.is_empty());
        // LANESWAP_MONGODB_URI picks MongoDB (as in the original) unless a
        // store was named explicitly.
        let spool = layers.parse(&MONGODB_SPOOL, |text| {
            Ok((!text.is_empty()).then(|| PathBuf::from(text)))
        })?;
        let spool_max_bytes =
            layers.parse(&MONGODB_SPOOL_MAX_MB, |text| match text.parse::<u64>() {
                Ok(mb) if (1..=1_048_576).contains(&mb) => Ok(mb * 1_048_576),
                _ => Err("expected megabytes, 1–1048576".to_string()),
            })?;
        let configure = |uri: String| {
            StoreUri::Mongo(crate::storage::mongo::MongoUri {
                uri,
                database: database.clone(),
                spool: spool.clone(),
                spool_max_bytes,
            })
        };
        let store = match store {
            StoreUri::Mongo(location) => configure(location.uri),
            _ if !store_given && !mongodb.is_empty() => configure(mongodb),
            other => other,
        };
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
            api_tokens: layers.parse_secret(&API_TOKENS, crate::api::auth::TokenBook::parse)?,
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
    // An explicit file must exist; the default one is optional.
    let file_path = explicit.or_else(|| default_config_path().filter(|p| p.exists()));
    let file_layer = match &file_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            Layer::from_toml(&text, path)?
        }
        None => Layer::default(),
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
