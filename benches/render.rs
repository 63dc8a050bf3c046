//! Render benchmark: one frame of the services screen with 10,000 services
//! into ratatui's TestBackend (no terminal I/O).
//!
//!     cargo bench --bench render
//!
//! Prints the median and 99th percentile time per frame over 500 frames.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use laneswap::core::Status;
use laneswap::tui::app::{App, ServiceRow, View};
use laneswap::tui::view::render;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    let now: DateTime<Utc> = Utc::now();
    let statuses = Status::ALL;
    let rows: Vec<ServiceRow> = (0..10_000)
        .map(|i| ServiceRow {
            id: format!("{:08x}-service-id", i),
            name: format!("service-{i:05}"),
            status: statuses[i % statuses.len()],
            last_heartbeat: Some(now - chrono::Duration::seconds((i % 500) as i64)),
            message: format!("message number {i} with some text"),
            paused: i % 97 == 0,
        })
        .collect();
    let mut app = App {
        view: View {
            rows,
            counts: statuses
                .iter()
                .map(|s| (*s, 10_000 / statuses.len()))
                .collect(),
            taken_at: Some(now),
        },
        selected: 5_000,
        listen: "http://127.0.0.1:8000".into(),
        ..App::default()
    };
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).expect("test backend");
    let mut frame_times: Vec<Duration> = Vec::new();
    for i in 0..520 {
        app.selected = (app.selected + 37) % 10_000;
        let started = Instant::now();
        terminal
            .draw(|frame| render(frame, &app, now))
            .expect("draw");
        if i >= 20 {
            frame_times.push(started.elapsed());
        }
    }
    frame_times.sort();
    let median = frame_times[frame_times.len() / 2];
    let p99 = frame_times[frame_times.len() * 99 / 100];
    println!(
        "render, 10,000 services, 160x50: median {median:?} per frame, p99 {p99:?} ({} frames)",
        frame_times.len()
    );
}
