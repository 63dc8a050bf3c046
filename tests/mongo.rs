//! The whole server on the MongoDB backend, against a real
//! MongoDB-protocol server started for this test binary: what a client
//! sends survives a restart; the URI's password stays out of logs and
//! errors; `LANESWAP_MONGODB_URI` selects the backend.

mod common;

use std::process::Command;
use std::time::Duration;

use common::Http;
use laneswap::config::Settings;
use laneswap::server::Server;
use laneswap::storage::mongo::MongoUri;
use laneswap::storage::StoreUri;
use serde_json::json;

fn settings(location: &MongoUri) -> Settings {
    let mut settings = Settings::with_store(StoreUri::Mongo(location.clone()));
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_mongodb_keeps_everything_across_a_restart() {
    let location = common::mongo::location("restart");
    let first = Server::start(&settings(&location)).await.unwrap();
    assert!(first
        .store()
        .describe()
        .starts_with("mongodb: mongodb://127.0.0.1:"));
    let http = Http::new(first.url());
    let id = http.register("billing").await;
    for (status, message) in [("healthy", "ok"), ("warning", "slow"), ("error", "down")] {
        let reply = http
            .post(
                &format!("/api/services/{id}/heartbeat"),
                &json!({"status": status, "message": message, "metadata": {"n": 1}}),
            )
            .await;
        assert_eq!(reply.status, 200);
    }
    let task = http
        .post(
            "/api/progress",
            &json!({"service_id": id, "task_name": "t", "total_steps": 5}),
        )
        .await;
    assert_eq!(task.status, 201);
    let alerts = http.get("/api/alerts?state=active").await.body;
    let alert_id = alerts["alerts"][0]["id"].as_str().unwrap().to_string();
    http.post(
        &format!("/api/alerts/{alert_id}/ack"),
        &json!({"note": "on it"}),
    )
    .await;
    let channel = http
        .post(
            "/api/webhooks",
            &json!({"url": "https://hooks.example.com/x/secret"}),
        )
        .await;
    assert_eq!(channel.status, 201);
    first.shutdown().await.unwrap();

    let second = Server::start(&settings(&location)).await.unwrap();
    let http = Http::new(second.url());
    let service = http.get(&format!("/api/services/{id}")).await.body;
    assert_eq!(service["status"], "error");
    assert_eq!(service["message"], "down");
    assert_eq!(service["metadata"]["n"], 1);
    assert_eq!(service["events"].as_array().unwrap().len(), 3);
    let history = http
        .get(&format!("/api/services/{id}/heartbeats?limit=2"))
        .await
        .body;
    assert_eq!(history["heartbeats"][0]["message"], "down", "{history}");
    assert_eq!(history["heartbeats"].as_array().unwrap().len(), 2);
    assert_eq!(http.get("/api/progress").await.body["total"], 1);
    let alert = http.get(&format!("/api/alerts/{alert_id}")).await.body;
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["ack"]["note"], "on it");
    assert_eq!(http.get("/api/webhooks").await.body["total"], 1);
    second.shutdown().await.unwrap();
}

#[test]
fn the_environment_selects_mongodb_and_hides_its_password() {
    let server = common::mongo::shared();
    let database = common::mongo::fresh_database("env");
    // Reachable: the server logs where it stores, password hidden.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = server.uri.trim_start_matches("mongodb://").to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_laneswap"))
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .env("LANESWAP_MONGODB_URI", format!("mongodb://{address}"))
        .env("LANESWAP_MONGODB_NAME", &database)
        .env_remove("LANESWAP_STORE")
        .env("XDG_CONFIG_HOME", "/nonexistent-laneswap-test-config")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .find(|line| line.contains("listening"))
        .unwrap();
    assert!(line.contains(&format!("(database {database})")), "{line}");
    assert!(
        line.contains("store=mongodb: mongodb://127.0.0.1:"),
        "{line}"
    );
    let _ = child.kill();
    let _ = child.wait();

    // Unreachable, with credentials: a clear failure without the password.
    let output = Command::new(env!("CARGO_BIN_EXE_laneswap"))
        .args(["server", "--listen", "127.0.0.1:0"])
        .env(
            "LANESWAP_MONGODB_URI",
            "mongodb://ops:top-secret@127.0.0.1:9/?serverSelectionTimeoutMS=300",
        )
        .env_remove("LANESWAP_STORE")
        .env("XDG_CONFIG_HOME", "/nonexistent-laneswap-test-config")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success());
    assert!(
        all.contains("cannot open store mongodb://ops:****@127.0.0.1:9"),
        "{all}"
    );
    assert!(!all.contains("top-secret"), "{all}");

    // A malformed value names the variable, password hidden too.
    let output = Command::new(env!("CARGO_BIN_EXE_laneswap"))
        .args(["server"])
        .env("LANESWAP_MONGODB_URI", "postgres://ops:top-secret@db")
        .env("XDG_CONFIG_HOME", "/nonexistent-laneswap-test-config")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("LANESWAP_MONGODB_URI"), "{stderr}");
    assert!(!stderr.contains("top-secret"), "{stderr}");
    std::thread::sleep(Duration::from_millis(10));
}

