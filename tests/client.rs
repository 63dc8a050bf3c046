//! The client library against the real server on 127.0.0.1:0: every
//! method, the auto-heartbeat (keeps a service healthy, stops on close and
//! on drop, rides out a server restart), typed errors, the blocking client
//! and the bearer token.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use laneswap::client::{Client, ClientError, Status};
use laneswap::config::Settings;
use laneswap::server::Server;
use laneswap::storage::StoreUri;
use serde_json::{json, Map, Value};

/// A memory-store server with a short stale threshold.
async fn server(stale_secs: f64, listen: &str) -> Server {
    let mut settings = Settings::with_store(StoreUri::Memory);
    settings.listen = listen.parse().unwrap();
    settings.stale_threshold_secs = stale_secs;
    Server::start(&settings).await.expect("server starts")
}

fn client(url: &str, name: &str) -> laneswap::client::ClientBuilder {
    Client::builder(url)
        .service_name(name)
        .retries(1, Duration::from_millis(50))
}

/// Waits until `check` holds (or fails the test after `limit`).
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_against_the_real_server() {
    let server = server(60.0, "127.0.0.1:0").await;
    let url = format!("{}/api/", server.url()); // a trailing /api/ works too
    let client = client(&url, "billing")
        .metadata("version", "2.1.0")
        .stale_threshold(Duration::from_secs(90))
        .build()
        .unwrap();
    assert!(matches!(
        client.send_heartbeat(Status::Healthy, None, None).await,
        Err(ClientError::NotConnected)
    ));
    let id = client.connect().await.unwrap();
    assert_eq!(
        client.connect().await.unwrap(),
        id,
        "connect twice: same id"
    );

    let service = client.get_service().await.unwrap();
    assert_eq!(service.name, "billing");
    assert_eq!(service.status, Status::Unknown);
    assert_eq!(service.metadata["version"], "2.1.0");

    let service = client
        .send_heartbeat(
            Status::Warning,
            Some("queue long"),
            Some(map(json!({"queue": 42}))),
        )
        .await
        .unwrap();
    assert_eq!(service.status, Status::Warning);
    assert_eq!(service.message.as_deref(), Some("queue long"));
    assert_eq!(service.metadata["queue"], 42);
    assert_eq!(service.metadata["version"], "2.1.0", "merged");
    assert_eq!(service.events.len(), 1);

    let other = client
        .register_service(
            "reports",
            Some("reports-1"),
            Some(map(json!({"team": "bi"}))),
        )
        .await
        .unwrap();
    assert_eq!(other, "reports-1");
    assert_eq!(
        client.service("reports-1").await.unwrap().metadata["team"],
        "bi"
    );
    let generated = client.register_service("anon", None, None).await.unwrap();
    assert_eq!(generated.len(), 36, "the server made a uuid");

    let list = client.list_services().await.unwrap();
    assert_eq!(list.summary.total, 3);
    assert_eq!(
        list.services.keys().next().unwrap(),
        &id,
        "registration order"
    );
    assert_eq!(
        list.services[&id].status_message.as_deref(),
        Some("queue long")
    );
    let listing = client
        .api()
        .call(reqwest::Method::GET, "/services", None)
        .await
        .unwrap();
    let time = |key: &str| {
        laneswap::client::types::parse_time(listing["services"][&id][key].as_str().unwrap())
            .unwrap()
    };
    let threshold = (time("stale_at") - time("last_heartbeat")).num_seconds();
    assert_eq!(threshold, 90, "the per-service threshold was sent");

    // Progress: the handle reports as work advances, at most once per period.
    let mut progress = client
        .start_progress("import", 10, Some("nightly import"))
        .await
        .unwrap()
        .report_every(Duration::from_secs(3600));
    assert_eq!(progress.task().total_steps, 10);
    progress.advance(1).await.unwrap(); // first report
    progress.advance(3).await.unwrap(); // not due: held back
    let task_id = progress.id().to_string();
    let remote = |client: Client, task_id: String| async move {
        client
            .api()
            .call(reqwest::Method::GET, &format!("/progress/{task_id}"), None)
            .await
            .unwrap()
    };
    assert_eq!(
        remote(client.clone(), task_id.clone()).await["current_step"],
        1
    );
    progress.set(7, Some("almost")).await.unwrap();
    assert_eq!(
        remote(client.clone(), task_id.clone()).await["message"],
        "almost"
    );
    progress.advance(3).await.unwrap(); // the last step is always reported
    assert_eq!(
        remote(client.clone(), task_id.clone()).await["current_step"],
        10
    );
    let done = progress.complete(Some("imported")).await.unwrap();
    assert_eq!(done.status, "completed");
    assert_eq!(done.percent_complete, 100.0);

    let second = client.start_progress("export", 4, None).await.unwrap();
    let updated = client
        .update_progress(second.id(), 2, None, Some("half"))
        .await
        .unwrap();
    assert_eq!(updated.current_step, 2);
    let failed = client
        .complete_progress(second.id(), Some("failed"), Some("disk full"))
        .await
        .unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.message.as_deref(), Some("disk full"));

    client.close().await;
    client.close().await; // twice is fine
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_typed() {
    let server = server(60.0, "127.0.0.1:0").await;
    let client = client(&server.url(), "x").build().unwrap();
    match client.service("nope").await {
        Err(ClientError::NotFound { detail }) => assert_eq!(detail, "Service not found: nope"),
        other => panic!("{other:?}"),
    }
    match client
        .api()
        .call(reqwest::Method::POST, "/services", Some(&json!({})))
        .await
    {
        Err(ClientError::Invalid { detail }) => {
            assert!(detail.contains("service_name"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    match client.update_progress("no-task", 1, None, None).await {
        Err(ClientError::NotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
    let unreachable = Client::builder("http://127.0.0.1:9")
        .service_name("x")
        .retries(1, Duration::from_millis(10))
        .build()
        .unwrap();
    match unreachable.connect().await {
        Err(error @ ClientError::Network { .. }) => {
            assert!(
                error
                    .to_string()
                    .starts_with("cannot reach laneswap at http://127.0.0.1:9"),
                "{error}"
            );
            assert!(error.is_transient());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Client::builder("localhost:8000").service_name("x").build(),
        Err(ClientError::Config(_))
    ));
    assert!(matches!(
        Client::builder("http://h").build(),
        Err(ClientError::Config(_))
    ));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_heartbeat_keeps_a_service_healthy_and_stops_on_close_and_drop() {
    let server = server(0.8, "127.0.0.1:0").await;
    let url = server.url();
    let closed = client(&url, "closed")
        .metadata("build", 7)
        .auto_heartbeat(Duration::from_millis(150))
        .build()
        .unwrap();
    let dropped = client(&url, "dropped")
        .auto_heartbeat(Duration::from_millis(150))
        .build()
        .unwrap();
    let closed_id = closed.connect().await.unwrap();
    let dropped_id = dropped.connect().await.unwrap();
    let reader = client(&url, "reader").build().unwrap();

    // Three thresholds long, the auto-heartbeat keeps both healthy.
    tokio::time::sleep(Duration::from_millis(2400)).await;
    for id in [&closed_id, &dropped_id] {
        let service = reader.service(id).await.unwrap();
        assert_eq!(service.status, Status::Healthy, "{id}");
        assert!(
            service.events.len() >= 10,
            "{} heartbeats",
            service.events.len()
        );
    }
    assert_eq!(
        reader.service(&closed_id).await.unwrap().metadata["build"],
        7
    );

    // A status sent by hand is what the auto-heartbeat repeats.
    closed
        .send_heartbeat(Status::Busy, Some("crunching"), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let service = reader.service(&closed_id).await.unwrap();
    assert_eq!(service.status, Status::Busy);
    assert!(service
        .events
        .iter()
        .rev()
        .take(2)
        .all(|e| e.status == Status::Busy));

    closed.close().await;
    drop(dropped);
    for id in [&closed_id, &dropped_id] {
        let id = id.clone();
        let reader = reader.clone();
        eventually(
            Duration::from_secs(5),
            "goes stale once the heartbeats stop",
            || {
                let (reader, id) = (reader.clone(), id.clone());
                async move { reader.service(&id).await.unwrap().status == Status::Stale }
            },
        )
        .await;
    }
    let count = reader.service(&closed_id).await.unwrap().events.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        reader.service(&closed_id).await.unwrap().events.len(),
        count,
        "nothing more sent"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_heartbeat_rides_out_a_server_restart() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let first = server(60.0, &listen).await;
    let url = first.url();
    let client = client(&url, "survivor")
        .metadata("zone", "b")
        .auto_heartbeat(Duration::from_millis(100))
        .build()
        .unwrap();
    let id = client.connect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.shutdown().await.unwrap();
    // Down for a while: the heartbeats fail (and are logged), nothing stops.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let second = server(60.0, &listen).await; // a memory store: it forgot everything
    let reader = laneswap::client::Client::builder(&url)
        .service_name("r")
        .build()
        .unwrap();
    eventually(Duration::from_secs(5), "the service is back", || {
        let (reader, id) = (reader.clone(), id.clone());
        async move {
            reader.service(&id).await.is_ok_and(|service| {
                service.status == Status::Healthy && service.metadata["zone"] == "b"
            })
        }
    })
    .await;
    client.close().await;
    second.shutdown().await.unwrap();
}

#[test]
fn the_blocking_client_does_the_same_without_async() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(server(60.0, "127.0.0.1:0"));
    let url = server.url();
    let client = laneswap::client::blocking::Client::builder(url.as_str())
        .service_name("sync-service")
        .metadata("kind", "batch")
        .auto_heartbeat(Duration::from_millis(100))
        .build()
        .unwrap();
    let id = client.connect().unwrap();
    let service = client
        .send_heartbeat(Status::Busy, Some("working"), None)
        .unwrap();
    assert_eq!(service.status, Status::Busy);
    let mut progress = client.start_progress("batch", 3, None).unwrap();
    progress.set(2, None).unwrap();
    assert_eq!(progress.complete(None).unwrap().current_step, 3);
    std::thread::sleep(Duration::from_millis(350));
    let service = client.get_service().unwrap();
    assert!(
        service.events.len() >= 3,
        "auto-heartbeats arrived: {}",
        service.events.len()
    );
    assert_eq!(
        client.list_services().unwrap().services[&id].name,
        "sync-service"
    );
    client.close();
    drop(client);
    runtime.block_on(server.shutdown()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_sent() {
    use axum::http::HeaderMap;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = seen.clone();
    let app = axum::Router::new().route(
        "/api/services/{id}",
        axum::routing::get(move |headers: HeaderMap| {
            let recorder = recorder.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                recorder.lock().unwrap().push(auth);
                axum::Json(json!({"id": "a", "name": "n", "status": "healthy"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::builder(url)
        .service_id("a")
        .token("s3cret")
        .build()
        .unwrap();
    assert_eq!(client.get_service().await.unwrap().status, Status::Healthy);
    assert_eq!(seen.lock().unwrap().as_slice(), ["Bearer s3cret"]);
}
