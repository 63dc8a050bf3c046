//! A real MongoDB-protocol server for the tests: `secantusd-rs` (crates.io
//! `secantus-mdb`, see shared/spec/mongodb-testing.md). The first test that
//! needs it installs it into `$HOME/.cache/laneswap-tests/secantus` when it
//! is missing (about 7 minutes on 2 cores, once per machine; `cmake` is
//! installed with apt if absent), starts one server per test binary on a
//! free port, and leaves a watchdog that stops it when the test binary
//! exits. `LANESWAP_TEST_MONGOD` points at another binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CRATE: &str = "secantus-mdb";
const VERSION: &str = "0.5.3-beta.196";
const BINARY: &str = "secantusd-rs";

/// A running server: its connection string and process id.
#[derive(Debug)]
pub struct MongoServer {
    pub uri: String,
    pub pid: u32,
    pub storage: PathBuf,
}

fn cache_root() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache")
        .join("laneswap-tests")
}

/// The server binary, installed if need be (one installer at a time across
/// test binaries: a lock directory).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LANESWAP_TEST_MONGOD") {
        return PathBuf::from(path);
    }
    let root = cache_root().join("secantus");
    let binary = root.join("bin").join(BINARY);
    if binary.exists() {
        return binary;
    }
    std::fs::create_dir_all(cache_root()).unwrap();
    let lock = cache_root().join("secantus.lock");
    let started = Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        // Another test binary is installing it.
        if binary.exists() {
            return binary;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40 * 60),
            "gave up waiting for {}; remove it if no install is running",
            lock.display()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let result = std::panic::catch_unwind(|| install(&root));
    let _ = std::fs::remove_dir(&lock);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert!(binary.exists(), "{} was not installed", binary.display());
    binary
}

fn install(root: &Path) {
    if Command::new("cmake").arg("--version").output().is_err() {
        eprintln!("installing cmake (needed to build {CRATE})");
        let status = Command::new("apt-get")
            .args(["install", "-y", "-q", "cmake"])
            .status()
            .expect("apt-get");
        assert!(status.success(), "apt-get install cmake failed");
    }
    eprintln!(
        "building {CRATE} {VERSION} into {} (once per machine)",
        root.display()
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "install",
            CRATE,
            "--version",
            VERSION,
            "--locked",
            "--ignore-rust-version",
            "--root",
        ])
        .arg(root)
        .env("CARGO_TARGET_DIR", cache_root().join("secantus-target"))
        .status()
        .expect("cargo install");
    assert!(status.success(), "cargo install {CRATE} failed");
    let _ = std::fs::remove_dir_all(cache_root().join("secantus-target"));
}

/// Starts a server on a free port with its data in `storage`.
pub fn start_at(storage: &Path) -> MongoServer {
    start_on(storage, 0)
}

/// Starts a server on `port` (0: a free one) with its data in `storage`.
pub fn start_on(storage: &Path, port: u16) -> MongoServer {
    std::fs::create_dir_all(storage).unwrap();
    let mut child = Command::new(binary())
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
        ])
        .arg(storage)
        .args(["--cache-size", "256M", "--log-level", "WARNING"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start secantusd-rs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line from secantusd-rs").unwrap();
    let address = first
        .rsplit(' ')
        .next()
        .filter(|_| first.contains("listening on"))
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    // Keep reading its stdout so it never blocks on a full pipe, and reap
    // it when it ends.
    std::thread::spawn(move || for _ in lines {});
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    watchdog(pid);
    MongoServer {
        uri: format!("mongodb://{address}/?directConnection=true"),
        pid,
        storage: storage.to_path_buf(),
    }
}

/// Stops the server with SIGTERM and waits until it is gone.
pub fn stop(server: &MongoServer) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.pid.to_string()])
        .status();
    let started = Instant::now();
    while Path::new(&format!("/proc/{}", server.pid)).exists()
        && started.elapsed() < Duration::from_secs(10)
    {
        // A zombie (our child, not reaped) counts as gone.
        let state =
            std::fs::read_to_string(format!("/proc/{}/stat", server.pid)).unwrap_or_default();
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process that stops the server once this test binary has exited.
fn watchdog(server_pid: u32) {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill -TERM {server_pid} 2>/dev/null"
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The server shared by this test binary.
pub fn shared() -> &'static MongoServer {
    static SERVER: OnceLock<MongoServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        start_at(&dir)
    })
}

/// A database name no other test of this run uses.
pub fn fresh_database(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A location on the shared server: a fresh database and its own spool.
pub fn location(prefix: &str) -> laneswap::storage::mongo::MongoUri {
    let database = fresh_database(prefix);
    let spool = tempfile::tempdir().unwrap().keep().join("spool.jsonl");
    laneswap::storage::mongo::MongoUri {
        uri: shared().uri.clone(),
        database,
        spool: Some(spool),
        spool_max_bytes: laneswap::storage::mongo::DEFAULT_SPOOL_MAX_BYTES,
    }
}
