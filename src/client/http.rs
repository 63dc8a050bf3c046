//! The HTTP layer under the client: base URL handling, the bearer token,
//! retries with back-off for transient failures, and the server's errors
//! turned into [`ClientError`]s.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::ClientError;

/// A laneswap server's API, as the client and the CLI talk to it.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// `http://host:8000/api`, no trailing slash.
    base: String,
    /// `http://host:8000`, for messages.
    root: String,
    token: Option<String>,
    retries: u32,
    backoff: Duration,
}

impl Api {
    /// `url` may end in `/api` or not, with or without a trailing slash
    /// (as the original clients accepted).
    pub fn new(
        url: &str,
        token: Option<String>,
        timeout: Duration,
        retries: u32,
        backoff: Duration,
    ) -> Result<Api, ClientError> {
        let trimmed = url.trim().trim_end_matches('/');
        let root = trimmed.strip_suffix("/api").unwrap_or(trimmed).to_string();
        let rest = root
            .strip_prefix("http://")
            .or_else(|| root.strip_prefix("https://"));
        if rest.is_none_or(str::is_empty) {
            return Err(ClientError::Config(format!(
                "the API URL must start with http:// or https://, e.g. http://127.0.0.1:8000 (got {url:?})"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("laneswap-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ClientError::Config(error.to_string()))?;
        Ok(Api {
            http,
            base: format!("{root}/api"),
            root,
            token,
            retries,
            backoff,
        })
    }

    /// The server's root URL (without `/api`).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Sends a request and reads the JSON answer (`Null` for an empty
    /// body). Network failures, 429 and 5xx are retried with exponential
    /// back-off; everything else is answered at once.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            let result = self.once(method.clone(), &url, body).await;
            match result {
                Err(error) if error.is_transient() && attempt < self.retries => {
                    let wait = self.backoff.saturating_mul(2u32.saturating_pow(attempt));
                    tracing::debug!(%error, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `POST /api/alerts/{id}/ack` with an optional note and expiry;
    /// returns the alert.
    pub async fn acknowledge(
        &self,
        alert_id: &str,
        note: Option<String>,
        expires_in: Option<std::time::Duration>,
    ) -> Result<Value, ClientError> {
        let mut body = serde_json::json!({});
        if let Some(note) = note {
            body["note"] = Value::from(note);
        }
        if let Some(expires_in) = expires_in {
            body["expires_in"] = Value::from(expires_in.as_secs_f64());
        }
        let path = format!("/alerts/{}/ack", segment(alert_id));
        self.call(Method::POST, &path, Some(&body)).await
    }

    async fn once(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| ClientError::Network {
            url: self.root.clone(),
            reason: describe(&error),
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::Network {
                url: self.root.clone(),
                reason: describe(&error),
            })?;
        let json: Option<Value> = if bytes.is_empty() {
            Some(Value::Null)
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        if status.is_success() {
            return json.ok_or_else(|| ClientError::InvalidResponse {
                url: url.to_string(),
                reason: "the body is not JSON".into(),
            });
        }
        let detail = json
            .as_ref()
            .and_then(detail_text)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        Err(match status {
            StatusCode::NOT_FOUND => ClientError::NotFound { detail },
            StatusCode::UNPROCESSABLE_ENTITY => ClientError::Invalid { detail },
            other => ClientError::Status {
                status: other.as_u16(),
                detail,
            },
        })
    }
}

/// The server's `detail` in one line: `{"detail": "text"}`, or FastAPI's
/// `{"detail": [{"loc": [...], "msg": ...}]}` as `field: message; …`.
pub fn detail_text(body: &Value) -> Option<String> {
    match body.get("detail")? {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|item| {
                    let field = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .and_then(|loc| loc.last())
                        .map(|last| last.as_str().map_or(last.to_string(), str::to_string))
                        .unwrap_or_default();
                    let message = item.get("msg").and_then(Value::as_str).unwrap_or("");
                    format!("{field}: {message}")
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => Some(other.to_string()),
    }
}

/// A reqwest error in a few words, ending with its innermost cause
/// ("connection refused"); never the URL's secrets.
pub fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(cause) = last {
        text.push_str(" (");
        text.push_str(&cause);
        text.push(')');
    }
    text
}

/// Percent-encodes an id for one path segment.
pub fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api(url: &str) -> Result<Api, ClientError> {
        Api::new(url, None, Duration::from_secs(1), 0, Duration::ZERO)
    }

    #[test]
    fn base_urls_with_or_without_api() {
        for url in [
            "http://h:8000",
            "http://h:8000/",
            "http://h:8000/api",
            "http://h:8000/api/",
        ] {
            let api = api(url).unwrap();
            assert_eq!(api.base, "http://h:8000/api", "{url}");
            assert_eq!(api.root(), "http://h:8000");
        }
        assert!(matches!(api("h:8000"), Err(ClientError::Config(_))));
        assert!(matches!(api("http://"), Err(ClientError::Config(_))));
    }

    #[test]
    fn details_read_as_one_line() {
        let body = json!({"detail": [{"loc": ["body", "url"], "msg": "Field required"}]});
        assert_eq!(detail_text(&body).unwrap(), "url: Field required");
        assert_eq!(
            detail_text(&json!({"detail": "Service not found: x"})).unwrap(),
            "Service not found: x"
        );
        assert_eq!(detail_text(&json!({"other": 1})), None);
    }

    #[test]
    fn ids_are_encoded_for_paths() {
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(segment("ok-1.2_~"), "ok-1.2_~");
    }
}
