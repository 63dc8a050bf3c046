//! The Rust client for laneswap: register a service, send heartbeats
//! (by hand or automatically in the background), report progress of long
//! tasks, and read what the server knows.
//!
//! It speaks the original LaneSwap wire protocol, so it works against the
//! original Python server as well (except for progress, which that server
//! never had). It does what the Python client's documentation promised:
//! the auto-heartbeat really sends, carries the current metadata, survives
//! a server that is down for a while, and stops on [`Client::close`] or when
//! the last handle is dropped.
//!
//! ```no_run
//! use std::time::Duration;
//! use laneswap::client::{Client, Status};
//!
//! # async fn run() -> Result<(), laneswap::client::ClientError> {
//! let client = Client::builder("http://127.0.0.1:8000")
//!     .service_name("image-resizer")
//!     .metadata("version", "1.4.2")
//!     .auto_heartbeat(Duration::from_secs(15))
//!     .build()?;
//! let id = client.connect().await?; // registers, starts the auto-heartbeat
//! client.send_heartbeat(Status::Warning, Some("queue is long"), None).await?;
//!
//! let mut progress = client.start_progress("resize-batch", 1_000, None).await?;
//! for _ in 0..1_000 {
//!     // ... one unit of work ...
//!     progress.advance(1).await?; // reported at most once a second
//! }
//! progress.complete(Some("all done")).await?;
//! client.close().await;
//! # let _ = id;
//! # Ok(())
//! # }
//! ```
//!
//! [`blocking::Client`] offers the same without async.

pub mod blocking;
mod error;
mod heartbeat;
pub mod http;
mod progress;
pub mod types;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};

pub use self::error::ClientError;
use self::http::segment;
pub use self::http::Api;
pub use self::progress::Progress;
pub use self::types::{Event, Service, ServiceList, Summary, Task, TaskList};
pub use crate::core::Status;

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    service_name: Option<String>,
    service_id: Option<String>,
    metadata: Map<String, Value>,
    stale_threshold: Option<Duration>,
    auto_heartbeat: Option<Duration>,
    token: Option<String>,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl ClientBuilder {
    /// The service's name (registration needs it when no id is given).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// An existing service's id: `connect()` then registers nothing.
    pub fn service_id(mut self, id: impl Into<String>) -> Self {
        self.service_id = Some(id.into());
        self
    }

    /// One metadata entry, sent at registration and with every
    /// auto-heartbeat.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Seconds of silence before this service is stale, instead of the
    /// server's default (a laneswap extension; the original ignores it).
    pub fn stale_threshold(mut self, threshold: Duration) -> Self {
        self.stale_threshold = Some(threshold);
        self
    }

    /// Send a heartbeat every `interval` in the background after
    /// `connect()` (the first one at once).
    pub fn auto_heartbeat(mut self, interval: Duration) -> Self {
        self.auto_heartbeat = Some(interval);
        self
    }

    /// A bearer token sent with every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Time limit of one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often a request that failed for a transient reason (network,
    /// 429, 5xx) is tried again, and the first wait (doubling each time).
    /// Default: 2 retries, 200 ms.
    pub fn retries(mut self, retries: u32, first_wait: Duration) -> Self {
        self.retries = retries;
        self.backoff = first_wait;
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        if self.service_name.is_none() && self.service_id.is_none() {
            return Err(ClientError::Config(
                "give a service_name or a service_id".into(),
            ));
        }
        if self.auto_heartbeat.is_some_and(|every| every.is_zero()) {
            return Err(ClientError::Config(
                "the auto-heartbeat interval must be above zero".into(),
            ));
        }
        let api = Api::new(
            &self.url,
            self.token,
            self.timeout,
            self.retries,
            self.backoff,
        )?;
        Ok(Client {
            inner: Arc::new(Inner {
                api,
                state: Arc::new(Mutex::new(State {
                    service_id: self.service_id,
                    service_name: self.service_name,
                    metadata: self.metadata,
                    stale_threshold: self.stale_threshold,
                    status: Status::Healthy,
                    message: None,
                })),
                auto_heartbeat: self.auto_heartbeat,
                beat: Mutex::new(None),
            }),
        })
    }
}

