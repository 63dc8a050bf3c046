//! The real `laneswap` binary against a real server: every client
//! subcommand's table and `--json` output, exit codes, the unreachable
//! server's one-line message, completions and a snapshot of `--help`.

mod common;

use assert_cmd::Command;
use serde_json::Value;

/// Runs `laneswap ARGS` against `url`; returns (exit code, stdout, stderr).
fn laneswap(url: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("laneswap")
        .unwrap()
        .env("LANESWAP_API_URL", url)
        .env_remove("LANESWAP_TOKEN")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Runs a command that must succeed; returns its stdout.
fn ok(url: &str, args: &[&str]) -> String {
    let (code, out, err) = laneswap(url, args);
    assert_eq!(code, 0, "laneswap {args:?}: {err}");
    out
}

fn json_of(url: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(url, &all)).unwrap()
}

/// The header line and the line holding `needle`, split into columns.
fn row<'a>(table: &'a str, needle: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{table}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_commands() {
    let server = common::start_memory().await;
    let url = server.url();
    let url = url.as_str();

    assert_eq!(
        ok(
            url,
            &[
                "services",
                "register",
                "payments",
                "--id",
                "pay-1",
                "-m",
                "region=eu",
                "-m",
                "replicas=3"
            ]
        )
        .trim(),
        "pay-1"
    );
    let registered = json_of(url, &["services", "register", "search"]);
    let search = registered["service_id"].as_str().unwrap().to_string();
    assert_eq!(search.len(), 36);

    assert_eq!(
        ok(
            url,
            &[
                "services",
                "heartbeat",
                "pay-1",
                "--status",
                "error",
                "--message",
                "card gateway down",
                "-m",
                "queue=12"
            ]
        )
        .trim(),
        "payments: error"
    );
    let beat = json_of(url, &["services", "heartbeat", &search, "--status", "busy"]);
    assert_eq!(beat["status"], "busy");

    let table = ok(url, &["services", "list"]);
    assert_eq!(
        row(&table, "NAME"),
        ["NAME", "STATUS", "LAST HEARTBEAT", "MESSAGE", "ID"]
    );
    let payments = row(&table, "pay-1");
    assert_eq!(payments[..2], ["payments", "error"]);
    assert_eq!(payments[3..], ["card gateway down", "pay-1"]);
    assert!(
        table.lines().nth(1).unwrap().starts_with("payments"),
        "worst first:\n{table}"
    );
    assert!(
        table.trim_end().ends_with("2 services: 1 error, 1 busy"),
        "{table}"
    );

    let listing = json_of(url, &["services", "list"]);
    assert_eq!(listing["summary"]["total"], 2);
    assert_eq!(
        listing["services"]["pay-1"]["metadata"]["replicas"], 3,
        "typed metadata"
    );
    let only_error = json_of(url, &["services", "list", "--status", "error"]);
    assert_eq!(only_error["services"].as_object().unwrap().len(), 1);

    let details = ok(url, &["services", "get", "pay-1"]);
    assert!(details.contains("status          error"), "{details}");
    assert!(
        details.contains("metadata        region=eu replicas=3 queue=12"),
        "{details}"
    );
    assert!(details.contains("card gateway down"), "{details}");
    assert_eq!(
        json_of(url, &["services", "get", "pay-1"])["events"][0]["status"],
        "error"
    );

    let paused = ok(url, &["services", "pause", "pay-1", "--for", "30m"]);
    assert!(paused.starts_with("Paused payments until 20"), "{paused}");
    assert!(
        paused.contains("(in 29m") || paused.contains("(in 30m"),
        "{paused}"
    );
    assert_eq!(
        json_of(url, &["services", "list"])["services"]["pay-1"]["paused"],
        true
    );
    assert!(ok(url, &["services", "list"]).contains("error (paused)"));
    assert_eq!(
        ok(url, &["services", "resume", "pay-1"]).trim(),
        "Resumed payments"
    );
    assert!(ok(url, &["services", "pause", "pay-1"]).contains("until resumed"));

    assert_eq!(
        ok(url, &["services", "delete", &search]).trim(),
        format!("Deleted service {search}")
    );
    assert_eq!(json_of(url, &["services", "list"])["summary"]["total"], 1);

    // --json: the server's answer for every services subcommand.
    assert_eq!(
        json_of(url, &["services", "resume", "pay-1"])["paused"],
        false
    );
    let paused = json_of(url, &["services", "pause", "pay-1", "--for", "1h"]);
    assert_eq!(paused["paused"], true);
    assert!(paused["pause"]["until"].is_string());
    assert_eq!(
        json_of(url, &["services", "register", "x", "--id", "x-1"])["service_id"],
        "x-1"
    );
    let deleted = json_of(url, &["services", "delete", "x-1"]);
    assert_eq!(
        (deleted["service_id"].as_str(), deleted["deleted"].as_bool()),
        (Some("x-1"), Some(true))
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_alerts_and_webhooks_commands() {
    let server = common::start_memory().await;
    let url = server.url();
    let url = url.as_str();
    let http = common::Http::new(url);
    ok(url, &["services", "register", "reports", "--id", "rep-1"]);
    // A script starts a task (the id is all that is printed) and reports steps.
    let task_id = ok(
        url,
        &[
            "progress",
            "start",
            "rep-1",
            "render",
            "--steps",
            "10",
            "--description",
            "monthly",
        ],
    )
    .trim()
    .to_string();
    let stored = http.get(&format!("/api/progress/{task_id}")).await;
    assert_eq!(stored.status, 200, "{task_id}: {}", stored.text);
    assert_eq!(stored.body["description"], "monthly");
    let updated = ok(
        url,
        &[
            "progress", "update", &task_id, "--step", "4", "-m", "page 4",
        ],
    );
    assert_eq!(
        row(&updated, &task_id)[..4],
        ["rep-1", "render", "40%", "4/10"],
        "{updated}"
    );
    let (code, _, err) = laneswap(url, &["progress", "update", "no-such-task", "--step", "1"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");

    let tasks = ok(url, &["progress", "list"]);
    let line = row(&tasks, &task_id);
    assert_eq!(line[..4], ["rep-1", "render", "40%", "4/10"], "{tasks}");
    assert_eq!(
        json_of(url, &["progress", "list", "--service", "rep-1"])["total"],
        1
    );
    assert_eq!(
        json_of(url, &["progress", "list", "--service", "other"])["total"],
        0
    );
    let one = ok(url, &["progress", "get", &task_id]);
    assert!(one.contains("steps        4/10"), "{one}");
    assert_eq!(
        json_of(url, &["progress", "get", &task_id])["current_step"],
        4
    );
    let other = json_of(url, &["progress", "start", "rep-1", "sync", "--steps", "3"]);
    let other_id = other["task_id"].as_str().unwrap().to_string();
    let failed = json_of(
        url,
        &[
            "progress",
            "complete",
            &other_id,
            "--failed",
            "-m",
            "disk full",
        ],
    );
    assert_eq!(
        (failed["status"].as_str(), failed["message"].as_str()),
        (Some("failed"), Some("disk full"))
    );
    let done = ok(url, &["progress", "complete", &task_id]);
    assert_eq!(
        row(&done, &task_id)[..4],
        ["rep-1", "render", "100%", "10/10"],
        "{done}"
    );

    ok(
        url,
        &["services", "heartbeat", "rep-1", "--status", "error"],
    );
    let alerts = json_of(url, &["alerts", "list"]);
    let alert_id = alerts["alerts"][0]["id"].as_str().unwrap().to_string();
    let table = ok(url, &["alerts", "list"]);
    assert_eq!(row(&table, &alert_id)[1..4], ["open", "reports", "error"]);
    assert_eq!(
        ok(
            url,
            &[
                "alerts",
                "ack",
                &alert_id,
                "--note",
                "on it",
                "--expires",
                "2h"
            ]
        )
        .trim(),
        "Acknowledged the alert on reports"
    );
    let table = ok(url, &["alerts", "list"]);
    let acked = row(&table, &alert_id);
    assert_eq!(acked[1], "acknowledged");
    assert!(
        acked.last().unwrap().contains("on it (expires in 1h59m)"),
        "{table}"
    );
    assert_eq!(
        ok(url, &["alerts", "unack", &alert_id]).trim(),
        "The alert on reports is open again"
    );
    assert_eq!(
        json_of(url, &["alerts", "ack", &alert_id])["state"],
        "acknowledged"
    );
    assert_eq!(
        json_of(url, &["alerts", "unack", &alert_id])["state"],
        "open"
    );
    assert_eq!(
        json_of(url, &["alerts", "list", "--state", "open"])["total"],
        1
    );
    assert_eq!(
        json_of(url, &["alerts", "list", "--state", "resolved"])["total"],
        0
    );

    let id = ok(
        url,
        &[
            "webhooks",
            "add",
            "https://hooks.example.com/laneswap/secret-token",
            "--name",
            "pager",
            "--levels",
            "error,warning",
            "--services",
            "rep-1",
        ],
    );
    let id = id.trim().to_string();
    let table = ok(url, &["webhooks", "list"]);
    let channel = row(&table, &id);
    assert_eq!(channel[1..3], ["pager", "webhook"]);
    assert!(
        !table.contains("secret-token"),
        "the URL is shown redacted:\n{table}"
    );
    assert_eq!(
        channel[4..8],
        ["warning,error", "rep-1", "enabled", "never"]
    );
    let queued = ok(url, &["webhooks", "test", &id]);
    assert!(
        queued.starts_with("Test notification queued (delivery "),
        "{queued}"
    );
    assert_eq!(
        json_of(url, &["webhooks", "list"])["webhooks"][0]["id"],
        id.as_str()
    );
    assert_eq!(
        ok(url, &["webhooks", "remove", &id]).trim(),
        format!("Deleted webhook {id}")
    );
    assert_eq!(json_of(url, &["webhooks", "list"])["total"], 0);
    let added = json_of(
        url,
        &[
            "webhooks",
            "add",
            "https://discord.com/api/webhooks/1/tok",
            "--disabled",
        ],
    );
    assert_eq!(
        (added["kind"].as_str(), added["enabled"].as_bool()),
        (Some("discord"), Some(false))
    );
    let id = added["id"].as_str().unwrap();
    assert!(json_of(url, &["webhooks", "test", id])["delivery_id"].is_string());
    assert!(json_of(url, &["webhooks", "remove", id]).is_object());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_error_messages() {
    let server = common::start_memory().await;
    let url = server.url();
    let (code, out, err) = laneswap(&url, &["services", "get", "nope"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "laneswap: not found: Service not found: nope\n");

    let (code, _, err) = laneswap(&url, &["webhooks", "add", "ftp://nowhere"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("laneswap: invalid request: url: "), "{err}");

    // Unreachable: one clear line, exit 1.
    let (code, out, err) = laneswap("http://127.0.0.1:9", &["services", "list"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("laneswap: cannot reach laneswap at http://127.0.0.1:9: cannot connect"),
        "{err}"
    );
    let (code, _, err) = laneswap(
        &url,
        &["--api-url", "http://127.0.0.1:9/api", "alerts", "list"],
    );
    assert_eq!(code, 1, "the flag wins over the environment: {err}");

    // Usage: exit 2.
    for args in [
        &["services", "heartbeat", "x", "--status", "fine"][..],
        &["services"][..],
        &["nothing"][..],
        &["services", "pause", "x", "--for", "soon"][..],
    ] {
        let (code, _, err) = laneswap(&url, args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    let (code, _, err) = laneswap("localhost:8000", &["services", "list"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("laneswap: --api-url: the API URL must start with http://"),
        "{err}"
    );
    server.shutdown().await.unwrap();
}

#[test]
fn completions_and_help() {
    let (code, out, _) = laneswap("http://127.0.0.1:9", &["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("_laneswap()") && out.contains("heartbeat"),
        "a bash completion script"
    );
    let (code, out, _) = laneswap("http://127.0.0.1:9", &["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("#compdef laneswap"));

    // Without LANESWAP_API_URL set, so the help shows the defaults.
    let help = |args: &[&str]| {
        let output = Command::cargo_bin("laneswap")
            .unwrap()
            .env_remove("LANESWAP_API_URL")
            .env_remove("LANESWAP_TOKEN")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    insta::assert_snapshot!("laneswap_help", help(&["--help"]));
    insta::assert_snapshot!("laneswap_services_help", help(&["services", "--help"]));
    insta::assert_snapshot!(
        "laneswap_services_heartbeat_help",
        help(&["services", "heartbeat", "--help"])
    );
}
