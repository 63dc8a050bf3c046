//! The examples run end to end against a real server. `cargo test` builds
//! every example first, so their binaries sit in `target/<profile>/examples/`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The built example binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap(); // target/<profile>/deps/examples-…
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile.join("examples").join(name);
    assert!(path.exists(), "{} is not built", path.display());
    path
}

/// Runs an example against `url`; returns its stdout.
fn run(name: &str, url: &str, args: &[&str]) -> String {
    let output = Command::new(example(name))
        .env("LANESWAP_API_URL", url)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{name}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs an example from async code (the example blocks until it ends).
async fn run_example(name: &'static str, url: &str, args: &'static [&'static str]) -> String {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || run(name, &url, args))
        .await
        .unwrap()
}

/// The service with this name in the server's listing.
async fn service(http: &common::Http, name: &str) -> Value {
    let listing = http.get("/api/services").await.body;
    listing["services"]
        .as_object()
        .unwrap()
        .values()
        .find(|record| record["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not registered: {listing}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_service_registers_beats_and_stops() {
    let server = common::start_memory().await;
    let url = server.url();
    let http = common::Http::new(url.clone());
    let out = run_example(
        "simple_service",
        &url,
        &["--beats", "3", "--interval", "0.1"],
    )
    .await;
    assert!(out.contains("stopped after 3 heartbeats"), "{out}");
    let record = service(&http, "simple-service").await;
    assert_eq!(record["status"], "healthy");
    assert_eq!(record["events"].as_array().unwrap().len(), 3);
    assert_eq!(record["metadata"]["example"], "simple_service");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_service_reports_and_completes_its_task() {
    let server = common::start_memory().await;
    let url = server.url();
    let http = common::Http::new(url.clone());
    let out = run_example(
        "progress_service",
        &url,
        &["--steps", "40", "--step-ms", "30"],
    )
    .await;
    assert!(out.contains("completed (100%)"), "{out}");
    let tasks = http.get("/api/progress").await.body;
    let task = &tasks["tasks"][0];
    assert_eq!(task["task_name"], "convert-archive");
    assert_eq!(task["status"], "completed");
    assert_eq!(task["current_step"], 40);
    assert_eq!(task["message"], "archive converted");
    let record = service(&http, "progress-service").await;
    assert_eq!(record["status"], "healthy");
    let statuses: Vec<&str> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["status"].as_str())
        .collect();
    assert!(
        statuses.contains(&"busy"),
        "busy while working: {statuses:?}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weather_app_and_sync_client_run() {
    let server = common::start_memory().await;
    let url = server.url();
    let http = common::Http::new(url.clone());
    let out = run_example(
        "weather_app",
        &url,
        &["--rounds", "3", "--interval", "0.05"],
    )
    .await;
    assert_eq!(out.matches("round ").count(), 3, "{out}");
    let record = service(&http, "weather-app").await;
    assert_eq!(record["metadata"]["round"], 3);
    assert!(record["metadata"]["slowest_ms"].is_u64());

    let out = run_example(
        "sync_client",
        &url,
        &["--seconds", "1", "--interval", "0.2"],
    )
    .await;
    assert!(out.contains("sync-client: healthy after"), "{out}");
    let record = service(&http, "sync-client").await;
    assert!(record["metadata"]["batches"].as_u64().unwrap() >= 2);
    assert!(
        record["events"].as_array().unwrap().len() >= 4,
        "auto-heartbeats and the last report: {record}"
    );
    server.shutdown().await.unwrap();
}
