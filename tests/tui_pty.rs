//! End to end: the real `laneswap-term` in a pseudo-terminal, its screen
//! parsed with vt100, driven over HTTP and by keys; locally with the
//! embedded server, and remotely against a server in this process (with
//! its event stream) and against an original-style server without one.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Http;
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use serde_json::{json, Value};

const ROWS: u16 = 30;
const COLS: u16 = 120;

/// `laneswap-term` running in a pseudo-terminal.
struct Term {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    _dirs: tempfile::TempDir,
}

impl Term {
    fn start(args: &[&str]) -> Term {
        let dirs = tempfile::tempdir().unwrap();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_laneswap-term"));
        command.args(args);
        command.env("XDG_STATE_HOME", dirs.path());
        command.env("XDG_CONFIG_HOME", dirs.path());
        command.env("XDG_DATA_HOME", dirs.path());
        command.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(command).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(ROWS).unwrap(),
            std::num::NonZero::new(COLS).unwrap(),
            0,
        )));
        let raw: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (screen, bytes) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(read) = reader.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                screen.lock().unwrap().process(&buffer[..read]);
                bytes.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        });
        Term {
            parser,
            raw,
            writer,
            child,
            master: pty.master,
            _dirs: dirs,
        }
    }

    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).to_string()
    }

    /// Waits until the screen shows `needle`; returns the screen and how
    /// long it took.
    fn wait_for(&self, needle: &str) -> (String, Duration) {
        let started = Instant::now();
        loop {
            let text = self.text();
            if text.contains(needle) {
                return (text, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{needle:?} never appeared on:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
        // Let the UI read them as separate presses.
        std::thread::sleep(Duration::from_millis(60));
    }

    /// Foreground colour of the first cell showing `needle`.
    fn colour_of(&self, needle: &str) -> Option<vt100::Color> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        for row in 0..ROWS {
            let line = screen.contents_between(row, 0, row, COLS);
            if let Some(byte_index) = line.find(needle) {
                let column = line[..byte_index].chars().count() as u16;
                return screen.cell(row, column).map(|cell| cell.fgcolor());
            }
        }
        None
    }

    /// Resizes the terminal (the UI redraws at the new size).
    fn resize(&self, rows: u16, cols: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        self.parser.lock().unwrap().screen_mut().set_size(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
        );
    }

    /// Sends SIGTERM and checks the same clean exit as `q`.
    fn terminate(self) {
        let pid = self.child.process_id().unwrap();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success());
        self.wait_restored();
    }

    /// Presses `q` and waits for a clean exit; checks the terminal was
    /// given back (alternate screen left, cursor shown).
    fn quit(mut self) {
        self.keys("q");
        self.wait_restored();
    }

    fn wait_restored(mut self) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
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
        let raw = self.raw();
        assert!(
            raw.contains("\u{1b}[?1049h"),
            "entered the alternate screen"
        );
        let left = raw
            .rfind("\u{1b}[?1049l")
            .expect("left the alternate screen");
        assert!(left > raw.rfind("\u{1b}[?1049h").unwrap());
        assert!(
            raw[left..].contains("\u{1b}[?25h") || raw.contains("\u{1b}[?25h"),
            "cursor shown again"
        );
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
async fn local_mode_shows_counts_pauses_acknowledges_and_restores_the_terminal() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut term = Term::start(&["--listen", &listen, "--store", "memory:"]);
    term.wait_for("No services registered");
    term.wait_for("embedded server http://127.0.0.1");

    let http = Http::new(format!("http://{listen}"));
    let id = http.register("payments").await;
    term.wait_for("payments");
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "error", "message": "card gateway down"}),
    )
    .await;
    let (text, _) = term.wait_for("card gateway down");
    assert!(text.contains("✖ error"), "{text}");
    assert!(text.contains("Error 1"), "{text}");
    let colour = term.colour_of("✖ error");
    assert!(
        !matches!(colour, Some(vt100::Color::Default) | None),
        "the status is coloured: {colour:?}"
    );

    // SPACE freezes the display; data keeps flowing into the server.
    term.keys(" ");
    term.wait_for("PAUSED");
    http.register("late-arrival").await;
    std::thread::sleep(Duration::from_millis(700));
    assert!(!term.text().contains("late-arrival"));
    assert_eq!(http.get("/api/services").await.body["summary"]["total"], 2);
    term.keys(" ");
    term.wait_for("late-arrival");

    // Acknowledge the alert from the alerts view, with a note.
    term.keys("2");
    term.wait_for("● open");
    term.keys("a");
    term.wait_for("Acknowledge");
    term.keys("on it");
    term.keys("\t");
    term.keys("30m");
    term.keys("\r");
    term.wait_for("Acknowledged the alert on payments");
    let (text, _) = term.wait_for("\"on it\"");
    assert!(text.contains("acknowledged"), "{text}");
    let alerts = http.get("/api/alerts?state=active").await.body;
    assert_eq!(alerts["alerts"][0]["state"], "acknowledged");
    assert_eq!(alerts["alerts"][0]["ack"]["note"], "on it");
    assert!(alerts["alerts"][0]["ack"]["expires_at"].is_string());

    term.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_the_network_never_reach_the_terminal() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut term = Term::start(&["--listen", &listen, "--store", "memory:"]);
    term.wait_for("No services registered");
    let http = Http::new(format!("http://{listen}"));
    let hostile = "evil\u{1b}]0;pwned-title\u{7}\u{1b}[2J\u{1b}[31mname\u{9b}1;1H";
    let reply = http
        .post(
            "/api/services",
            &json!({"service_name": hostile, "metadata": {"k": "\u{1b}[5mblink"}}),
        )
        .await;
    let id = reply.body["service_id"].as_str().unwrap().to_string();
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "warning", "message": "msg\u{1b}[8mhidden\r\nline"}),
    )
    .await;
    let (text, _) = term.wait_for("msg[8mhidden");
    assert!(text.contains("evil]0;pwned-title[2J[31mn"), "{text}");
    term.keys("\r"); // the detail pane shows the whole name, metadata and events
    let (text, _) = term.wait_for("[5mblink");
    assert!(text.contains("evil]0;pwned-title[2J[31mname1;1H"), "{text}");
    let raw = term.raw();
    for injected in [
        "\u{1b}]0;pwned",
        "\u{1b}[2J\u{1b}[31mname",
        "\u{1b}[8mhidden",
        "\u{9b}1;1H",
        "\u{1b}[5mblink",
    ] {
        assert!(!raw.contains(injected), "{injected:?} reached the terminal");
    }
    // A resize redraws at the new size; SIGTERM ends the UI like `q`.
    term.resize(20, 90);
    let (text, _) = term.wait_for("? help");
    let last = text.lines().last().unwrap_or_default().to_string();
    assert!(
        last.contains("? help"),
        "the status bar is on the new last row: {text}"
    );
    assert_eq!(text.lines().count(), 20, "{text}");
    term.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_mode_follows_the_live_stream_and_acts_over_http() {
    let server = common::start_memory().await;
    let url = server.url();
    let http = Http::new(url.clone());
    let id = http.register("remote-worker").await;
    let mut term = Term::start(&["--api-url", &url]);
    term.wait_for("● live");
    term.wait_for("remote-worker");

    let started = Instant::now();
    http.post(
        &format!("/api/services/{id}/heartbeat"),
        &json!({"status": "error", "message": "remote failure"}),
    )
    .await;
    let (_, _) = term.wait_for("remote failure");
    let latency = started.elapsed();
    eprintln!("remote change on screen after {latency:?}");
    assert!(latency < Duration::from_secs(2), "took {latency:?}");

    // Actions go over HTTP: pause the service from the remote terminal.
    term.keys("p");
    term.wait_for("Paused remote-worker");
    let record = http.get(&format!("/api/services/{id}")).await;
    assert_eq!(record.status, 200);
    let listing = http.get("/api/services").await.body;
    assert_eq!(listing["services"][&id]["paused"], true);

    // The stream goes away with the server; the terminal says so.
    server.shutdown().await.unwrap();
    term.wait_for("unreachable");
    term.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_mode_sends_its_token_and_shows_refusals() {
    const READER: &str = "dashboard-token-0123456789";
    let mut settings = laneswap::config::Settings::with_store(laneswap::storage::StoreUri::Memory);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.api_tokens = laneswap::api::auth::TokenBook::parse(&format!(
        "dashboard:read:{READER},ops:admin:ops-token-0123456789"
    ))
    .unwrap();
    let server = laneswap::server::Server::start(&settings).await.unwrap();
    let url = server.url();
    let http = Http::new(url.clone());
    let registered = http
        .send(
            http.client
                .post(http.url("/api/services"))
                .bearer_auth("ops-token-0123456789")
                .json(&json!({"service_name": "guarded-worker"})),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);

    // Without a token the terminal says what to do.
    let anonymous = Term::start(&["--api-url", &url]);
    let (screen, _) = anonymous.wait_for("✖ refused");
    assert!(screen.contains("--token or LANESWAP_TOKEN"), "{screen}");
    anonymous.quit();

    // With a read token: live, the service shows; an admin action is refused
    // with the server's reason.
    let mut term = Term::start(&["--api-url", &url, "--token", READER]);
    term.wait_for("● live");
    term.wait_for("guarded-worker");
    term.keys("p");
    term.wait_for("needs admin");
    term.quit();
    server.shutdown().await.unwrap();
}

/// A stand-in for the original Python server: `GET /api/services` in the
/// original shape, nothing else (so no event stream).
async fn original_style_server(services: Arc<Mutex<Value>>) -> String {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/api/services",
        get(move || {
            let services = services.clone();
            async move { axum::Json(services.lock().unwrap().clone()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn original_record(id: &str, name: &str, status: &str, message: &str) -> Value {
    json!({
        "id": id, "name": name, "status": status,
        "created_at": "2026-11-28T12:35:27.475081+00:00",
        "last_heartbeat": "2026-11-28T12:40:49.144000",
        "last_message": null, "metadata": {}, "events": [],
        "status_message": message, "message": null,
        "updated_at": "2026-11-28T12:40:49.144000Z"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_mode_polls_a_server_without_the_stream() {
    let services = Arc::new(Mutex::new(json!({
        "services": {"o-1": original_record("o-1", "legacy-billing", "healthy", "Status updated to healthy")},
        "summary": {"total": 1}
    })));
    let url = original_style_server(services.clone()).await;
    let mut term = Term::start(&["--api-url", &url, "--refresh", "0.5", "--paused"]);
    term.wait_for("polling every");
    term.wait_for("PAUSED");
    // Started frozen: nothing is shown until SPACE.
    std::thread::sleep(Duration::from_millis(800));
    assert!(!term.text().contains("legacy-billing"));
    term.keys(" ");
    term.wait_for("legacy-billing");
    services.lock().unwrap()["services"]["o-2"] = original_record(
        "o-2",
        "legacy-search",
        "stale",
        "No heartbeat received in 60 seconds",
    );
    let (text, took) = term.wait_for("legacy-search");
    eprintln!("polled change on screen after {took:?}");
    assert!(text.contains("Stale 1"), "{text}");
    term.keys("2");
    term.wait_for("This server has no alerts API");
    term.keys("a");
    term.wait_for("This server has no alerts API");
    term.quit();
}
