//! `GET /metrics` over real HTTP: the fleet in the OpenMetrics text format.

mod common;

use common::Http;
use serde_json::json;

/// The value of the sample whose name and labels start with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no sample {prefix} in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn metrics_report_the_fleet_alerts_and_each_service() {
    let server = common::start_memory().await;
    let http = Http::new(server.url());
    let ok = http.register("checkout").await;
    let failing = http.register("billing \"eu\"").await;
    let _silent = http.register("never-beats").await;
    for _ in 0..3 {
        http.post(&format!("/api/services/{ok}/heartbeat"), &json!({}))
            .await;
    }
    http.post(
        &format!("/api/services/{failing}/heartbeat"),
        &json!({"status": "error"}),
    )
    .await;
    http.post(&format!("/api/services/{ok}/pause"), &json!({}))
        .await;

    let reply = http.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type
            .starts_with("application/openmetrics-text"),
        "{}",
        reply.content_type
    );
    let text = &reply.text;
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(sample(text, "laneswap_services{status=\"healthy\"}"), 1.0);
    assert_eq!(sample(text, "laneswap_services{status=\"error\"}"), 1.0);
    assert_eq!(sample(text, "laneswap_services{status=\"unknown\"}"), 1.0);
    assert_eq!(sample(text, "laneswap_services{status=\"stale\"}"), 0.0);
    assert_eq!(sample(text, "laneswap_services_paused "), 1.0);
    assert_eq!(sample(text, "laneswap_alerts{state=\"open\"}"), 1.0);
    assert_eq!(sample(text, "laneswap_heartbeats_received_total "), 4.0);
    assert_eq!(sample(text, "laneswap_store_degraded "), 0.0);
    // One series per service; label values are escaped.
    assert_eq!(
        sample(
            text,
            &format!(
                "laneswap_service_status{{service_id=\"{failing}\",service_name=\"billing \\\"eu\\\"\",status=\"error\"}}"
            )
        ),
        1.0
    );
    let last = sample(
        text,
        &format!("laneswap_service_last_heartbeat_timestamp_seconds{{service_id=\"{ok}\""),
    );
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - last).abs() < 60.0,
        "last heartbeat {last}, now {now}"
    );
    server.shutdown().await.unwrap();
}
