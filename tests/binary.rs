//! The real binaries: durability through SIGKILL, clean SIGTERM shutdown,
//! and start-up refusal of bad configuration.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Http;
use serde_json::json;

/// A running `laneswap server` child and the URL it listens on.
struct Running {
    child: Child,
    url: String,
}

fn command(bin: &str, args: &[&str]) -> Command {
    let mut command = Command::new(bin);
    command
        .args(args)
        .env_remove("LANESWAP_STORE")
        .env_remove("LANESWAP_MONGODB_URI")
        .env("LANESWAP_LOG_LEVEL", "info")
        .env("XDG_CONFIG_HOME", "/nonexistent-laneswap-test-config");
    command
}

/// Starts the server and waits for its "listening" log line.
fn start(store: &str) -> Running {
    spawn_listening(command(
        env!("CARGO_BIN_EXE_laneswap"),
        &["server", "--listen", "127.0.0.1:0", "--store", store],
    ))
}

/// Spawns a headless server and waits for its "listening" log line.
fn spawn_listening(mut command: Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn laneswap");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(rest) = line.split("addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap().to_string();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server reports its address");
    Running {
        child,
        url: format!("http://{addr}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("crash.db").display());
    let mut server = start(&store);
    let http = Arc::new(Http::new(server.url.clone()));

    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(http.register(&format!("svc-{i}")).await);
    }
    let task = http
        .post(
            "/api/progress",
            &json!({"service_id": ids[0], "task_name": "job", "total_steps": 100}),
        )
        .await;
    assert_eq!(task.status, 201);
    let task_id = task.body["task_id"].as_str().unwrap().to_string();
    assert_eq!(
        http.put(
            &format!("/api/progress/{task_id}"),
            &json!({"current_step": 42})
        )
        .await
        .status,
        200
    );

    // Eight writers heartbeat until the process is killed under them.
    let acked: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let http = http.clone();
        let acked = acked.clone();
        let ids = ids.clone();
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let id = &ids[(writer + n * 8) % ids.len()];
                let message = format!("w{writer}-n{n}");
                let sent = http
                    .client
                    .post(http.url(&format!("/api/services/{id}/heartbeat")))
                    .json(&json!({"status": "healthy", "message": message}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 200 => {
                        acked
                            .lock()
                            .unwrap()
                            .entry(id.clone())
                            .or_default()
                            .push(message);
                    }
                    _ => break,
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().values().map(Vec::len).sum::<usize>() < 2_000
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let total: usize = acked.values().map(Vec::len).sum();
    assert!(
        total >= 2_000,
        "only {total} heartbeats acknowledged before the kill"
    );

    let mut server = start(&store);
    let http = Http::new(server.url.clone());
    let list = http.get("/api/services").await;
    assert_eq!(list.body["summary"]["total"], 20);
    for (id, messages) in &acked {
        let history = http
            .get(&format!("/api/services/{id}/heartbeats?limit=10000"))
            .await;
        let stored: std::collections::HashSet<&str> = history.body["heartbeats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        for message in messages {
            assert!(
                stored.contains(message.as_str()),
                "acknowledged heartbeat {message} of {id} lost"
            );
        }
        let record = &list.body["services"][id];
        assert_eq!(record["status"], "healthy");
        assert!(record["last_heartbeat"].is_string());
    }
    let task = http.get(&format!("/api/progress/{task_id}")).await;
    assert_eq!(task.body["current_step"], 42);
    eprintln!("{total} acknowledged heartbeats, all found after SIGKILL and restart");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("term.db").display());
    let mut server = start(&store);
    let http = Http::new(server.url.clone());
    let id = http.register("svc").await;
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "degraded", "message": "slow"}),
    )
    .await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit status {status}");

    let mut server = start(&store);
    let http = Http::new(server.url.clone());
    let one = http.get(&format!("/api/services/{id}")).await;
    assert_eq!(one.body["status"], "degraded");
    assert_eq!(one.body["message"], "slow");
    assert_eq!(one.body["events"].as_array().unwrap().len(), 1);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// (environment, arguments, text the error must contain)
type ConfigCase = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
    &'static str,
);

