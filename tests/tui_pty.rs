//! End to end: the real `laneswap-term` in a pseudo-terminal, its screen
//! parsed with vt100, driven over HTTP and by keys.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Http;
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use serde_json::json;

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `needle`.
    fn wait_for(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{needle:?} never appeared on:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_ui_shows_services_pauses_and_restores_the_terminal() {
    let state = tempfile::tempdir().unwrap();
    let port = free_port();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 110,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_laneswap-term"));
    command.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--store",
        "memory:",
    ]);
    command.env("XDG_STATE_HOME", state.path());
    command.env("XDG_CONFIG_HOME", state.path());
    command.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let screen = Screen {
        parser: Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(30).unwrap(),
            std::num::NonZero::new(110).unwrap(),
            0,
        ))),
        raw: Arc::default(),
    };
    let (parser, raw) = (screen.parser.clone(), screen.raw.clone());
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = reader.read(&mut buffer) {
            if read == 0 {
                break;
            }
            parser.lock().unwrap().process(&buffer[..read]);
            raw.lock().unwrap().extend_from_slice(&buffer[..read]);
        }
    });

    screen.wait_for("No services registered");
    let http = Http::new(format!("http://127.0.0.1:{port}"));
    let id = http.register("payments").await;
    screen.wait_for("payments");
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "error", "message": "card gateway down"}),
    )
    .await;
    let text = screen.wait_for("card gateway down");
    assert!(text.contains("✖ error"), "{text}");
    assert!(text.contains("Error 1"), "{text}");

    writer.write_all(b" ").unwrap();
    writer.flush().unwrap();
    screen.wait_for("PAUSED");
    // Frozen: a new service does not appear while paused...
    http.register("late-arrival").await;
    std::thread::sleep(Duration::from_millis(700));
    assert!(!screen.text().contains("late-arrival"));
    // ...and shows up once resumed.
    writer.write_all(b" ").unwrap();
    writer.flush().unwrap();
    screen.wait_for("late-arrival");

    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "laneswap-term did not quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    let raw = String::from_utf8_lossy(&screen.raw.lock().unwrap()).to_string();
    assert!(
        raw.contains("\u{1b}[?1049h"),
        "entered the alternate screen"
    );
    assert!(
        raw.contains("\u{1b}[?1049l"),
        "left the alternate screen: the terminal was restored"
    );
}
