//! Render benchmark: frames of the services screen with 10,000 services
//! into ratatui's TestBackend (no terminal I/O), plus the cost of taking a
//! new snapshot onto the screen (filter and sort of all rows).
//!
//!     cargo bench --bench render
//!
//! Prints the median and 99th percentile per frame over 500 frames.

use std::time::{Duration, Instant};

use std::sync::Arc;

use laneswap::core::{
    Core, CoreConfig, Heartbeat, NullJournal, Registration, Snapshot, Status, SystemClock,
};
use laneswap::tui::app::Msg;
use laneswap::tui::data::ServiceRow;
use laneswap::tui::fixtures;
use laneswap::tui::source::local::{build, take};
use laneswap::tui::source::Feed;
use laneswap::tui::view::render;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!(
        "{label}: median {median:?}, p99 {p99:?} ({} runs)",
        times.len()
    );
}

/// The local source's read of 10,000 services (under the core's lock).
fn local_read() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let core = Core::new(
        CoreConfig::default(),
        Snapshot::default(),
        Arc::new(NullJournal),
        Arc::new(SystemClock),
    );
    runtime.block_on(async {
        for i in 0..10_000 {
            let id = core
                .register(Registration {
                    service_id: Some(format!("svc-{i:05}")),
                    service_name: format!("service-{i:05}"),
                    metadata: Default::default(),
                    stale_threshold: None,
                })
                .await
                .expect("register");
            for _ in 0..3 {
                core.heartbeat(&id, Heartbeat::default())
                    .await
                    .expect("heartbeat");
            }
        }
    });
    let now = chrono::Utc::now();
    let (mut locked, mut built) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let started = Instant::now();
        let taken = core.read(|registry| take(registry, Some("svc-05000")));
        locked.push(started.elapsed());
        let started = Instant::now();
        let data = build(taken, now, 300.0);
        built.push(started.elapsed());
        assert_eq!(data.services.len(), 10_000);
        assert!(data.detail.is_some());
    }
    summary(
        "local source: copy 10,000 services out of the core (lock held)",
        locked,
    );
    summary(
        "local source: build the rows from the copy (no lock)",
        built,
    );
}

fn main() {
    local_read();
    let now = fixtures::now();
    let statuses = Status::ALL;
    let mut data = fixtures::dataset();
    data.services = (0..10_000)
        .map(|i| ServiceRow {
            id: format!("{i:08x}-service-id"),
            name: format!("service-{i:05}"),
            status: statuses[i % statuses.len()],
            last_heartbeat: Some(now - chrono::Duration::seconds((i % 500) as i64)),
            message: format!("message number {i} with some text"),
            paused: i % 97 == 0,
            progress: (i % 13 == 0).then_some((i % 100) as f64),
        })
        .collect();
    let mut app = fixtures::app("dark");

    let mut snapshot_times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        app.update(Msg::Feed(Feed::Data(Box::new(data.clone()))));
        snapshot_times.push(started.elapsed());
    }
    summary(
        "take a snapshot of 10,000 services (clone + sort)",
        snapshot_times,
    );

    let mut terminal = Terminal::new(TestBackend::new(160, 50)).expect("test backend");
    for (label, detail) in [("table only", false), ("table + detail pane", true)] {
        app.detail = detail;
        let mut frame_times: Vec<Duration> = Vec::new();
        for i in 0..520 {
            app.selected[0] = (app.selected[0] + 37) % 10_000;
            let started = Instant::now();
            terminal
                .draw(|frame| render(frame, &app, now))
                .expect("draw");
            if i >= 20 {
                frame_times.push(started.elapsed());
            }
        }
        summary(
            &format!("render, 10,000 services, 160x50, {label}"),
            frame_times,
        );
    }
}
