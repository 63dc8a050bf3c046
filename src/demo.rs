//! `laneswap-term --demo`: a few simulated services inside the process, so
//! a newcomer sees the screens alive. They go through the core like real
//! clients' requests do (alerts, notifications and history included).
//!
//! | service           | behaviour                                              |
//! |-------------------|--------------------------------------------------------|
//! | `checkout-api`    | healthy every 2 s                                      |
//! | `payments`        | flaky: mostly healthy, sometimes warning or error      |
//! | `search-indexer`  | busy, degraded now and then                            |
//! | `legacy-cron`     | 15 s threshold, beats three times, then goes stale     |
//! | `nightly-reports` | a long progress task, one step a second                |

use std::time::Duration;

use serde_json::json;

use crate::core::{Core, Heartbeat, NewTask, Registration, Status, TaskUpdate};

/// Ids of the demo services: re-running the demo overwrites them.
const PREFIX: &str = "demo-";

/// Starts the simulation on the current runtime; it runs until the
/// runtime stops.
pub fn spawn(core: Core) {
    tokio::spawn(async move {
        if let Err(error) = run(core).await {
            tracing::warn!(%error, "the demo stopped");
        }
    });
}

async fn register(
    core: &Core,
    id: &str,
    name: &str,
    threshold: Option<f64>,
    metadata: serde_json::Value,
) -> Result<String, crate::core::CoreError> {
    core.register(Registration {
        service_id: Some(format!("{PREFIX}{id}")),
        service_name: name.to_string(),
        metadata: metadata.as_object().cloned().unwrap_or_default(),
        stale_threshold: threshold,
    })
    .await
}

async fn beat(core: &Core, id: &str, status: Status, message: &str) {
    let heartbeat = Heartbeat {
        status,
        message: Some(message.to_string()),
        metadata: None,
    };
    if let Err(error) = core.heartbeat(id, heartbeat).await {
        tracing::debug!(%error, id, "demo heartbeat refused");
    }
}

async fn run(core: Core) -> Result<(), crate::core::CoreError> {
    let checkout = register(
        &core,
        "checkout",
        "checkout-api",
        None,
        json!({"region": "eu-west-1", "version": "2.14.0", "demo": true}),
    )
    .await?;
    let payments = register(
        &core,
        "payments",
        "payments",
        None,
        json!({"region": "us-east-1", "provider": "acme-pay", "demo": true}),
    )
    .await?;
    let search = register(
        &core,
        "search",
        "search-indexer",
        None,
        json!({"shards": 12, "demo": true}),
    )
    .await?;
    let cron = register(
        &core,
        "cron",
        "legacy-cron",
        Some(15.0),
        json!({"host": "batch-01", "schedule": "*/5 * * * *", "demo": true}),
    )
    .await?;
    let reports = register(
        &core,
        "reports",
        "nightly-reports",
        None,
        json!({"queue": "reports", "demo": true}),
    )
    .await?;
    let task = core
        .start_task(NewTask {
            service_id: reports.clone(),
            task_name: "render-monthly-pdfs".into(),
            total_steps: 900,
            description: Some("A long job: one step a second".into()),
            metadata: Default::default(),
        })
        .await?;

    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut round: u64 = 0;
    loop {
        tick.tick().await;
        round += 1;
        beat(&core, &checkout, Status::Healthy, "ok").await;
        let (status, message) = match fastrand::u8(0..20) {
            0 => (Status::Error, "card processor timed out"),
            1..=2 => (Status::Warning, "latency above 800 ms"),
            _ => (Status::Healthy, "ok"),
        };
        beat(&core, &payments, status, message).await;
        let (status, message) = if round % 15 < 3 {
            (Status::Degraded, "one shard rebuilding")
        } else {
            (Status::Busy, "indexing")
        };
        beat(&core, &search, status, message).await;
        if round <= 3 {
            beat(&core, &cron, Status::Healthy, "batch finished").await;
        }
        let step = (round * 2).min(900);
        let finished = step >= 900;
        let update = TaskUpdate {
            current_step: Some(step),
            status: Some(if finished { "completed" } else { "running" }.into()),
            message: Some(format!("page {step} of 900")),
            metadata: None,
        };
        if let Err(error) = core.update_task(&task.task_id, update, finished).await {
            tracing::debug!(%error, "demo task update refused");
        }
        beat(&core, &reports, Status::Busy, "rendering PDFs").await;
    }
}
