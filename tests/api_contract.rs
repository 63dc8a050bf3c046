//! The HTTP contract over real HTTP (server on 127.0.0.1:0): every endpoint,
//! every item of wire-api.md §13, exact status codes and body shapes.

mod common;

use common::{start_memory, Http};
use serde_json::{json, Value};

fn is_wire_time(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    // RFC 3339, exactly six fractional digits, UTC.
    text.len() == 32
        && text.ends_with("+00:00")
        && text.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

#[tokio::test]
async fn health_and_api_info() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let health = http.get("/api/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.content_type, "application/json");
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["service"], "LaneSwap API");
    assert!(is_wire_time(&health.body["timestamp"]), "{}", health.text);
    let info = http.get("/api").await;
    assert_eq!(info.status, 200);
    assert_eq!(
        info.body,
        json!({"name": "LaneSwap API", "version": "2.0.0", "status": "operational"})
    );
    assert_eq!(http.get("/health").await.status, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn register_generates_or_uses_ids_and_overwrites() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let reply = http
        .post(
            "/api/services",
            &json!({"service_name": "async-svc", "metadata": {}}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    let id = reply.body["service_id"].as_str().unwrap();
    assert_eq!(reply.body.as_object().unwrap().len(), 1, "only service_id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "uuid4 id: {id}");

    let own = http
        .post("/api/services", &json!({"service_id": "fixed", "service_name": "simple", "metadata": {"version": "1.0.0"}}))
        .await;
    assert_eq!(own.body, json!({"service_id": "fixed"}));
    let null_meta = http
        .post(
            "/api/services",
            &json!({"service_name": "n", "metadata": null}),
        )
        .await;
    assert_eq!(null_meta.status, 200);

    // Re-registering an id overwrites the record in place.
    http.post("/api/services/fixed/heartbeat", &json!({"status": "error"}))
        .await;
    http.post(
        "/api/services",
        &json!({"service_id": "fixed", "service_name": "renamed"}),
    )
    .await;
    let one = http.get("/api/services/fixed").await;
    assert_eq!(one.body["name"], "renamed");
    assert_eq!(one.body["status"], "unknown");
    assert_eq!(one.body["events"], json!([]));
    assert_eq!(one.body["metadata"], json!({}));
    let list = http.get("/api/services").await;
    let keys: Vec<&String> = list.body["services"].as_object().unwrap().keys().collect();
    assert_eq!(keys[1], "fixed", "keeps its position");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn register_validation_errors_are_fastapi_shaped() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let missing = http.post("/api/services", &json!({"metadata": {}})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body,
        json!({"detail": [{"type": "missing", "loc": ["body", "service_name"], "msg": "Field required", "input": {"metadata": {}}}]})
    );
    let wrong = http
        .post(
            "/api/services",
            &json!({"service_name": 5, "metadata": [1]}),
        )
        .await;
    assert_eq!(wrong.status, 422);
    let kinds: Vec<&str> = wrong.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["string_type", "dict_type"]);
    let no_body = http
        .post_raw("/api/services", Some("application/json"), "")
        .await;
    assert_eq!(
        no_body.body,
        json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
    );
    let malformed = http
        .post_raw("/api/services", Some("application/json"), "not json")
        .await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.body["detail"][0]["type"], "json_invalid");
    assert_eq!(malformed.body["detail"][0]["loc"], json!(["body", 0]));
    assert_eq!(
        malformed.body["detail"][0]["ctx"],
        json!({"error": "Expecting value"})
    );
    let form = http
        .post_raw("/api/services", Some("text/plain"), "service_name=x")
        .await;
    assert_eq!(form.status, 422);
    assert_eq!(form.body["detail"][0]["type"], "model_attributes_type");
    let array = http.post("/api/services", &json!([1])).await;
    assert_eq!(array.body["detail"][0]["type"], "model_attributes_type");

    // Oversized or unaddressable fields are named.
    let long_id = "x".repeat(300);
    let reply = http
        .post(
            "/api/services",
            &json!({"service_name": "a", "service_id": long_id}),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.body["detail"][0]["loc"],
        json!(["body", "service_id"])
    );
    assert_eq!(reply.body["detail"][0]["type"], "string_too_long");
    let slash = http
        .post(
            "/api/services",
            &json!({"service_name": "a", "service_id": "a/b"}),
        )
        .await;
    assert_eq!(slash.body["detail"][0]["type"], "string_pattern_mismatch");
    let long_name = http
        .post("/api/services", &json!({"service_name": "n".repeat(1000)}))
        .await;
    assert_eq!(
        long_name.body["detail"][0]["loc"],
        json!(["body", "service_name"])
    );
    let mut big = serde_json::Map::new();
    for i in 0..5000 {
        big.insert(format!("key-{i}"), json!("value value value"));
    }
    let big_meta = http
        .post(
            "/api/services",
            &json!({"service_name": "a", "metadata": big}),
        )
        .await;
    assert_eq!(big_meta.status, 422);
    assert_eq!(
        big_meta.body["detail"][0]["loc"],
        json!(["body", "metadata"])
    );
    let threshold = http
        .post(
            "/api/services",
            &json!({"service_name": "a", "stale_threshold": -1}),
        )
        .await;
    assert_eq!(
        threshold.body["detail"][0]["loc"],
        json!(["body", "stale_threshold"])
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_updates_and_answers_with_the_projection() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http
        .post(
            "/api/services",
            &json!({"service_name": "svc-a", "metadata": {"version": "1.0"}}),
        )
        .await
        .body["service_id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = http
        .post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"status": "warning", "message": "hello", "metadata": {"k": 1}}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "status",
            "message",
            "metadata",
            "created_at",
            "last_heartbeat",
            "events"
        ]
    );
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["status"], "warning");
    assert_eq!(reply.body["message"], "hello");
    assert_eq!(reply.body["metadata"], json!({"version": "1.0", "k": 1}));
    assert!(is_wire_time(&reply.body["created_at"]));
    assert!(is_wire_time(&reply.body["last_heartbeat"]));
    let event = &reply.body["events"][0];
    assert_eq!(event["type"], "heartbeat");
    assert_eq!(event["status"], "warning");
    assert_eq!(event["message"], "hello");
    assert!(is_wire_time(&event["timestamp"]));

    // No body, {} and null all mean a healthy heartbeat; message is cleared.
    for body in [None, Some("{}"), Some("null")] {
        let reply = match body {
            None => {
                http.send(
                    http.client
                        .post(http.url(&format!("/api/services/{id}/heartbeat"))),
                )
                .await
            }
            Some(text) => {
                http.post_raw(
                    &format!("/api/services/{id}/heartbeat"),
                    Some("application/json"),
                    text,
                )
                .await
            }
        };
        assert_eq!(reply.status, 200, "{body:?}: {}", reply.text);
        assert_eq!(reply.body["status"], "healthy");
        assert_eq!(reply.body["message"], Value::Null);
    }
    let record = &http.get("/api/services").await.body["services"][&id];
    assert_eq!(record["status_message"], "Status updated to healthy");
    assert_eq!(record["events"].as_array().unwrap().len(), 4);

    // ProgressTracker-style heartbeat.
    let busy = http
        .post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"status": "busy", "message": "Progress update: step 1", "metadata": {"execution_id": "e1", "progress": {"step": "step 1", "progress": 50.0}}}),
        )
        .await;
    assert_eq!(busy.status, 200);
    assert_eq!(busy.body["metadata"]["progress"]["progress"], 50.0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_errors_validate_before_lookup() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let unknown = http
        .post(
            "/api/services/nope/heartbeat",
            &json!({"status": "healthy"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body, json!({"detail": "Service not found: nope"}));
    for bad in [
        json!({"status": "HEALTHY"}),
        json!({"status": "critical"}),
        json!({"status": null}),
    ] {
        let reply = http.post("/api/services/nope/heartbeat", &bad).await;
        assert_eq!(reply.status, 422, "{bad}");
        assert_eq!(reply.body["detail"][0]["type"], "enum");
        assert_eq!(reply.body["detail"][0]["loc"], json!(["body", "status"]));
        assert_eq!(
            reply.body["detail"][0]["msg"],
            "Input should be 'healthy', 'warning', 'degraded', 'error', 'busy', 'stale' or 'unknown'"
        );
    }
    let wrong = http
        .post(
            "/api/services/nope/heartbeat",
            &json!({"message": 1, "metadata": "x"}),
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.body["detail"].as_array().unwrap().len(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn get_one_and_list_shapes() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let a = http.register("svc-a").await;
    let b = http.register("svc-b").await;
    http.post(
        &format!("/api/services/{a}/heartbeat"),
        &json!({"status": "busy"}),
    )
    .await;

    let one = http.get(&format!("/api/services/{b}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["status"], "unknown");
    assert_eq!(one.body["last_heartbeat"], Value::Null);
    assert_eq!(one.body["message"], Value::Null);
    let missing = http.get("/api/services/stale").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, json!({"detail": "Service not found: stale"}));

    let list = http.get("/api/services").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.content_type, "application/json");
    let services = list.body["services"].as_object().unwrap();
    let order: Vec<&String> = services.keys().collect();
    assert_eq!(order, [&a, &b], "keyed by id in registration order");
    let record = &services[&a];
    for key in [
        "id",
        "name",
        "status",
        "created_at",
        "last_heartbeat",
        "last_message",
        "metadata",
        "events",
        "status_message",
        "message",
        "updated_at",
    ] {
        assert!(record.get(key).is_some(), "missing {key}");
    }
    assert_eq!(record["status_message"], "Status updated to busy");
    assert!(is_wire_time(&record["updated_at"]));
    assert_eq!(
        list.body["summary"],
        json!({"total": 2, "status_counts": {"healthy": 0, "warning": 0, "degraded": 0, "error": 0, "busy": 1, "stale": 0, "unknown": 1}})
    );
    let keys: Vec<&String> = list.body["summary"]["status_counts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys,
        ["healthy", "warning", "degraded", "error", "busy", "stale", "unknown"]
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn delete_and_history() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("svc").await;
    for (i, status) in ["healthy", "warning", "error"].iter().enumerate() {
        http.post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"status": status, "message": format!("m{i}"), "metadata": {"i": i}}),
        )
        .await;
    }
    let history = http
        .get(&format!("/api/services/{id}/heartbeats?limit=2"))
        .await;
    assert_eq!(history.status, 200);
    let beats = history.body["heartbeats"].as_array().unwrap();
    assert_eq!(beats.len(), 2);
    assert_eq!(beats[0]["status"], "error", "newest first");
    assert_eq!(
        beats[0]["metadata"],
        json!({"i": 2}),
        "history keeps the sent metadata"
    );
    let since = beats[1]["timestamp"].as_str().unwrap();
    let after = http
        .get(&format!(
            "/api/services/{id}/heartbeats?since={}",
            since.replace('+', "%2B")
        ))
        .await;
    assert_eq!(after.body["heartbeats"].as_array().unwrap().len(), 1);
    assert_eq!(
        http.get(&format!("/api/services/{id}/heartbeats?limit=x"))
            .await
            .status,
        422
    );
    assert_eq!(
        http.get(&format!("/api/services/{id}/heartbeats?limit=0"))
            .await
            .status,
        422
    );
    assert_eq!(
        http.get(&format!("/api/services/{id}/heartbeats?since=yesterday"))
            .await
            .status,
        422
    );
    assert_eq!(http.get("/api/services/nope/heartbeats").await.status, 404);

    let deleted = http.delete(&format!("/api/services/{id}")).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, json!({"service_id": id, "deleted": true}));
    assert_eq!(http.get(&format!("/api/services/{id}")).await.status, 404);
    assert_eq!(
        http.delete(&format!("/api/services/{id}")).await.status,
        404
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn progress_task_api() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("worker").await;
    let start = http
        .post("/api/progress", &json!({"service_id": id, "task_name": "T", "total_steps": 10, "description": null, "metadata": {}}))
        .await;
    assert_eq!(start.status, 201, "{}", start.text);
    assert_eq!(start.content_type, "application/json");
    let task_id = start.body["task_id"].as_str().unwrap().to_string();
    assert_eq!(start.body["current_step"], 0);
    assert_eq!(start.body["status"], "running");
    assert_eq!(start.body["percent_complete"], 0.0);

    let update = http
        .put(
            &format!("/api/progress/{task_id}"),
            &json!({"service_id": id, "task_id": task_id, "current_step": 5, "status": "running", "message": null, "metadata": {"a": 1}}),
        )
        .await;
    assert_eq!(update.status, 200);
    assert_eq!(update.body["current_step"], 5);
    assert_eq!(update.body["percent_complete"], 50.0);
    assert_eq!(update.body["metadata"], json!({"a": 1}));
    assert_eq!(update.body["stalled"], false);

    let done = http
        .put(
            &format!("/api/progress/{task_id}/complete"),
            &json!({"service_id": id, "task_id": task_id, "status": "completed", "message": "done", "metadata": {}}),
        )
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(done.body["percent_complete"], 100.0);
    assert_eq!(done.body["message"], "done");
    assert!(is_wire_time(&done.body["completed_at"]));

    let list = http.get(&format!("/api/progress?service_id={id}")).await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(
        http.get(&format!("/api/progress/{task_id}")).await.body["task_id"],
        task_id.as_str()
    );
    assert_eq!(
        http.get("/api/progress?status=running").await.body["total"],
        0
    );

    // Errors: unknown ids, validation before lookup.
    let unknown = http
        .put("/api/progress/nope", &json!({"current_step": 1}))
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body, json!({"detail": "Task not found: nope"}));
    assert_eq!(
        http.put("/api/progress/nope", &json!({"current_step": "x"}))
            .await
            .status,
        422
    );
    assert_eq!(
        http.put("/api/progress/nope/complete", &json!({}))
            .await
            .status,
        404
    );
    let bad = http
        .post(
            "/api/progress",
            &json!({"service_id": id, "task_name": "T", "total_steps": 1.5}),
        )
        .await;
    assert_eq!(bad.body["detail"][0]["type"], "int_from_float");
    let missing = http.post("/api/progress", &json!({"service_id": id})).await;
    assert_eq!(missing.body["detail"].as_array().unwrap().len(), 2);
    let no_service = http
        .post(
            "/api/progress",
            &json!({"service_id": "ghost", "task_name": "T", "total_steps": 1}),
        )
        .await;
    assert_eq!(no_service.status, 404);

    assert_eq!(
        http.delete(&format!("/api/progress/{task_id}")).await.body,
        json!({"task_id": task_id, "deleted": true})
    );
    assert_eq!(
        http.get(&format!("/api/progress/{task_id}")).await.status,
        404
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn framework_behaviour_matches_the_original() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let unknown = http.get("/api/nothing").await;
    assert_eq!(
        (unknown.status, unknown.body.clone()),
        (404, json!({"detail": "Not Found"}))
    );
    assert_eq!(unknown.content_type, "application/json");
    let wrong_method = http.send(http.client.put(http.url("/api/services"))).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.body, json!({"detail": "Method Not Allowed"}));
    assert!(wrong_method.headers.get("allow").is_some());
    let slash = http.get("/api/services/").await;
    assert_eq!(slash.status, 307);
    assert_eq!(slash.headers["location"], "/api/services");
    assert_eq!(http.get("/api/nothing/").await.status, 404);

    let big = "x".repeat(2 * 1024 * 1024);
    let too_large = http
        .post_raw("/api/services", Some("application/json"), &big)
        .await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.content_type, "application/json");
    assert!(too_large.body["detail"]
        .as_str()
        .unwrap()
        .contains("too large"));

    // CORS as Starlette with allow_origins=["*"] and credentials.
    let simple = http
        .send(
            http.client
                .get(http.url("/api/health"))
                .header("origin", "http://dash:8080"),
        )
        .await;
    assert_eq!(simple.headers["access-control-allow-origin"], "*");
    assert_eq!(simple.headers["access-control-allow-credentials"], "true");
    let preflight = http
        .send(
            http.client
                .request(reqwest::Method::OPTIONS, http.url("/api/services"))
                .header("origin", "http://dash:8080")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type"),
        )
        .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.text, "OK");
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "http://dash:8080"
    );
    assert_eq!(
        preflight.headers["access-control-allow-methods"],
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    );
    assert_eq!(preflight.headers["access-control-max-age"], "600");
    assert_eq!(
        preflight.headers["access-control-allow-headers"],
        "content-type"
    );
    assert_eq!(preflight.headers["vary"], "Origin");
    server.shutdown().await.unwrap();
}

