//! Fixed data for the snapshot tests, the screenshots and the render
//! benchmark: a small fleet with every status, alerts in every state, a
//! stalled task and a broken webhook, all relative to one moment.

use chrono::{DateTime, Duration, Utc};

use super::app::App;
use super::data::{
    AckRow, AlertRow, ChannelRow, Dataset, DeliveryRow, EventRow, ServiceDetail, ServiceRow,
    TaskRow,
};
use super::keymap::Keymap;
use super::source::Connection;
use super::theme::Theme;
use crate::core::Status;

/// The moment the fixtures are taken at: 2026-11-28 12:00:00 UTC.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default()
}

fn service(
    id: &str,
    name: &str,
    status: Status,
    seconds_ago: Option<i64>,
    message: &str,
) -> ServiceRow {
    ServiceRow {
        id: id.into(),
        name: name.into(),
        status,
        last_heartbeat: seconds_ago.map(|s| now() - Duration::seconds(s)),
        message: message.into(),
        paused: false,
        progress: None,
    }
}

fn task(id: &str, service_id: &str, name: &str, current: u64, total: u64) -> TaskRow {
    TaskRow {
        id: id.into(),
        service_id: service_id.into(),
        name: name.into(),
        status: "running".into(),
        current,
        total,
        percent: current as f64 / total as f64 * 100.0,
        rate_per_second: Some(2.5),
        eta_seconds: Some((total - current) as f64 / 2.5),
        stalled: false,
        finished: false,
        message: String::new(),
        updated_at: Some(now() - Duration::seconds(3)),
    }
}

/// The fleet.
pub fn dataset() -> Dataset {
    let now = now();
    let mut worker = service(
        "wrk-7",
        "image-worker",
        Status::Warning,
        Some(7300),
        "slow queue",
    );
    worker.paused = true;
    let mut reports = service(
        "rep-1",
        "nightly-reports",
        Status::Busy,
        Some(2),
        "rendering",
    );
    reports.progress = Some(62.0);
    let services = vec![
        service(
            "db-1",
            "database",
            Status::Error,
            Some(4),
            "disk full on /var/lib/db",
        ),
        service(
            "q-1",
            "queue",
            Status::Stale,
            Some(95),
            "No heartbeat received in 60 seconds",
        ),
        worker,
        service(
            "cache-1",
            "cache",
            Status::Degraded,
            Some(12),
            "evictions high",
        ),
        reports,
        service("new-1", "new-service", Status::Unknown, None, ""),
        service("api-1", "checkout-api", Status::Healthy, Some(1), "ok"),
        service("api-2", "search-api", Status::Healthy, Some(3), "ok"),
    ];
    let mut stalled = task("t-2", "rep-1", "archive-upload", 40, 400);
    stalled.stalled = true;
    stalled.rate_per_second = Some(0.05);
    stalled.eta_seconds = None;
    stalled.updated_at = Some(now - Duration::seconds(600));
    let mut done = task("t-3", "api-1", "warm-cache", 100, 100);
    done.status = "completed".into();
    done.finished = true;
    done.eta_seconds = None;
    let tasks = vec![task("t-1", "rep-1", "render-pdf", 620, 1000), stalled, done];
    let alerts = vec![
        AlertRow {
            id: "al-1".into(),
            service_id: "db-1".into(),
            service_name: "database".into(),
            state: "open".into(),
            status: Status::Error,
            opened_at: Some(now - Duration::seconds(180)),
            resolved_at: None,
            ack: None,
            reopened: 0,
        },
        AlertRow {
            id: "al-2".into(),
            service_id: "q-1".into(),
            service_name: "queue".into(),
            state: "acknowledged".into(),
            status: Status::Stale,
            opened_at: Some(now - Duration::seconds(3600)),
            resolved_at: None,
            ack: Some(AckRow {
                by: "ana".into(),
                note: "restarting the broker".into(),
                at: Some(now - Duration::seconds(300)),
                expires_at: Some(now + Duration::seconds(1500)),
            }),
            reopened: 1,
        },
        AlertRow {
            id: "al-0".into(),
            service_id: "api-1".into(),
            service_name: "checkout-api".into(),
            state: "resolved".into(),
            status: Status::Error,
            opened_at: Some(now - Duration::seconds(180_000)),
            resolved_at: Some(now - Duration::seconds(176_000)),
            ack: None,
            reopened: 0,
        },
    ];
    let channels = vec![
        ChannelRow {
            id: "ch-1".into(),
            name: "ops-discord".into(),
            kind: "discord".into(),
            url: "https://discord.com/api/v10/webhooks/1234/****".into(),
            levels: vec![],
            services: vec![],
            enabled: true,
            source: "environment".into(),
            broken: None,
            last_delivery: Some(DeliveryRow {
                state: "delivered".into(),
                at: Some(now - Duration::seconds(180)),
                http_status: Some(200),
                error: String::new(),
            }),
        },
        ChannelRow {
            id: "ch-2".into(),
            name: "pager-bridge".into(),
            kind: "webhook".into(),
            url: "https://hooks.example.com/****".into(),
            levels: vec!["error".into(), "warning".into()],
            services: vec!["db-1".into()],
            enabled: true,
            source: "api".into(),
            broken: Some("404 from the receiver".into()),
            last_delivery: Some(DeliveryRow {
                state: "failed".into(),
                at: Some(now - Duration::seconds(3600)),
                http_status: Some(404),
                error: "Not Found".into(),
            }),
        },
    ];
    let beats: Vec<u64> = vec![10, 10, 11, 10, 9, 10, 30, 10, 10, 12, 10, 10, 45, 10, 10];
    let events = (0..6)
        .map(|i| EventRow {
            at: now - Duration::seconds(4 + 10 * (5 - i)),
            status: if i >= 4 {
                Status::Error
            } else {
                Status::Healthy
            },
            message: if i >= 4 {
                "disk full on /var/lib/db".into()
            } else {
                "ok".into()
            },
        })
        .collect();
    Dataset {
        services,
        detail: Some(ServiceDetail {
            id: "db-1".into(),
            created_at: Some(now - Duration::seconds(86_400)),
            metadata: vec![
                ("region".into(), "eu-west-1".into()),
                ("version".into(), "15.4".into()),
                ("replicas".into(), "3".into()),
            ],
            events,
            intervals: beats,
            pause_until: None,
            stale_at: Some(now + Duration::seconds(56)),
        }),
        tasks,
        alerts: Some(alerts),
        channels: Some(channels),
        has_progress: true,
        store_degraded: None,
        taken_at: Some(now),
    }
}

/// An app showing [`dataset`] in local mode with the default keymap and
/// the named theme.
pub fn app(theme: &str) -> App {
    // Built-in files only: a user's overrides must not change the fixtures.
    let theme = super::theme::BUILTIN
        .iter()
        .find(|(name, _)| *name == theme)
        .and_then(|(name, text)| {
            Theme::from_source(&super::files::Source {
                file: (*name).to_string(),
                text: (*text).to_string(),
            })
            .ok()
        })
        .unwrap_or_default();
    let mut app = App::new(
        Keymap::builtin_default(),
        theme,
        Connection::Local {
            url: "http://127.0.0.1:8000".into(),
        },
    );
    app.log_file = Some("~/.local/state/laneswap/laneswap-term.log".into());
    app.update(super::app::Msg::Feed(super::source::Feed::Data(Box::new(
        dataset(),
    ))));
    app
}
