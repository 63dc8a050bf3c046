//! Helpers shared by the integration tests: a real server on 127.0.0.1:0
//! and a small JSON client.
#![allow(dead_code)]

pub mod mongo;

use laneswap::config::Settings;
use laneswap::server::Server;
use laneswap::storage::StoreUri;
use serde_json::Value;

/// Starts a real server on an ephemeral loopback port.
pub async fn start(store: StoreUri) -> Server {
    let mut settings = Settings::with_store(store);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    Server::start(&settings).await.expect("server starts")
}

/// Starts a real server with a memory store.
pub async fn start_memory() -> Server {
    start(StoreUri::Memory).await
}

/// A response: status, content type and JSON body (Null if not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    pub fn new(base: impl Into<String>) -> Self {
        Http {
            base: base.into(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            headers,
            body,
            text,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    /// A POST with a raw body and content type (None: no header).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: &str) -> Reply {
        let mut request = self.client.post(self.url(path)).body(body.to_string());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        self.send(request).await
    }

    /// Registers a service and returns its id.
    pub async fn register(&self, name: &str) -> String {
        let reply = self
            .post(
                "/api/services",
                &serde_json::json!({"service_name": name, "metadata": {}}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["service_id"].as_str().unwrap().to_string()
    }
}

/// Advances paused tokio time in 10 ms steps, letting spawned tasks (the
/// stale monitor) run after each step.
pub async fn advance(duration: std::time::Duration) {
    let step = std::time::Duration::from_millis(10);
    let mut left = duration;
    while left > std::time::Duration::ZERO {
        let now = left.min(step);
        tokio::time::advance(now).await;
        left -= now;
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
    }
}
