//! Bearer tokens with roles, over real HTTP: open by default (the
//! original's behaviour), and with `LANESWAP_API_TOKENS` every request but
//! the public ones needs a token whose role covers it.

mod common;

use common::Http;
use laneswap::api::auth::TokenBook;
use laneswap::config::Settings;
use laneswap::server::Server;
use laneswap::storage::StoreUri;
use serde_json::json;

const READER: &str = "read-token-0123456789";
const SERVICE: &str = "ingest-token-0123456789";
const OPS: &str = "admin-token-0123456789";

async fn start_with_tokens() -> Server {
    let mut settings = Settings::with_store(StoreUri::Memory);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.api_tokens = TokenBook::parse(&format!(
        "dashboard:read:{READER}, payments-api:ingest:{SERVICE}, ops:admin:{OPS}"
    ))
    .unwrap();
    Server::start(&settings).await.expect("server starts")
}

/// Sends a request with an optional bearer token.
async fn call(
    http: &Http,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> common::Reply {
    let mut request = http.client.request(method, http.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    http.send(request).await
}

#[tokio::test]
async fn without_tokens_the_api_is_open_as_the_original() {
    let server = common::start_memory().await;
    let http = Http::new(server.url());
    let id = http.register("open").await;
    let reply = http
        .post(&format!("/api/services/{id}/heartbeat"), &json!({}))
        .await;
    assert_eq!(reply.status, 200);
    // A token sent to an open server is ignored.
    let reply = call(
        &http,
        reqwest::Method::DELETE,
        &format!("/api/services/{id}"),
        Some("anything-at-all-really"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn requests_need_a_token_whose_role_covers_them() {
    use reqwest::Method;
    let server = start_with_tokens().await;
    let http = Http::new(server.url());

    // Public: liveness and the API description.
    for path in ["/api/health", "/api"] {
        assert_eq!(
            call(&http, Method::GET, path, None, None).await.status,
            200,
            "{path}"
        );
    }
    // A CORS preflight needs no token.
    let preflight = http
        .send(
            http.client
                .request(Method::OPTIONS, http.url("/api/services"))
                .header("origin", "http://dash.example")
                .header("access-control-request-method", "POST"),
        )
        .await;
    assert_eq!(preflight.status, 200, "{}", preflight.text);

    // No token, a wrong token, a wrong scheme: 401 with the detail shape.
    let missing = call(&http, Method::GET, "/api/services", None, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body, json!({"detail": "Not authenticated"}));
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
    assert!(missing.content_type.starts_with("application/json"));
    let wrong = call(
        &http,
        Method::GET,
        "/api/services",
        Some("not-a-real-token-at-all"),
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body, json!({"detail": "Invalid token"}));
    let basic = http
        .send(
            http.client
                .get(http.url("/api/services"))
                .header("authorization", format!("Basic {OPS}")),
        )
        .await;
    assert_eq!(basic.status, 401);
    // 401 responses still carry CORS headers, so a browser can read them.
    let cors = http
        .send(
            http.client
                .get(http.url("/api/services"))
                .header("origin", "http://dash.example"),
        )
        .await;
    assert_eq!(cors.status, 401);
    assert!(cors.headers.contains_key("access-control-allow-origin"));

    // ingest: what a service does (register, heartbeat, progress) and reads.
    let registered = call(
        &http,
        Method::POST,
        "/api/services",
        Some(SERVICE),
        Some(json!({"service_name": "payments", "service_id": "pay-1"})),
    )
    .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let beat = call(
        &http,
        Method::POST,
        "/api/services/pay-1/heartbeat",
        Some(SERVICE),
        Some(json!({"status": "error", "message": "card processor down"})),
    )
    .await;
    assert_eq!(beat.status, 200);
    let task = call(
        &http,
        Method::POST,
        "/api/progress",
        Some(SERVICE),
        Some(json!({"service_id": "pay-1", "task_name": "settle", "total_steps": 2})),
    )
    .await;
    assert_eq!(task.status, 201, "{}", task.text);
    let task_id = task.body["task_id"].as_str().unwrap().to_string();
    for (path, body) in [
        (
            format!("/api/progress/{task_id}"),
            json!({"current_step": 1}),
        ),
        (format!("/api/progress/{task_id}/complete"), json!({})),
    ] {
        let reply = call(&http, Method::PUT, &path, Some(SERVICE), Some(body)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    assert_eq!(
        call(
            &http,
            Method::GET,
            "/api/services/pay-1",
            Some(SERVICE),
            None
        )
        .await
        .status,
        200
    );

    // Metrics need a token too (any role).
    assert_eq!(
        call(&http, Method::GET, "/metrics", None, None)
            .await
            .status,
        401
    );
    assert_eq!(
        call(&http, Method::GET, "/metrics", Some(READER), None)
            .await
            .status,
        200
    );

    // read: every GET, nothing else.
    for path in [
        "/api/services",
        "/api/services/pay-1",
        "/api/alerts",
        "/api/webhooks",
        "/api/progress",
    ] {
        assert_eq!(
            call(&http, Method::GET, path, Some(READER), None)
                .await
                .status,
            200,
            "{path}"
        );
    }
    let refused = call(
        &http,
        Method::POST,
        "/api/services/pay-1/heartbeat",
        Some(READER),
        Some(json!({})),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body,
        json!({"detail": "Token dashboard has the read role; this request needs ingest"})
    );

    // admin only: acknowledging, pausing, deleting, webhooks.
    let alerts = call(
        &http,
        Method::GET,
        "/api/alerts?state=open",
        Some(READER),
        None,
    )
    .await;
    let alert_id = alerts.body["alerts"][0]["id"].as_str().unwrap().to_string();
    let ack_path = format!("/api/alerts/{alert_id}/ack");
    let by_service = call(
        &http,
        Method::POST,
        &ack_path,
        Some(SERVICE),
        Some(json!({})),
    )
    .await;
    assert_eq!(by_service.status, 403);
    let acked = call(
        &http,
        Method::POST,
        &ack_path,
        Some(OPS),
        Some(json!({"note": "on it"})),
    )
    .await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    assert_eq!(
        acked.body["ack"]["by"], "ops",
        "an ack records the token's name: {}",
        acked.text
    );
    for (method, path) in [
        (Method::POST, "/api/services/pay-1/pause"),
        (Method::DELETE, "/api/services/pay-1"),
    ] {
        let reply = call(&http, method.clone(), path, Some(SERVICE), Some(json!({}))).await;
        assert_eq!(reply.status, 403, "{method} {path}");
    }
    let webhook = call(
        &http,
        Method::POST,
        "/api/webhooks",
        Some(SERVICE),
        Some(json!({"url": "http://127.0.0.1:9/hook"})),
    )
    .await;
    assert_eq!(webhook.status, 403);
    let deleted = call(
        &http,
        Method::DELETE,
        "/api/services/pay-1",
        Some(OPS),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_client_library_sends_its_token() {
    let server = start_with_tokens().await;
    let anonymous = laneswap::client::Client::builder(server.url())
        .service_name("no-token")
        .build()
        .unwrap();
    let refused = anonymous.connect().await.unwrap_err();
    assert!(
        matches!(
            refused,
            laneswap::client::ClientError::Status { status: 401, .. }
        ),
        "{refused:?}"
    );
    let client = laneswap::client::Client::builder(server.url())
        .service_name("with-token")
        .token(SERVICE)
        .build()
        .unwrap();
    client
        .connect()
        .await
        .expect("connects with an ingest token");
    client
        .send_heartbeat(laneswap::core::Status::Healthy, Some("ok"), None)
        .await
        .expect("heartbeat accepted");
    client.close().await;
    server.shutdown().await.unwrap();
}
