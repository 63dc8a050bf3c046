//! The blocking client, for programs without async: register, report,
//! let the auto-heartbeat keep the service alive while working, close.
//!
//!     cargo run --example sync_client -- --seconds 20
//!
//! The service shows up as `sync-client` with its metadata; the
//! auto-heartbeat runs on the client's own background thread.

use std::time::{Duration, Instant};

use clap::Parser;
use laneswap::client::{blocking::Client, ClientError, Status};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(
        long,
        env = "LANESWAP_API_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    api_url: String,
    /// How long to work before closing
    #[arg(long, default_value = "20")]
    seconds: f64,
    /// Seconds between auto-heartbeats
    #[arg(long, default_value = "5")]
    interval: f64,
}

fn main() -> Result<(), ClientError> {
    let args = Args::parse();
    let client = Client::builder(&args.api_url)
        .service_name("sync-client")
        .metadata("example", "sync_client")
        .auto_heartbeat(Duration::from_secs_f64(args.interval))
        .build()?;
    let id = client.connect()?;
    println!("registered sync-client as {id}");

    let started = Instant::now();
    let mut batches = 0u64;
    while started.elapsed().as_secs_f64() < args.seconds {
        // A batch of work; the auto-heartbeat keeps the service alive
        // meanwhile and carries the metadata set here.
        std::thread::sleep(Duration::from_millis(250));
        batches += 1;
        let mut metadata = serde_json::Map::new();
        metadata.insert("batches".into(), json!(batches));
        client.set_metadata(metadata);
    }
    let service = client.send_heartbeat(
        Status::Healthy,
        Some(&format!("finished {batches} batches")),
        None,
    )?;
    println!(
        "{}: {} after {batches} batches",
        service.name, service.status
    );
    client.close();
    Ok(())
}