#[test]
fn bad_configuration_is_refused_with_exit_code_2() {
    let cases: [ConfigCase; 6] = [
        (
            &[("LANESWAP_STALE_THRESHOLD", "soon")],
            &[],
            "invalid value for LANESWAP_STALE_THRESHOLD (from environment): \"soon\"",
        ),
        (&[("LANESWAP_PORT", "99999")], &[], "LANESWAP_PORT"),
        (&[], &["--listen", "nowhere"], "--listen"),
        (&[], &["--store", "postgres://x"], "--store"),
        (
            &[("LANESWAP_CHECK_INTERVAL", "-5")],
            &[],
            "LANESWAP_CHECK_INTERVAL",
        ),
        (
            &[("LANESWAP_DISCORD_WEBHOOK", "https://example.com/hook")],
            &[],
            "LANESWAP_DISCORD_WEBHOOK",
        ),
    ];
    for (env, args, expected) in cases {
        let mut all_args = vec!["server"];
        all_args.extend_from_slice(args);
        let mut cmd = command(env!("CARGO_BIN_EXE_laneswap"), &all_args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{env:?} {args:?}: {stderr}");
        assert!(stderr.contains(expected), "{env:?} {args:?}: {stderr}");
    }
    // A config file with an unknown key names the key.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "stale_treshold = 5\n").unwrap();
    let output = command(
        env!("CARGO_BIN_EXE_laneswap-term"),
        &["--no-ui", "--config", file.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown key \"stale_treshold\""));
}

/// `.env` in the working directory is read, below the real environment.
#[test]
fn dotenv_in_the_working_directory_is_a_layer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "LANESWAP_STALE_THRESHOLD=never\n").unwrap();
    let output = command(
        env!("CARGO_BIN_EXE_laneswap"),
        &["server", "--store", "memory:"],
    )
    .current_dir(dir.path())
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid value for LANESWAP_STALE_THRESHOLD (from .env): \"never\""),
        "{stderr}"
    );
    // The real environment wins over .env: the server starts.
    let mut child = command(
        env!("CARGO_BIN_EXE_laneswap"),
        &["server", "--store", "memory:", "--listen", "127.0.0.1:0"],
    )
    .current_dir(dir.path())
    .env("LANESWAP_STALE_THRESHOLD", "5")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server should be running"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Bad theme and keymap files are refused before the UI starts, naming the
/// file, the line and the reason; unknown names list what exists.
#[test]
fn bad_theme_and_keymap_files_are_refused_with_file_and_line() {
    let config = tempfile::tempdir().unwrap();
    let themes = config.path().join("laneswap/themes");
    let keymaps = config.path().join("laneswap/keymaps");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::create_dir_all(&keymaps).unwrap();
    std::fs::write(
        themes.join("mine.toml"),
        "inherits = \"dark\"\n[styles]\n\"status.stale\" = \"purplish\"\n",
    )
    .unwrap();
    std::fs::write(
        keymaps.join("mine.toml"),
        "[[bind]]\non = \"x\"\nrun = \"quit\"\n[[bind]]\non = \"x\"\nrun = \"help\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = command(env!("CARGO_BIN_EXE_laneswap-term"), args)
            .env("XDG_CONFIG_HOME", config.path())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let theme_file = themes.join("mine.toml").display().to_string();
    let (code, stderr) = run(&["--theme", "mine"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{theme_file}:3: bad colour `purplish`")),
        "{stderr}"
    );

    let keymap_file = keymaps.join("mine.toml").display().to_string();
    let (code, stderr) = run(&["--keymap", "mine"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{keymap_file}:5: key `x` is bound twice (first on line 2)"
        )),
        "{stderr}"
    );

    let (code, stderr) = run(&["--api-url", "localhost:8000"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("give the server's base URL, e.g. http://127.0.0.1:8000"),
        "{stderr}"
    );

    let (code, stderr) = run(&["--theme", "neon"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no theme named `neon` (available: dark, light, high-contrast, mine)"),
        "{stderr}"
    );

    // A user file named like a built-in patches it: still valid, so the
    // (non-terminal) run goes on headless; stop it at once.
    std::fs::write(
        themes.join("dark.toml"),
        "[styles]\n\"status.stale\" = \"#ff00ff\"\n",
    )
    .unwrap();
    let (code, stderr) = run(&["--theme", "dark", "--refresh", "0"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--refresh 0: give seconds between 0.2 and 3600"),
        "{stderr}"
    );
}

/// `--demo` without a terminal runs the simulated services headless, in
/// memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_simulated_services() {
    let mut running = spawn_listening(command(
        env!("CARGO_BIN_EXE_laneswap-term"),
        &["--no-ui", "--demo", "--listen", "127.0.0.1:0"],
    ));
    let http = Http::new(running.url.clone());
    let started = Instant::now();
    let listing = loop {
        let listing = http.get("/api/services").await.body;
        if listing["summary"]["total"] == 5
            && listing["services"]["demo-checkout"]["last_heartbeat"].is_string()
        {
            break listing;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{listing}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(listing["services"]["demo-cron"]["name"], "legacy-cron");
    let tasks = http.get("/api/progress").await.body;
    assert_eq!(tasks["tasks"][0]["task_name"], "render-monthly-pdfs");
    running.child.kill().unwrap();
    let _ = running.child.wait();
}
