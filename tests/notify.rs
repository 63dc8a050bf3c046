//! Notification delivery against real local HTTP receivers started by the
//! tests: success, 429 with retry_after, 5xx retries, 404 → broken, a
//! receiver that never answers, a restart with deliveries pending, a storm.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::Http;
use laneswap::config::Settings;
use laneswap::server::Server;
use laneswap::storage::StoreUri;
use serde_json::{json, Value};

/// What the receiver answers next.
#[derive(Clone)]
enum Reply {
    Status(u16, Value),
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    query: Option<String>,
    body: Value,
    at: Instant,
}

#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn receive(State(receiver): State<Receiver>, request: Request) -> Response {
    let query = request.uri().query().map(str::to_string);
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    receiver.received.lock().unwrap().push(Received {
        method,
        path,
        query,
        body,
        at: Instant::now(),
    });
    let reply = receiver.script.lock().unwrap().pop_front();
    match reply {
        Some(Reply::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        Some(Reply::Status(status, body)) => {
            (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
        }
        None => (StatusCode::OK, axum::Json(json!({"id": "message-1"}))).into_response(),
    }
}

impl Receiver {
    async fn start(script: Vec<Reply>) -> (Receiver, String) {
        let receiver = Receiver::default();
        receiver.script.lock().unwrap().extend(script);
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived (or `limit` passed).
    async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let started = Instant::now();
        while self.received().len() < count && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

fn settings(store: StoreUri) -> Settings {
    let mut settings = Settings::with_store(store);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.delivery.timeout = Duration::from_millis(800);
    settings.delivery.backoff_base = Duration::from_millis(50);
    settings.delivery.backoff_max = Duration::from_millis(200);
    settings.delivery.max_retry_after = Duration::from_secs(5);
    settings
}

async fn channel(http: &Http, body: Value) -> String {
    let reply = http.post("/api/webhooks", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn beat(http: &Http, id: &str, status: &str) -> Duration {
    let started = Instant::now();
    let reply = http
        .post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"status": status, "message": "m"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    started.elapsed()
}

async fn delivery_log(server: &Server, channel_id: &str) -> Vec<laneswap::core::Delivery> {
    server.store().deliveries(channel_id, 100).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_success_with_the_generic_body() {
    let (receiver, url) = Receiver::start(vec![]).await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    let channel_id = channel(
        &http,
        json!({"url": format!("{url}/hook"), "kind": "webhook"}),
    )
    .await;
    let id = http.register("db").await;
    beat(&http, &id, "error").await;
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let body = &got[0].body;
    assert_eq!(body["source"], "laneswap");
    assert_eq!(body["kind"], "status_change");
    assert_eq!(body["level"], "error");
    assert_eq!(body["title"], "Service Status Change: db");
    assert_eq!(
        body["description"],
        "Status changed from unknown to error: m"
    );
    assert_eq!(body["service"]["id"], id.as_str());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = delivery_log(&server, &channel_id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].state, laneswap::core::DeliveryState::Delivered);
    assert_eq!(log[0].attempts[0].status, Some(200));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_then_delivered_once_after_the_wait() {
    let (receiver, url) = Receiver::start(vec![Reply::Status(
        429,
        json!({"retry_after": 0.6, "global": false}),
    )])
    .await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    channel(
        &http,
        json!({"url": format!("{url}/api/webhooks/123/token"), "kind": "discord"}),
    )
    .await;
    let id = http.register("db").await;
    beat(&http, &id, "warning").await;
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_after = receiver.received();
    assert_eq!(got_after.len(), 2, "one refused, one delivered, no more");
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(600),
        "waited retry_after"
    );
    assert_eq!(got[1].query.as_deref(), Some("wait=true"));
    assert_eq!(
        got[1].body["embeds"][0]["title"],
        "Service Status Change: db"
    );
    assert_eq!(got[1].body["embeds"][0]["color"], 15965202);
    assert_eq!(got[1].body["username"], "LaneSwap Monitor");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_until_delivered() {
    let fail = Reply::Status(500, json!({"error": "down"}));
    let (receiver, url) = Receiver::start(vec![fail.clone(), fail.clone(), fail]).await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    let channel_id = channel(
        &http,
        json!({"url": format!("{url}/hook"), "kind": "webhook"}),
    )
    .await;
    let id = http.register("db").await;
    beat(&http, &id, "error").await;
    let got = receiver.wait_for(4, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        4,
        "delivered once, then nothing more"
    );
    let log = delivery_log(&server, &channel_id).await;
    assert_eq!(log[0].state, laneswap::core::DeliveryState::Delivered);
    let statuses: Vec<Option<u16>> = log[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(500), Some(200)]);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_marks_the_channel_broken() {
    let (receiver, url) = Receiver::start(vec![Reply::Status(
        404,
        json!({"message": "Unknown Webhook"}),
    )])
    .await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    let channel_id = channel(
        &http,
        json!({"url": format!("{url}/api/webhooks/9/gone"), "kind": "discord"}),
    )
    .await;
    let id = http.register("db").await;
    beat(&http, &id, "error").await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let started = Instant::now();
    let mut broken = Value::Null;
    while broken.is_null() && started.elapsed() < Duration::from_secs(5) {
        broken = http.get(&format!("/api/webhooks/{channel_id}")).await.body["broken"].clone();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(broken.as_str().unwrap().contains("404"), "{broken}");
    // The listing tells the channel's health: its last attempt got a 404
    // (the delivery waits, unsent, for the channel to be fixed).
    let listing = http.get("/api/webhooks").await.body;
    let last = &listing["webhooks"][0]["last_delivery"];
    assert_eq!(last["http_status"], 404, "{listing}");
    assert!(last["error"].as_str().unwrap().contains("404"), "{listing}");
    beat(&http, &id, "healthy").await;
    beat(&http, &id, "error").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "no further attempts to a broken channel"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_slow_heartbeats() {
    let (receiver, url) = Receiver::start((0..50).map(|_| Reply::Hang).collect()).await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    channel(
        &http,
        json!({"url": format!("{url}/hook"), "kind": "webhook"}),
    )
    .await;
    let id = http.register("db").await;
    let mut slowest = Duration::ZERO;
    for i in 0..40 {
        let status = if i % 2 == 0 { "error" } else { "healthy" };
        slowest = slowest.max(beat(&http, &id, status).await);
    }
    receiver.wait_for(1, Duration::from_secs(5)).await;
    eprintln!("slowest heartbeat while the receiver hangs: {slowest:?}");
    // The receiver holds every request for 30 s; the send timeout is 0.8 s.
    assert!(
        slowest < Duration::from_millis(700),
        "a heartbeat waited for the webhook: {slowest:?}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_deliveries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreUri::Sqlite(dir.path().join("notify.db"));
    let failing: Vec<Reply> = (0..1000).map(|_| Reply::Status(503, json!({}))).collect();
    let (down, down_url) = Receiver::start(failing).await;
    let (_, up_url) = Receiver::start(vec![]).await;
    let _ = up_url;
    let server = Server::start(&settings(store.clone())).await.unwrap();
    let http = Http::new(server.url());
    let channel_id = channel(
        &http,
        json!({"url": format!("{down_url}/hook"), "kind": "webhook"}),
    )
    .await;
    let id = http.register("db").await;
    beat(&http, &id, "error").await;
    down.wait_for(2, Duration::from_secs(5)).await;
    server.shutdown().await.unwrap();

    // Same store, the receiver now answers: the pending delivery goes out.
    down.script.lock().unwrap().clear();
    let before = down.received().len();
    let server = Server::start(&settings(store)).await.unwrap();
    let got = down.wait_for(before + 1, Duration::from_secs(5)).await;
    assert!(
        got.len() > before,
        "the pending delivery was sent after the restart"
    );
    assert_eq!(got.last().unwrap().body["service"]["id"], id.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = delivery_log(&server, &channel_id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].state, laneswap::core::DeliveryState::Delivered);
    assert!(log[0].attempts.len() >= 3);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_stale_flips_becomes_a_digest_within_discord_limits() {
    let (receiver, url) = Receiver::start(vec![]).await;
    let mut settings = settings(StoreUri::Memory);
    settings.stale_threshold_secs = 1.0;
    let server = Server::start(&settings).await.unwrap();
    let http = Http::new(server.url());
    channel(&http, json!({"url": format!("{url}/api/webhooks/77/token"), "kind": "discord", "levels": ["warning"]})).await;
    for i in 0..50 {
        http.post("/api/services", &json!({"service_id": format!("worker-{i:02}"), "service_name": format!("worker {i:02} {}", "x".repeat(60))}))
            .await;
    }
    // All fifty go stale about a second later.
    let started = Instant::now();
    let mut covered = 0;
    while covered < 50 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        covered = receiver
            .received()
            .iter()
            .map(|r| {
                let title = r.body["embeds"][0]["title"].as_str().unwrap_or("");
                title
                    .strip_suffix(" notifications")
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(1)
            })
            .sum();
    }
    let got = receiver.received();
    assert_eq!(covered, 50, "every flip is in a message");
    // The first few go out alone (Discord allows ~5 per 2 s), the rest pile
    // up meanwhile and go out as one digest.
    assert!(got.len() <= 7, "{} messages for 50 flips", got.len());
    assert!(
        got.iter().any(|r| r.body["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.ends_with(" notifications"))),
        "a digest was sent"
    );
    for request in &got {
        let length = laneswap::notify::discord::text_length(&request.body);
        assert!(
            length <= laneswap::notify::discord::MAX_TOTAL,
            "{length} characters"
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_send_and_the_delivery_log() {
    let (receiver, url) = Receiver::start(vec![]).await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    let channel_id = channel(
        &http,
        json!({"url": format!("{url}/hook"), "kind": "webhook", "levels": ["error"]}),
    )
    .await;
    let queued = http
        .send(
            http.client
                .post(http.url(&format!("/api/webhooks/{channel_id}/test"))),
        )
        .await;
    assert_eq!(queued.status, 202, "{}", queued.text);
    let delivery_id = queued.body["delivery_id"].as_str().unwrap().to_string();
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        got[0].body["kind"], "test",
        "a test ignores the level filter"
    );
    let started = Instant::now();
    let mut log = Value::Null;
    while started.elapsed() < Duration::from_secs(5) {
        log = http
            .get(&format!("/api/webhooks/{channel_id}/deliveries"))
            .await
            .body;
        if log["deliveries"][0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(log["total"], 1);
    let entry = &log["deliveries"][0];
    assert_eq!(entry["id"], delivery_id.as_str());
    assert_eq!(entry["state"], "delivered");
    assert_eq!(entry["attempts"][0]["status"], 200);
    assert!(entry["attempts"][0]["latency_ms"].is_u64());
    let one = http.get(&format!("/api/webhooks/{channel_id}")).await.body;
    assert_eq!(one["last_delivery"]["id"], delivery_id.as_str());
    assert_eq!(one["last_delivery"]["state"], "delivered");
    assert_eq!(one["last_delivery"]["http_status"], 200);
    assert_eq!(
        http.send(http.client.post(http.url("/api/webhooks/nope/test")))
            .await
            .status,
        404
    );
    assert_eq!(http.get("/api/webhooks/nope/deliveries").await.status, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgement_and_resolution_edit_the_message_posted_earlier() {
    let (receiver, url) = Receiver::start(vec![Reply::Status(200, json!({"id": "m-42"}))]).await;
    let server = Server::start(&settings(StoreUri::Memory)).await.unwrap();
    let http = Http::new(server.url());
    channel(
        &http,
        json!({"url": format!("{url}/api/webhooks/77/token"), "kind": "discord"}),
    )
    .await;
    let id = http.register("db").await;
    beat(&http, &id, "error").await;
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        (got[0].method.as_str(), got[0].path.as_str()),
        ("POST", "/api/v10/webhooks/77/token")
    );
    let alert_id = http.get("/api/alerts?state=open").await.body["alerts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // No wait here: a channel's deliveries go out in order, and each is
    // recorded (with its message id) before the next one is sent.

    http.post(
        &format!("/api/alerts/{alert_id}/ack"),
        &json!({"note": "on it", "by": "ana"}),
    )
    .await;
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got[1].method, "PATCH");
    assert_eq!(got[1].path, "/api/v10/webhooks/77/token/messages/m-42");
    let embed = &got[1].body["embeds"][0];
    assert_eq!(embed["title"], "[Acknowledged] Service Status Change: db");
    assert_eq!(embed["color"], 3447003);
    assert!(embed["description"]
        .as_str()
        .unwrap()
        .contains("Acknowledged by ana: on it"));

    beat(&http, &id, "healthy").await;
    let got = receiver.wait_for(4, Duration::from_secs(5)).await;
    let edits: Vec<&Received> = got.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(edits.len(), 2, "acknowledged, then resolved");
    assert_eq!(
        edits[1].body["embeds"][0]["title"],
        "[Resolved] Service Status Change: db"
    );
    assert_eq!(edits[1].body["embeds"][0]["color"], 3066993);
    let posts: Vec<&Received> = got.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(
        posts.len(),
        2,
        "the recovery itself is a status change message"
    );
    server.shutdown().await.unwrap();
}

/// The Discord payloads of a status change and a stale flip, as a receiver
/// got them, match the original's format (wire-api §5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_payloads_match_the_original_on_the_wire() {
    let (receiver, url) = Receiver::start(vec![]).await;
    let mut settings = settings(StoreUri::Memory);
    settings.stale_threshold_secs = 1.0;
    settings.delivery.discord.username = "Laneswap Heartbeat Monitor".into();
    let server = Server::start(&settings).await.unwrap();
    let http = Http::new(server.url());
    channel(&http, json!({"url": format!("{url}/api/webhooks/5/t"), "kind": "discord", "levels": ["error", "warning"]})).await;
    http.post(
        "/api/services",
        &json!({"service_id": "m", "service_name": "svc-mongo", "metadata": {"v": 1}}),
    )
    .await;
    http.post("/api/services/m/heartbeat", &json!({"status": "warning"}))
        .await;
    let reply = http
        .post(
            "/api/services/m/heartbeat",
            &json!({"status": "error", "message": "boom", "metadata": {"cpu": 5, "token": "x"}}),
        )
        .await;
    let last = chrono::DateTime::parse_from_rfc3339(reply.body["last_heartbeat"].as_str().unwrap())
        .unwrap();
    // warning, error, then (a second later) stale.
    let got = receiver.wait_for(3, Duration::from_secs(6)).await;
    assert_eq!(got.len(), 3);
    let mut error = got[1].body.clone();
    let sent = error["embeds"][0]["timestamp"].take();
    assert!(chrono::DateTime::parse_from_rfc3339(sent.as_str().unwrap()).is_ok());
    assert_eq!(
        error,
        json!({"username": "Laneswap Heartbeat Monitor",
            "embeds": [{"title": "Service Status Change: svc-mongo",
                "description": "Status changed from warning to error: boom",
                "color": 15158332,
                "timestamp": null,
                "fields": [{"name": "Service Name", "value": "svc-mongo", "inline": true},
                    {"name": "Status", "value": "error", "inline": true},
                    {"name": "Last Heartbeat", "value": last.format("%Y-%m-%d %H:%M:%S UTC").to_string(), "inline": true},
                    {"name": "Metadata", "value": "**v**: 1\n**cpu**: 5", "inline": false}]}]})
    );
    let stale = &got[2].body["embeds"][0];
    assert_eq!(stale["title"], "Service Stale: svc-mongo");
    assert_eq!(stale["description"], "No heartbeat received in 1 seconds");
    assert_eq!(stale["color"], 15965202);
    assert_eq!(
        stale["fields"][1],
        json!({"name": "Status", "value": "stale", "inline": true})
    );
    assert_eq!(
        got[0].body["embeds"][0]["color"], 15965202,
        "warning is orange"
    );
    server.shutdown().await.unwrap();
}
