//! The auto-heartbeat: a background task that sends the service's last
//! status and current metadata at once and then every interval. A failed
//! heartbeat is logged and the next tick tries again; a 404 (the server
//! lost the service, e.g. a memory store restarted) registers it again
//! under the same id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::http::{segment, Api};
use super::{lock, ClientError, State, Status};

/// A running auto-heartbeat.
#[derive(Debug)]
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Asks the task to stop (it ends before its next heartbeat).
    pub fn stop(self) {
        let _ = self.stop.send(true);
    }

    /// Stops the task and waits until it has ended.
    pub async fn stop_and_wait(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The body of a heartbeat, as the original clients send it.
pub(crate) fn body(status: Status, message: Option<&str>, metadata: &Map<String, Value>) -> Value {
    let mut body = json!({ "status": status });
    if let Some(message) = message {
        body["message"] = json!(message);
    }
    body["metadata"] = Value::Object(metadata.clone());
    body
}

pub(crate) fn spawn(api: Api, state: Arc<Mutex<State>>, every: Duration) -> Running {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            if *stopped.borrow() {
                return;
            }
            let snapshot = lock(&state).clone();
            let Some(id) = snapshot.service_id.clone() else {
                continue;
            };
            let heartbeat = body(
                snapshot.status,
                snapshot.message.as_deref(),
                &snapshot.metadata,
            );
            let path = format!("/services/{}/heartbeat", segment(&id));
            let result = tokio::select! {
                result = send(&api, &path, &heartbeat, &snapshot, &id) => result,
                _ = stopped.changed() => return,
            };
            match result {
                Ok(()) => {
                    if failing {
                        tracing::info!(service = %id, "auto-heartbeat: the server answers again");
                    }
                    failing = false;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(service = %id, %error, "auto-heartbeat failed; retrying every interval");
                    }
                    failing = true;
                }
            }
        }
    });
    Running { stop, task }
}

async fn send(
    api: &Api,
    path: &str,
    heartbeat: &Value,
    state: &State,
    id: &str,
) -> Result<(), ClientError> {
    match api.call(Method::POST, path, Some(heartbeat)).await {
        Ok(_) => Ok(()),
        Err(ClientError::NotFound { .. }) => {
            // The server forgot the service: register it again, same id.
            let registration = state.registration(id).ok_or_else(|| {
                ClientError::Config("cannot re-register without a service_name".into())
            })?;
            api.call(Method::POST, "/services", Some(&registration))
                .await?;
            tracing::info!(service = %id, "auto-heartbeat: registered the service again");
            api.call(Method::POST, path, Some(heartbeat))
                .await
                .map(|_| ())
        }
        Err(error) => Err(error),
    }
}
