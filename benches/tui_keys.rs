//! Typing under load: the real `laneswap-term` (release build) in a
//! pseudo-terminal with 10,000 services, first idle, then while 32
//! concurrent clients send heartbeats as fast as they can. Measures how
//! long each typed filter character takes to appear on the screen.
//!
//!     cargo bench --bench tui_keys
//!
//! Prints the key-to-screen latency (median, p99, max) in both phases and
//! the heartbeat rate reached during the loaded phase.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const SERVICES: usize = 10_000;
const CLIENTS: usize = 32;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

struct Screen(Arc<Mutex<vt100::Parser>>);

impl Screen {
    fn wait_for(&self, needle: &str, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self
                .0
                .lock()
                .expect("parser")
                .screen()
                .contents()
                .contains(needle)
            {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        None
    }
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label}: median {:?}, p99 {:?}, max {:?} ({} keys)",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times[times.len() - 1],
        times.len()
    );
}

/// Types `text` into the filter, one key at a time, timing each.
fn type_and_time(writer: &mut dyn Write, screen: &Screen, text: &str) -> Vec<Duration> {
    let mut times = Vec::new();
    writer.write_all(b"/").expect("key");
    writer.flush().expect("key");
    std::thread::sleep(Duration::from_millis(100));
    let mut typed = String::from("filter: ");
    for c in text.chars() {
        typed.push(c);
        let started = Instant::now();
        writer.write_all(c.to_string().as_bytes()).expect("key");
        writer.flush().expect("key");
        // The footer shows the filter as it is typed, after the slash.
        let shown = format!("/{}", &typed["filter: ".len()..]);
        if screen.wait_for(&shown, Duration::from_secs(5)).is_some() {
            times.push(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    writer.write_all(b"\x1b").expect("key"); // esc clears the filter
    writer.flush().expect("key");
    std::thread::sleep(Duration::from_millis(200));
    times
}

fn main() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let state = tempfile::tempdir().expect("temp dir");
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 140,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let binary = env!("CARGO_BIN_EXE_laneswap-term");
    let mut command = CommandBuilder::new(binary);
    command.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--store",
        "memory:",
    ]);
    command.env("XDG_STATE_HOME", state.path());
    command.env("XDG_CONFIG_HOME", state.path());
    command.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(command).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let mut writer = pty.master.take_writer().expect("writer");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZero::new(40).expect("rows"),
        std::num::NonZero::new(140).expect("cols"),
        0,
    )));
    let feeding = parser.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16384];
        while let Ok(read) = reader.read(&mut buffer) {
            if read == 0 {
                break;
            }
            feeding.lock().expect("parser").process(&buffer[..read]);
        }
    });
    let screen = Screen(parser);
    screen
        .wait_for("No services registered", Duration::from_secs(20))
        .expect("the UI starts");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    runtime.block_on(async {
        for i in 0..SERVICES {
            client
                .post(format!("{base}/api/services"))
                .json(&serde_json::json!({"service_name": format!("svc-{i:05}"), "service_id": format!("svc-{i:05}")}))
                .send()
                .await
                .expect("register");
        }
    });
    screen
        .wait_for(&format!("Services {SERVICES}"), Duration::from_secs(20))
        .expect("all services shown");

    let idle = type_and_time(&mut writer, &screen, "svc-0123");
    report("idle: key to screen", idle);

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let load = {
        let (stop, sent, client, base) = (stop.clone(), sent.clone(), client.clone(), base.clone());
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                for worker in 0..CLIENTS {
                    let (stop, sent, client, base) =
                        (stop.clone(), sent.clone(), client.clone(), base.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut i = worker;
                        while !stop.load(Ordering::Relaxed) {
                            let id = format!("svc-{:05}", i % SERVICES);
                            let body = serde_json::json!({"status": "healthy", "message": "ok"});
                            if client
                                .post(format!("{base}/api/services/{id}/heartbeat"))
                                .json(&body)
                                .send()
                                .await
                                .is_ok()
                            {
                                sent.fetch_add(1, Ordering::Relaxed);
                            }
                            i += CLIENTS;
                        }
                    }));
                }
                for task in tasks {
                    let _ = task.await;
                }
            })
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let before = sent.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut loaded = type_and_time(&mut writer, &screen, "svc-0456");
    loaded.extend(type_and_time(&mut writer, &screen, "svc-0789"));
    let rate = (sent.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = load.join();
    report(
        &format!("under load ({rate:.0} heartbeats/s from {CLIENTS} clients): key to screen"),
        loaded,
    );
    writer.write_all(b"q").expect("quit");
    writer.flush().expect("quit");
    let _ = child.wait();
}
