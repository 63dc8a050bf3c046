//! Runs `tests/python/original_clients.py` (aiohttp + requests, exactly the
//! original clients' requests) against a real server on 127.0.0.1:0.
//!
//! The Python environment is created on first use in `target/python-venv`
//! (or taken from `LANESWAP_TEST_PYTHON`); installing it needs PyPI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    if let Ok(python) = std::env::var("LANESWAP_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("python-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".laneswap-ready");
    if !ready.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is installed");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "aiohttp>=3.8",
                "requests>=2.28",
            ])
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install aiohttp requests failed");
        std::fs::write(&ready, "ok").unwrap();
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn original_python_clients_work_unchanged() {
    let python = python();
    let server = common::start_memory().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/original_clients.py");
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python).arg(script).arg(url).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "python clients failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    server.shutdown().await.unwrap();
}
