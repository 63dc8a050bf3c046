//! The smallest useful laneswap client: register, send a heartbeat every
//! few seconds, stop cleanly on Ctrl-C.
//!
//!     cargo run --example simple_service -- --api-url http://127.0.0.1:8000
//!
//! Start a server first (`cargo run --release`, or `laneswap-term --no-ui`);
//! the service appears in the terminal UI as `simple-service`. `--beats N`
//! stops after N heartbeats.

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
    /// Seconds between heartbeats
    #[arg(long, default_value = "5")]
    interval: f64,
    /// Stop after this many heartbeats (default: until Ctrl-C)
    #[arg(long)]
    beats: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let args = Args::parse();
    let client = Client::builder(&args.api_url)
        .service_name("simple-service")
        .metadata("example", "simple_service")
        .metadata("version", env!("CARGO_PKG_VERSION"))
        .build()?;
    let id = client.connect().await?;
    println!("registered simple-service as {id}");

    let mut tick = tokio::time::interval(Duration::from_secs_f64(args.interval));
    let mut sent = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        sent += 1;
        let message = format!("heartbeat {sent}");
        let service = client
            .send_heartbeat(Status::Healthy, Some(&message), None)
            .await?;
        println!("{}: {} ({message})", service.name, service.status);
        if args.beats.is_some_and(|beats| sent >= beats) {
            break;
        }
    }
    client.close().await;
    println!("stopped after {sent} heartbeats");
    Ok(())
}