/// The database goes away under a heartbeat load and comes back: every
/// acknowledged heartbeat is in it afterwards, and the server said it was
/// degraded meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_no_acknowledged_heartbeat() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let storage = tempfile::tempdir().unwrap();
    let database = common::mongo::start_on(storage.path(), port);
    let mut location = common::mongo::location("outage");
    location.uri =
        format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=500");
    let server = Server::start(&settings(&location)).await.unwrap();
    let http = Http::new(server.url());
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(http.register(&format!("svc-{i}")).await);
    }

    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let refused = Arc::new(Mutex::new(0usize));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..6 {
        let (http, ids, acknowledged, refused, stop) = (
            Http::new(server.url()),
            ids.clone(),
            acknowledged.clone(),
            refused.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = &ids[(worker + n) % ids.len()];
                let message = format!("w{worker}-{n}");
                let reply = http
                    .post(
                        &format!("/api/services/{id}/heartbeat"),
                        &json!({"status": "healthy", "message": message}),
                    )
                    .await;
                if reply.status == 200 {
                    acknowledged.lock().unwrap().push((id.clone(), message));
                } else {
                    *refused.lock().unwrap() += 1;
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before_outage = acknowledged.lock().unwrap().len();
    common::mongo::stop(&database);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let health = http.get("/api/health").await.body;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"]["state"], "degraded", "{health}");
    let during = acknowledged.lock().unwrap().len();
    assert!(
        during > before_outage + 20,
        "ingest went on: {before_outage} → {during}"
    );

    let _restarted = common::mongo::start_on(storage.path(), port);
    // The load goes on for a moment against the restarted database, then
    // stops; the spool drains.
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let started = Instant::now();
    loop {
        let health = http.get("/api/health").await.body;
        if health.get("store").is_none() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never drained: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "the spool drained {:?} after the load stopped",
        started.elapsed()
    );
    assert_eq!(*refused.lock().unwrap(), 0, "no heartbeat was refused");
    server.shutdown().await.unwrap();

    // Everything acknowledged is in the database: read it back through a
    // fresh store.
    let store = laneswap::storage::mongo::MongoStore::open(&location, Default::default())
        .await
        .unwrap();
    use laneswap::storage::Store;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut missing = 0;
    for id in &ids {
        let stored: std::collections::HashSet<String> = store
            .history(
                id,
                laneswap::storage::HistoryQuery {
                    limit: 1_000_000,
                    since: None,
                },
            )
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.message)
            .collect();
        missing += acknowledged
            .iter()
            .filter(|(service, message)| service == id && !stored.contains(message))
            .count();
    }
    eprintln!(
        "acknowledged {} heartbeats ({} before the outage, {} by its end); missing {missing}",
        acknowledged.len(),
        before_outage,
        during
    );
    assert_eq!(missing, 0);
}

/// Two server nodes on one database see each other's changes: a service
/// registered on one, its heartbeats through the other, an ack and a
/// webhook; each shows on the other node within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_each_others_changes() {
    use std::time::Instant;

    let location = common::mongo::location("nodes");
    let mut other = location.clone();
    other.spool = Some(tempfile::tempdir().unwrap().keep().join("spool-b.jsonl"));
    let a = Server::start(&settings(&location)).await.unwrap();
    let b = Server::start(&settings(&other)).await.unwrap();
    let (on_a, on_b) = (Http::new(a.url()), Http::new(b.url()));

    // Waits until `check` holds on a node; returns how long it took.
    async fn visible(
        http: &Http,
        path: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let reply = http.get(path).await;
            if reply.status == 200 && check(&reply.body) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{path}: not within a second: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let id = on_a.register("shared-service").await;
    let mut worst = visible(&on_b, &format!("/api/services/{id}"), |s| {
        s["name"] == "shared-service"
    })
    .await;
    let beat = on_b
        .post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"status": "error", "message": "via b"}),
        )
        .await;
    assert_eq!(beat.status, 200);
    worst = worst.max(
        visible(&on_a, &format!("/api/services/{id}"), |s| {
            s["status"] == "error" && s["message"] == "via b"
        })
        .await,
    );
    // The alert opened on b; a sees it and acknowledges it; b sees that.
    worst = worst.max(visible(&on_a, "/api/alerts?state=active", |body| body["total"] == 1).await);
    let alert_id = on_a.get("/api/alerts?state=active").await.body["alerts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ack = on_a
        .post(
            &format!("/api/alerts/{alert_id}/ack"),
            &json!({"note": "from a"}),
        )
        .await;
    assert_eq!(ack.status, 200, "{}", ack.body);
    worst = worst.max(
        visible(&on_b, &format!("/api/alerts/{alert_id}"), |alert| {
            alert["state"] == "acknowledged"
        })
        .await,
    );
    let channel = on_b
        .post(
            "/api/webhooks",
            &json!({"url": "https://hooks.example.com/x/secret", "name": "shared"}),
        )
        .await;
    assert_eq!(channel.status, 201);
    worst = worst.max(visible(&on_a, "/api/webhooks", |body| body["total"] == 1).await);
    let listing = on_a.get("/api/services").await.body;
    assert_eq!(
        listing["services"][&id]["events"].as_array().unwrap().len(),
        1
    );
    eprintln!("slowest change to show on the other node: {worst:?}");
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// Two nodes, one service that stops: exactly one stale flip, one alert
/// and one stale notification across both (counted at a local receiver).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_flip_a_silent_service_exactly_once() {
    use std::sync::{Arc, Mutex};

    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let recorder = received.clone();
    let receiver = axum::Router::new().route(
        "/hook/{token}",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let recorder = recorder.clone();
            async move {
                recorder.lock().unwrap().push(body.0);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook/t0k3n", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let location = common::mongo::location("exactly_once");
    let mut other = location.clone();
    other.spool = Some(tempfile::tempdir().unwrap().keep().join("spool-b.jsonl"));
    let node = |location: &MongoUri| {
        let mut settings = settings(location);
        settings.stale_threshold_secs = 1.0;
        settings
    };
    let a = Server::start(&node(&location)).await.unwrap();
    let b = Server::start(&node(&other)).await.unwrap();
    let (on_a, on_b) = (Http::new(a.url()), Http::new(b.url()));
    let channel = on_a
        .post("/api/webhooks", &json!({"url": hook, "kind": "webhook"}))
        .await;
    assert_eq!(channel.status, 201);

    let id = on_a.register("flaky").await;
    tokio::time::sleep(Duration::from_millis(400)).await; // b has it now
    for (i, http) in [&on_a, &on_b, &on_a, &on_b].into_iter().enumerate() {
        let reply = http
            .post(
                &format!("/api/services/{id}/heartbeat"),
                &json!({"message": format!("beat {i}")}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Silence: both nodes see the deadline pass.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for http in [&on_a, &on_b] {
        let service = http.get(&format!("/api/services/{id}")).await.body;
        assert_eq!(service["status"], "stale", "{service}");
        let alerts = http.get("/api/alerts").await.body;
        assert_eq!(
            alerts["total"], 1,
            "one alert on each node's view: {alerts}"
        );
    }
    let stale_events = on_a
        .get(&format!("/api/services/{id}/heartbeats?limit=100"))
        .await
        .body;
    let stale_count = stale_events["heartbeats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["status"] == "stale")
        .count();
    assert_eq!(
        stale_count, 1,
        "one stale event in the history: {stale_events}"
    );
    let stale_notifications = received
        .lock()
        .unwrap()
        .iter()
        .filter(|body| body.to_string().contains("\"stale\""))
        .count();
    assert_eq!(stale_notifications, 1, "{:?}", received.lock().unwrap());
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// A node that claimed a delivery dies (SIGKILL) while the receiver fails;
/// the other node takes the delivery over once the lease runs out, and the
/// receiver gets it exactly once.
#[test]
fn a_dead_nodes_delivery_is_taken_over() {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let healthy = Arc::new(AtomicBool::new(false));
    let (failures, deliveries) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hook = {
        let (healthy, failures, deliveries) =
            (healthy.clone(), failures.clone(), deliveries.clone());
        runtime.block_on(async move {
            let receiver = axum::Router::new().route(
                "/hook/{token}",
                axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                    let (healthy, failures, deliveries) =
                        (healthy.clone(), failures.clone(), deliveries.clone());
                    async move {
                        if !body.0.to_string().contains("\"error\"") {
                            return axum::http::StatusCode::NO_CONTENT;
                        }
                        if healthy.load(Ordering::SeqCst) {
                            deliveries.fetch_add(1, Ordering::SeqCst);
                            axum::http::StatusCode::NO_CONTENT
                        } else {
                            failures.fetch_add(1, Ordering::SeqCst);
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR
                        }
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let hook = format!("http://{}/hook/t0k3n", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, receiver).await });
            hook
        })
    };

    let location = common::mongo::location("takeover");
    let node = |name: &str| {
        let spool = tempfile::tempdir()
            .unwrap()
            .keep()
            .join(format!("{name}.jsonl"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_laneswap"))
            .args(["server", "--listen", "127.0.0.1:0"])
            .env("LANESWAP_MONGODB_URI", &location.uri)
            .env("LANESWAP_MONGODB_NAME", &location.database)
            .env("LANESWAP_MONGODB_SPOOL", &spool)
            .env("LANESWAP_LOG_LEVEL", "info")
            .env_remove("LANESWAP_STORE")
            .env("XDG_CONFIG_HOME", "/nonexistent-laneswap-test-config")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if !sent {
                    if let Some(rest) = line.split("addr=").nth(1) {
                        let _ = tx.send(rest.split_whitespace().next().unwrap().to_string());
                        sent = true;
                    }
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        (child, format!("http://{addr}"))
    };
    let (mut a, url_a) = node("a");
    let (mut b, url_b) = node("b");
    runtime.block_on(async {
        let on_a = Http::new(url_a.clone());
        let channel = on_a
            .post("/api/webhooks", &json!({"url": hook, "kind": "webhook"}))
            .await;
        assert_eq!(channel.status, 201);
        let id = on_a.register("payments").await;
        let beat = on_a
            .post(
                &format!("/api/services/{id}/heartbeat"),
                &json!({"status": "error", "message": "down"}),
            )
            .await;
        assert_eq!(beat.status, 200);
        // a claims the delivery and fails against the receiver...
        let started = Instant::now();
        while failures.load(Ordering::SeqCst) == 0 {
            assert!(started.elapsed() < Duration::from_secs(10), "a never tried");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    // ...and dies holding the lease.
    a.kill().unwrap();
    let _ = a.wait();
    healthy.store(true, Ordering::SeqCst);
    let started = Instant::now();
    while deliveries.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(75),
            "b never took the delivery over"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let took = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    eprintln!(
        "b delivered {took:?} after a died; a had failed {} times",
        failures.load(Ordering::SeqCst)
    );
    assert_eq!(
        deliveries.load(Ordering::SeqCst),
        1,
        "delivered exactly once"
    );
    let log = runtime.block_on(async {
        let on_b = Http::new(url_b.clone());
        let channels = on_b.get("/api/webhooks").await.body;
        channels["webhooks"][0]["last_delivery"]["state"].clone()
    });
    assert_eq!(log, "delivered");
    let _ = b.kill();
    let _ = b.wait();
}