/// Hostile input never produces a 5xx or kills the server.
#[tokio::test]
async fn no_input_makes_the_server_fail() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("target").await;
    let bodies = [
        "",
        "{",
        "[]",
        "\"x\"",
        "1e999",
        "{\"status\": {}}",
        "{\"metadata\": {\"a\": [1, {\"b\": null}]}}",
        "{\"message\": \"\\u0000\\u001b[31m\"}",
        "\u{feff}{}",
        "{\"status\":\"healthy\",\"status\":\"error\"}",
        "{\"metadata\": 1e400}",
        "nul",
        "{\"service_name\": \"\\ud800\"}",
    ];
    for path in [
        "/api/services".to_string(),
        format!("/api/services/{id}/heartbeat"),
        "/api/progress".to_string(),
        "/api/progress/x".to_string(),
    ] {
        for body in bodies {
            for ct in [
                Some("application/json"),
                None,
                Some("application/x-www-form-urlencoded"),
            ] {
                let reply = http.post_raw(&path, ct, body).await;
                assert!(
                    reply.status < 500,
                    "{path} {body:?} {ct:?} -> {} {}",
                    reply.status,
                    reply.text
                );
                assert_eq!(reply.content_type, "application/json", "{path} {body:?}");
            }
        }
    }
    let deep = "[".repeat(10_000);
    assert!(
        http.post_raw("/api/services", Some("application/json"), &deep)
            .await
            .status
            < 500
    );
    let weird_paths = [
        "/api/services/%ff",
        "/api/services/..%2F..",
        "/api/services/%00/heartbeat",
        "/api/progress/%20",
    ];
    for path in weird_paths {
        let reply = http.get(path).await;
        assert!(reply.status < 500, "{path}: {}", reply.status);
    }
    assert_eq!(http.get("/api/health").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn heartbeat_replies_carry_the_configured_number_of_events() {
    // Default: all inline events, as the original.
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("svc").await;
    for _ in 0..3 {
        http.post(&format!("/api/services/{id}/heartbeat"), &json!({}))
            .await;
    }
    let reply = http
        .post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"message": "fourth"}),
        )
        .await;
    assert_eq!(reply.body["events"].as_array().unwrap().len(), 4);
    server.shutdown().await.unwrap();

    // Lowered: only the newest.
    let mut settings = laneswap::config::Settings::with_store(laneswap::storage::StoreUri::Memory);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.heartbeat_reply_events = 1;
    let server = laneswap::server::Server::start(&settings).await.unwrap();
    let http = Http::new(server.url());
    let id = http.register("svc").await;
    for _ in 0..3 {
        http.post(&format!("/api/services/{id}/heartbeat"), &json!({}))
            .await;
    }
    let reply = http
        .post(
            &format!("/api/services/{id}/heartbeat"),
            &json!({"message": "fourth"}),
        )
        .await;
    let events = reply.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message"], "fourth");
    assert_eq!(
        http.get(&format!("/api/services/{id}")).await.body["events"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    server.shutdown().await.unwrap();
}

/// A listing larger than one streamed chunk arrives whole and in order.
#[tokio::test]
async fn large_listings_stream_whole() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    for i in 0..1500 {
        let reply = http
            .post("/api/services", &json!({"service_id": format!("svc-{i:04}"), "service_name": format!("service {i}"), "metadata": {"i": i}}))
            .await;
        assert_eq!(reply.status, 200);
    }
    let list = http.get("/api/services").await;
    assert_eq!(list.status, 200);
    assert!(list.text.len() > 200 * 1024, "{} bytes", list.text.len());
    let services = list.body["services"].as_object().unwrap();
    assert_eq!(services.len(), 1500);
    assert_eq!(services.keys().next().unwrap(), "svc-0000");
    assert_eq!(services.keys().next_back().unwrap(), "svc-1499");
    assert_eq!(list.body["summary"]["total"], 1500);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn pause_and_resume() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("svc").await;
    let paused = http
        .post(
            &format!("/api/services/{id}/pause"),
            &json!({"for_seconds": 3600}),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.body["paused"], true);
    assert!(is_wire_time(&paused.body["pause"]["since"]));
    assert!(is_wire_time(&paused.body["pause"]["until"]));
    let time =
        |value: &Value| chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap();
    assert_eq!(
        time(&paused.body["stale_at"]) - time(&paused.body["pause"]["until"]),
        chrono::Duration::seconds(60),
        "one threshold after the pause ends"
    );
    let listed = &http.get("/api/services").await.body["services"][&id];
    assert_eq!(listed["paused"], true);

    let forever = http
        .send(
            http.client
                .post(http.url(&format!("/api/services/{id}/pause"))),
        )
        .await;
    assert_eq!(forever.status, 200);
    assert_eq!(forever.body["pause"]["until"], Value::Null);
    assert_eq!(
        forever.body["stale_at"],
        Value::Null,
        "no deadline while paused"
    );

    let resumed = http
        .send(
            http.client
                .post(http.url(&format!("/api/services/{id}/resume"))),
        )
        .await;
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.body["paused"], false);
    assert_eq!(resumed.body["pause"], Value::Null);
    assert!(is_wire_time(&resumed.body["stale_at"]));

    // Errors: validation first, then the lookup.
    let both = http
        .post(
            "/api/services/ghost/pause",
            &json!({"until": "2999-01-01T00:00:00Z", "for_seconds": 5}),
        )
        .await;
    assert_eq!(both.status, 422);
    assert_eq!(
        both.body["detail"][0]["loc"],
        json!(["body", "for_seconds"])
    );
    let past = http
        .post(
            &format!("/api/services/{id}/pause"),
            &json!({"until": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status, 422);
    let garbage = http
        .post(
            &format!("/api/services/{id}/pause"),
            &json!({"until": "soon"}),
        )
        .await;
    assert_eq!(garbage.body["detail"][0]["type"], "datetime_parsing");
    assert_eq!(
        http.post("/api/services/ghost/pause", &json!({}))
            .await
            .status,
        404
    );
    assert_eq!(
        http.send(http.client.post(http.url("/api/services/ghost/resume")))
            .await
            .status,
        404
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn alerts_api() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("db").await;
    assert_eq!(
        http.get("/api/alerts").await.body,
        json!({"total": 0, "alerts": []})
    );
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "error", "message": "down"}),
    )
    .await;
    let list = http.get("/api/alerts?state=open").await;
    assert_eq!(list.body["total"], 1);
    let alert = &list.body["alerts"][0];
    assert_eq!(alert["service_id"], id.as_str());
    assert_eq!(alert["service_name"], "db");
    assert_eq!(alert["state"], "open");
    assert_eq!(alert["status"], "error");
    assert!(is_wire_time(&alert["opened_at"]));
    let alert_id = alert["id"].as_str().unwrap().to_string();
    assert_eq!(
        http.get(&format!("/api/alerts/{alert_id}")).await.body["id"],
        alert_id.as_str()
    );

    let acked = http
        .post(
            &format!("/api/alerts/{alert_id}/ack"),
            &json!({"note": "restoring backup", "expires_in": 900, "by": "ana"}),
        )
        .await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    assert_eq!(acked.body["state"], "acknowledged");
    assert_eq!(acked.body["ack"]["by"], "ana");
    assert_eq!(acked.body["ack"]["note"], "restoring backup");
    assert!(is_wire_time(&acked.body["ack"]["expires_at"]));
    let default_by = http
        .post(&format!("/api/alerts/{alert_id}/ack"), &json!({}))
        .await;
    assert!(
        default_by.body["ack"]["by"]
            .as_str()
            .is_some_and(|by| !by.is_empty()),
        "the operator name"
    );
    assert_eq!(http.get("/api/alerts?state=active").await.body["total"], 1);

    let unacked = http
        .send(
            http.client
                .post(http.url(&format!("/api/alerts/{alert_id}/unack"))),
        )
        .await;
    assert_eq!(unacked.body["state"], "open");
    let again = http
        .send(
            http.client
                .post(http.url(&format!("/api/alerts/{alert_id}/unack"))),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        json!({"detail": format!("Alert {alert_id} is not acknowledged")})
    );

    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "healthy"}),
    )
    .await;
    let resolved = http.get(&format!("/api/alerts/{alert_id}")).await;
    assert_eq!(resolved.body["state"], "resolved");
    assert!(is_wire_time(&resolved.body["resolved_at"]));
    assert_eq!(
        http.post(&format!("/api/alerts/{alert_id}/ack"), &json!({}))
            .await
            .status,
        409
    );

    // Errors.
    assert_eq!(http.get("/api/alerts?state=loud").await.status, 422);
    assert_eq!(
        http.get("/api/alerts/nope").await.body,
        json!({"detail": "Alert not found: nope"})
    );
    assert_eq!(
        http.post("/api/alerts/nope/ack", &json!({})).await.status,
        404
    );
    assert_eq!(
        http.post("/api/alerts/nope/ack", &json!({"expires_in": -5}))
            .await
            .status,
        422
    );
    // Deleting the service deletes its alerts.
    http.delete(&format!("/api/services/{id}")).await;
    assert_eq!(http.get("/api/alerts").await.body["total"], 0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn webhook_channels_api_keeps_secrets_redacted() {
    let mut settings = laneswap::config::Settings::with_store(laneswap::storage::StoreUri::Memory);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.discord_webhook = Some("https://discord.com/api/v10/webhooks/42/env-secret".into());
    let server = laneswap::server::Server::start(&settings).await.unwrap();
    let http = Http::new(server.url());

    let discord = http
        .post(
            "/api/webhooks",
            &json!({"url": "https://discord.com/api/webhooks/123/top-secret", "name": "ops"}),
        )
        .await;
    assert_eq!(discord.status, 201, "{}", discord.text);
    assert_eq!(discord.body["kind"], "discord");
    assert_eq!(discord.body["url"], "https://discord.com/api/v10/****");
    assert_eq!(discord.body["enabled"], true);
    assert_eq!(discord.body["source"], "api");
    let discord_id = discord.body["id"].as_str().unwrap().to_string();

    let generic = http
        .post(
            "/api/webhooks",
            &json!({"url": "http://127.0.0.1:9/in/hook-secret", "kind": "webhook", "levels": ["error", "warning"], "services": ["db"]}),
        )
        .await;
    assert_eq!(generic.status, 201);
    assert_eq!(generic.body["levels"], json!(["warning", "error"]));
    assert_eq!(generic.body["services"], json!(["db"]));
    assert_eq!(generic.body["url"], "http://127.0.0.1:9/in/****");
    let generic_id = generic.body["id"].as_str().unwrap().to_string();

    let list = http.get("/api/webhooks").await;
    assert_eq!(list.body["total"], 3);
    assert_eq!(list.body["webhooks"][0]["source"], "environment");
    assert!(
        !list.text.contains("top-secret")
            && !list.text.contains("env-secret")
            && !list.text.contains("hook-secret"),
        "{}",
        list.text
    );

    let updated = http
        .put(
            &format!("/api/webhooks/{generic_id}"),
            &json!({"enabled": false, "levels": []}),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["enabled"], false);
    assert_eq!(updated.body["levels"], json!([]));
    assert_eq!(
        http.get(&format!("/api/webhooks/{discord_id}")).await.body["name"],
        "ops"
    );

    // Validation and read-only channels.
    let bad_url = http
        .post("/api/webhooks", &json!({"url": "ftp://x/y"}))
        .await;
    assert_eq!(bad_url.status, 422);
    assert_eq!(bad_url.body["detail"][0]["loc"], json!(["body", "url"]));
    let bad_discord = http
        .post(
            "/api/webhooks",
            &json!({"url": "https://example.com/x", "kind": "discord"}),
        )
        .await;
    assert_eq!(bad_discord.status, 422);
    assert_eq!(
        http.post(
            "/api/webhooks",
            &json!({"url": "http://h/x", "levels": ["loud"]})
        )
        .await
        .status,
        422
    );
    assert_eq!(
        http.post(
            "/api/webhooks",
            &json!({"url": "http://h/x", "kind": "pager"})
        )
        .await
        .status,
        422
    );
    assert_eq!(http.post("/api/webhooks", &json!({})).await.status, 422);
    assert_eq!(
        http.put("/api/webhooks/default", &json!({"enabled": false}))
            .await
            .status,
        409
    );
    assert_eq!(http.delete("/api/webhooks/default").await.status, 409);
    assert_eq!(
        http.get("/api/webhooks/nope").await.body,
        json!({"detail": "Webhook not found: nope"})
    );

    assert_eq!(
        http.delete(&format!("/api/webhooks/{generic_id}"))
            .await
            .body,
        json!({"id": generic_id, "deleted": true})
    );
    assert_eq!(http.get("/api/webhooks").await.body["total"], 2);
    server.shutdown().await.unwrap();
}

/// The live event stream: server-sent events of the core's events.
#[tokio::test]
async fn event_stream_sends_core_events() {
    let server = start_memory().await;
    let http = Http::new(server.url());
    let mut response = http
        .client
        .get(http.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: hello"));
    let id = http.register("streamed").await;
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "error"}),
    )
    .await;
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !text.contains("event: alert_changed") && std::time::Instant::now() < deadline {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), response.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    for name in [
        "service_registered",
        "status_changed",
        "heartbeat",
        "alert_changed",
    ] {
        assert!(
            text.contains(&format!("event: {name}")),
            "{name} missing in {text}"
        );
    }
    let registered = text
        .split("\n\n")
        .find(|block| block.contains("event: service_registered"))
        .unwrap();
    let data = registered
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let event: Value = serde_json::from_str(data).unwrap();
    assert_eq!(event["type"], "service_registered");
    assert_eq!(event["service"]["name"], "streamed");
    // An open stream does not hold up a graceful shutdown; the stream ends.
    tokio::time::timeout(std::time::Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown with a client on the event stream")
        .unwrap();
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(_)) = response.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream ended");
}
