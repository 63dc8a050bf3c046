//! The client without async: each call blocks until the server answered.
//! It runs the async [`Client`](super::Client) on a small runtime of its
//! own, where the auto-heartbeat lives too. Do not use it from inside an
//! async runtime (use the async client there).
//!
//! ```no_run
//! use std::time::Duration;
//! use laneswap::client::{blocking::Client, Status};
//!
//! let client = Client::builder("http://127.0.0.1:8000")
//!     .service_name("nightly-export")
//!     .auto_heartbeat(Duration::from_secs(30))
//!     .build()?;
//! client.connect()?;
//! client.send_heartbeat(Status::Busy, Some("exporting"), None)?;
//! client.close();
//! # Ok::<(), laneswap::client::ClientError>(())
//! ```

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ClientBuilder, ClientError, Service, ServiceList, Status, Task};

/// Builds a blocking [`Client`] (the same options as the async one).
#[derive(Debug, Clone)]
pub struct Builder(ClientBuilder);

impl Builder {
    pub fn service_name(self, name: impl Into<String>) -> Self {
        Builder(self.0.service_name(name))
    }

    pub fn service_id(self, id: impl Into<String>) -> Self {
        Builder(self.0.service_id(id))
    }

    pub fn metadata(self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        Builder(self.0.metadata(key, value))
    }

    pub fn stale_threshold(self, threshold: std::time::Duration) -> Self {
        Builder(self.0.stale_threshold(threshold))
    }

    pub fn auto_heartbeat(self, interval: std::time::Duration) -> Self {
        Builder(self.0.auto_heartbeat(interval))
    }

    pub fn token(self, token: impl Into<String>) -> Self {
        Builder(self.0.token(token))
    }

    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        Builder(self.0.timeout(timeout))
    }

    pub fn retries(self, retries: u32, first_wait: std::time::Duration) -> Self {
        Builder(self.0.retries(retries, first_wait))
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("laneswap-client")
            .enable_all()
            .build()
            .map_err(|error| ClientError::Config(format!("cannot start a runtime: {error}")))?;
        // reqwest's client must be made inside a runtime.
        let inner = runtime.block_on(async { self.0.build() })?;
        Ok(Client {
            inner,
            runtime: Arc::new(runtime),
        })
    }
}

/// A blocking laneswap client. The auto-heartbeat stops on
/// [`close`](Client::close) or when the client is dropped.
#[derive(Debug)]
pub struct Client {
    inner: super::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Client {
    pub fn builder(url: impl Into<String>) -> Builder {
        Builder(super::Client::builder(url))
    }

    pub fn service_id(&self) -> Option<String> {
        self.inner.service_id()
    }

    /// Registers unless an id was given, starts the auto-heartbeat.
    pub fn connect(&self) -> Result<String, ClientError> {
        self.runtime.block_on(self.inner.connect())
    }

    pub fn register_service(
        &self,
        name: &str,
        id: Option<&str>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<String, ClientError> {
        self.runtime
            .block_on(self.inner.register_service(name, id, metadata))
    }

    pub fn send_heartbeat(
        &self,
        status: Status,
        message: Option<&str>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<Service, ClientError> {
        self.runtime
            .block_on(self.inner.send_heartbeat(status, message, metadata))
    }

    pub fn set_metadata(&self, metadata: Map<String, Value>) {
        self.inner.set_metadata(metadata);
    }

    pub fn get_service(&self) -> Result<Service, ClientError> {
        self.runtime.block_on(self.inner.get_service())
    }

    pub fn service(&self, id: &str) -> Result<Service, ClientError> {
        self.runtime.block_on(self.inner.service(id))
    }

    pub fn list_services(&self) -> Result<ServiceList, ClientError> {
        self.runtime.block_on(self.inner.list_services())
    }

    /// Starts a progress task; the handle reports as the work advances.
    pub fn start_progress(
        &self,
        task_name: &str,
        total_steps: u64,
        description: Option<&str>,
    ) -> Result<Progress, ClientError> {
        let progress = self.runtime.block_on(self.inner.start_progress(
            task_name,
            total_steps,
            description,
        ))?;
        Ok(Progress {
            inner: progress,
            runtime: Arc::clone(&self.runtime),
        })
    }

    pub fn update_progress(
        &self,
        task_id: &str,
        current_step: u64,
        status: Option<&str>,
        message: Option<&str>,
    ) -> Result<Task, ClientError> {
        self.runtime.block_on(
            self.inner
                .update_progress(task_id, current_step, status, message),
        )
    }

    pub fn complete_progress(
        &self,
        task_id: &str,
        status: Option<&str>,
        message: Option<&str>,
    ) -> Result<Task, ClientError> {
        self.runtime
            .block_on(self.inner.complete_progress(task_id, status, message))
    }

    /// Stops the auto-heartbeat; sends nothing.
    pub fn close(&self) {
        self.runtime.block_on(self.inner.close());
    }
}

/// A blocking handle on a progress task (see [`super::Progress`]).
#[derive(Debug)]
pub struct Progress {
    inner: super::Progress,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Progress {
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    pub fn advance(&mut self, steps: u64) -> Result<(), ClientError> {
        self.runtime.block_on(self.inner.advance(steps))
    }

    pub fn set(&mut self, step: u64, message: Option<&str>) -> Result<(), ClientError> {
        self.runtime.block_on(self.inner.set(step, message))
    }

    pub fn complete(self, message: Option<&str>) -> Result<Task, ClientError> {
        self.runtime.block_on(self.inner.complete(message))
    }

    pub fn fail(self, message: Option<&str>) -> Result<Task, ClientError> {
        self.runtime.block_on(self.inner.fail(message))
    }
}