/// What the client knows of its service; shared with the auto-heartbeat.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub service_id: Option<String>,
    pub service_name: Option<String>,
    pub metadata: Map<String, Value>,
    pub stale_threshold: Option<Duration>,
    /// The last status and message sent: the auto-heartbeat repeats them.
    pub status: Status,
    pub message: Option<String>,
}

impl State {
    pub fn registration(&self, id: &str) -> Option<Value> {
        let mut body = json!({
            "service_id": id,
            "service_name": self.service_name.as_deref()?,
            "metadata": self.metadata,
        });
        if let Some(threshold) = self.stale_threshold {
            body["stale_threshold"] = json!(threshold.as_secs_f64());
        }
        Some(body)
    }
}

/// An async laneswap client. Cheap to clone; the auto-heartbeat stops when
/// [`close`](Client::close) is called or the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    api: Api,
    state: Arc<Mutex<State>>,
    auto_heartbeat: Option<Duration>,
    beat: Mutex<Option<heartbeat::Running>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.beat).take() {
            running.stop();
        }
    }
}

/// Locks a mutex, recovering from a poisoned one (the state stays usable).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Client {
    /// Starts building a client for the server at `url` (`http://host:8000`,
    /// with or without `/api`).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            service_name: None,
            service_id: None,
            metadata: Map::new(),
            stale_threshold: None,
            auto_heartbeat: None,
            token: None,
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(200),
        }
    }

    /// The HTTP layer, for requests this client has no method for.
    pub fn api(&self) -> &Api {
        &self.inner.api
    }

    /// The service's id, once known.
    pub fn service_id(&self) -> Option<String> {
        lock(&self.inner.state).service_id.clone()
    }

    fn id(&self) -> Result<String, ClientError> {
        self.service_id().ok_or(ClientError::NotConnected)
    }

    /// Registers the service unless an id was given, starts the
    /// auto-heartbeat if it was asked for, and returns the id. Calling it
    /// again returns the id without a request.
    ///
    /// The id of a new service is made here (a UUID) and sent with the
    /// registration, so a registration retried after a lost answer
    /// overwrites itself instead of creating a second service.
    pub async fn connect(&self) -> Result<String, ClientError> {
        let id = match self.service_id() {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let body = lock(&self.inner.state).registration(&id).ok_or_else(|| {
                    ClientError::Config("registration needs a service_name".into())
                })?;
                let registered = self.register_body(&body).await?;
                lock(&self.inner.state).service_id = Some(registered.clone());
                registered
            }
        };
        if let Some(every) = self.inner.auto_heartbeat {
            let mut beat = lock(&self.inner.beat);
            if beat.is_none() {
                *beat = Some(heartbeat::spawn(
                    self.inner.api.clone(),
                    Arc::clone(&self.inner.state),
                    every,
                ));
            }
        }
        Ok(id)
    }

    async fn register_body(&self, body: &Value) -> Result<String, ClientError> {
        let answer = self
            .inner
            .api
            .call(Method::POST, "/services", Some(body))
            .await?;
        answer
            .get("service_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ClientError::InvalidResponse {
                url: self.inner.api.root().to_string(),
                reason: "the registration answer has no service_id".into(),
            })
    }

    /// Registers (or overwrites) a service by name, with an id of your
    /// choice or one the server makes. It does not change this client's
    /// own service.
    pub async fn register_service(
        &self,
        name: &str,
        id: Option<&str>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<String, ClientError> {
        let mut body = json!({ "service_name": name, "metadata": metadata.unwrap_or_default() });
        if let Some(id) = id {
            body["service_id"] = json!(id);
        }
        self.register_body(&body).await
    }

    /// Sends a heartbeat; the metadata given is merged into the service's
    /// (and into what the auto-heartbeat sends from now on). Returns the
    /// service as the server has it now.
    pub async fn send_heartbeat(
        &self,
        status: Status,
        message: Option<&str>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<Service, ClientError> {
        let id = self.id()?;
        let body = {
            let mut state = lock(&self.inner.state);
            if let Some(extra) = &metadata {
                for (key, value) in extra {
                    state.metadata.insert(key.clone(), value.clone());
                }
            }
            state.status = status;
            state.message = message.map(str::to_string);
            heartbeat::body(status, message, &metadata.unwrap_or_default())
        };
        let answer = self
            .inner
            .api
            .call(
                Method::POST,
                &format!("/services/{}/heartbeat", segment(&id)),
                Some(&body),
            )
            .await?;
        self.read(answer)
    }

    /// Replaces the metadata the auto-heartbeat sends (the server merges
    /// it into the service's at the next heartbeat).
    pub fn set_metadata(&self, metadata: Map<String, Value>) {
        lock(&self.inner.state).metadata = metadata;
    }

    /// This client's service.
    pub async fn get_service(&self) -> Result<Service, ClientError> {
        let id = self.id()?;
        self.service(&id).await
    }

    /// Any service, by id.
    pub async fn service(&self, id: &str) -> Result<Service, ClientError> {
        let answer = self
            .inner
            .api
            .call(Method::GET, &format!("/services/{}", segment(id)), None)
            .await?;
        self.read(answer)
    }

    /// Every service, keyed by id, with the summary.
    pub async fn list_services(&self) -> Result<ServiceList, ClientError> {
        let answer = self.inner.api.call(Method::GET, "/services", None).await?;
        self.read(answer)
    }

    /// Starts a progress task for this service; the handle reports as the
    /// work advances.
    pub async fn start_progress(
        &self,
        task_name: &str,
        total_steps: u64,
        description: Option<&str>,
    ) -> Result<Progress, ClientError> {
        let id = self.id()?;
        let body = json!({
            "service_id": id,
            "task_name": task_name,
            "total_steps": total_steps,
            "description": description,
            "metadata": {},
        });
        let answer = self
            .inner
            .api
            .call(Method::POST, "/progress", Some(&body))
            .await?;
        let task: Task = self.read(answer)?;
        Ok(Progress::new(self.clone(), task))
    }

    /// Reports a task's step (and optionally its status and a message).
    pub async fn update_progress(
        &self,
        task_id: &str,
        current_step: u64,
        status: Option<&str>,
        message: Option<&str>,
    ) -> Result<Task, ClientError> {
        let body = json!({
            "service_id": self.service_id(),
            "task_id": task_id,
            "current_step": current_step,
            "status": status.unwrap_or("running"),
            "message": message,
            "metadata": {},
        });
        self.put_progress(&format!("/progress/{}", segment(task_id)), &body)
            .await
    }

    /// Finishes a task (`completed` unless another final status is given:
    /// `failed`, `canceled`, `timeout`).
    pub async fn complete_progress(
        &self,
        task_id: &str,
        status: Option<&str>,
        message: Option<&str>,
    ) -> Result<Task, ClientError> {
        let body = json!({
            "service_id": self.service_id(),
            "task_id": task_id,
            "status": status.unwrap_or("completed"),
            "message": message,
            "metadata": {},
        });
        self.put_progress(&format!("/progress/{}/complete", segment(task_id)), &body)
            .await
    }

    async fn put_progress(&self, path: &str, body: &Value) -> Result<Task, ClientError> {
        let answer = self.inner.api.call(Method::PUT, path, Some(body)).await?;
        self.read(answer)
    }

    /// Stops the auto-heartbeat (waiting for a heartbeat in flight). Sends
    /// nothing; safe to call twice; `connect()` starts it again.
    pub async fn close(&self) {
        let running = lock(&self.inner.beat).take();
        if let Some(running) = running {
            running.stop_and_wait().await;
        }
    }

    fn read<T: serde::de::DeserializeOwned>(&self, answer: Value) -> Result<T, ClientError> {
        serde_json::from_value(answer).map_err(|error| ClientError::InvalidResponse {
            url: self.inner.api.root().to_string(),
            reason: error.to_string(),
        })
    }
}
