//! A service running a long task and reporting its progress: the
//! terminal UI's progress view (key `3`) shows its gauge, rate and ETA.
//!
//!     cargo run --example progress_service -- --steps 300 --step-ms 100
//!
//! It registers `progress-service`, keeps itself alive with the
//! auto-heartbeat, reports the task's steps as it works (at most once a
//! second, through the progress handle), and completes the task.

use std::time::Duration;

use clap::Parser;
use laneswap::client::{Client, ClientError, Status};

#[derive(Parser)]
struct Args {
    #[arg(
        long,
        env = "LANESWAP_API_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    api_url: String,
    /// Units of work in the task
    #[arg(long, default_value = "300")]
    steps: u64,
    /// Milliseconds one unit of work takes
    #[arg(long, default_value = "100")]
    step_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let args = Args::parse();
    let client = Client::builder(&args.api_url)
        .service_name("progress-service")
        .metadata("example", "progress_service")
        .auto_heartbeat(Duration::from_secs(10))
        .build()?;
    let id = client.connect().await?;
    println!("registered progress-service as {id}");
    client
        .send_heartbeat(Status::Busy, Some("converting the archive"), None)
        .await?;

    let mut progress = client
        .start_progress("convert-archive", args.steps, Some("Re-encode every file"))
        .await?;
    println!("started task {}", progress.id());
    for step in 1..=args.steps {
        // One unit of work.
        tokio::time::sleep(Duration::from_millis(args.step_ms)).await;
        progress.advance(1).await?;
        if step % (args.steps / 10).max(1) == 0 {
            println!("{step}/{} done", args.steps);
        }
    }
    let task = progress.complete(Some("archive converted")).await?;
    println!(
        "task {}: {} ({}%)",
        task.task_id, task.status, task.percent_complete
    );
    client
        .send_heartbeat(Status::Healthy, Some("idle"), None)
        .await?;
    client.close().await;
    Ok(())
}
