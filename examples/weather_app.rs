//! A realistic service: a weather poller that fetches readings for a few
//! cities on a schedule and tells laneswap how it is doing. Readings are
//! simulated (no outside network needed), including slow answers and
//! failures, so every status shows up:
//!
//!     cargo run --example weather_app -- --interval 3
//!
//! - healthy: all cities fetched, with the readings in the metadata;
//! - warning: the weather source answered slowly (over 800 ms);
//! - error: a city could not be fetched twice in a row;
//! - the auto-heartbeat keeps it alive between rounds.

use std::time::Duration;

use clap::Parser;
use laneswap::client::{Client, ClientError, Status};
use serde_json::{json, Map, Value};

#[derive(Parser)]
struct Args {
    #[arg(
        long,
        env = "LANESWAP_API_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    api_url: String,
    /// Seconds between polling rounds
    #[arg(long, default_value = "10")]
    interval: f64,
    /// Stop after this many rounds (default: until Ctrl-C)
    #[arg(long)]
    rounds: Option<u64>,
}

const CITIES: [&str; 4] = ["Lisbon", "Oslo", "Nairobi", "Osaka"];

/// One simulated call to a weather API: a temperature, or an error, and
/// how long it took.
fn fetch(city: &str) -> (Result<f64, String>, Duration) {
    let latency = Duration::from_millis(fastrand::u64(50..1_000));
    if fastrand::u8(0..12) == 0 {
        return (Err(format!("{city}: upstream answered 503")), latency);
    }
    let base = match city {
        "Oslo" => 2.0,
        "Nairobi" => 24.0,
        "Osaka" => 14.0,
        _ => 18.0,
    };
    (Ok(base + fastrand::f64() * 6.0 - 3.0), latency)
}

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let args = Args::parse();
    let client = Client::builder(&args.api_url)
        .service_name("weather-app")
        .metadata("example", "weather_app")
        .metadata("cities", CITIES.len())
        .auto_heartbeat(Duration::from_secs(15))
        .build()?;
    let id = client.connect().await?;
    println!("registered weather-app as {id}");

    let mut failures_in_a_row: Map<String, Value> = Map::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(args.interval));
    let mut round = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        round += 1;
        let mut readings = Map::new();
        let mut slowest = Duration::ZERO;
        let mut failing = Vec::new();
        for city in CITIES {
            let (reading, latency) = fetch(city);
            slowest = slowest.max(latency);
            match reading {
                Ok(celsius) => {
                    readings.insert(city.to_lowercase(), json!((celsius * 10.0).round() / 10.0));
                    failures_in_a_row.insert(city.into(), json!(0));
                }
                Err(reason) => {
                    let count = failures_in_a_row
                        .get(city)
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                        + 1;
                    failures_in_a_row.insert(city.into(), json!(count));
                    if count >= 2 {
                        failing.push(reason);
                    }
                }
            }
        }
        let (status, message) = if !failing.is_empty() {
            (Status::Error, failing.join("; "))
        } else if slowest > Duration::from_millis(800) {
            (
                Status::Warning,
                format!("weather source slow: {} ms", slowest.as_millis()),
            )
        } else {
            (
                Status::Healthy,
                format!("{} cities updated", readings.len()),
            )
        };
        let mut metadata = Map::new();
        metadata.insert("readings".into(), Value::Object(readings));
        metadata.insert("slowest_ms".into(), json!(slowest.as_millis() as u64));
        metadata.insert("round".into(), json!(round));
        client
            .send_heartbeat(status, Some(&message), Some(metadata))
            .await?;
        println!("round {round}: {status} - {message}");
        if args.rounds.is_some_and(|rounds| round >= rounds) {
            break;
        }
    }
    client.close().await;
    Ok(())
}
