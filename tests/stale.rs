//! Stale detection under controlled time: tokio's clock is paused and the
//! core reads wall time through `TokioClock`, so advancing tokio time moves
//! the core's "now". The monitor must flip at the deadline, not a scan later.

mod common;

use common::advance;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use laneswap::core::{
    ChangeCause, Core, CoreConfig, CoreEvent, Heartbeat, Journal, Registration, Snapshot,
    StalePolicy, Status, TokioClock,
};
use laneswap::storage::memory::MemoryStore;
use laneswap::storage::{Retention, Store};
use tokio::sync::broadcast;

fn wall_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn config(threshold: f64) -> CoreConfig {
    CoreConfig {
        stale: StalePolicy {
            default_threshold_secs: threshold,
        },
        ..CoreConfig::default()
    }
}

/// A core on a tokio-driven clock with its monitor running; dropping the
/// returned sender stops the monitor (the "server" goes down).
fn core_with(
    config: CoreConfig,
    snapshot: Snapshot,
    journal: Arc<dyn Journal>,
) -> (
    Core,
    broadcast::Receiver<CoreEvent>,
    tokio::sync::oneshot::Sender<()>,
) {
    core_on_clock(
        TokioClock::starting_at(wall_start()),
        config,
        snapshot,
        journal,
    )
}

/// The same on a given clock (to share one clock across a restart).
fn core_on_clock(
    clock: TokioClock,
    config: CoreConfig,
    snapshot: Snapshot,
    journal: Arc<dyn Journal>,
) -> (
    Core,
    broadcast::Receiver<CoreEvent>,
    tokio::sync::oneshot::Sender<()>,
) {
    let core = Core::new(config, snapshot, journal, Arc::new(clock));
    let events = core.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(core.clone().run_monitor(async move {
        let _ = stopped.await;
    }));
    (core, events, stop)
}

fn registration(id: &str, threshold: Option<f64>) -> Registration {
    Registration {
        service_id: Some(id.to_string()),
        service_name: id.to_string(),
        stale_threshold: threshold,
        ..Registration::default()
    }
}

/// The stale flips seen so far: (service id, time of the flip).
fn stale_flips(events: &mut broadcast::Receiver<CoreEvent>) -> Vec<(String, DateTime<Utc>)> {
    let mut flips = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let CoreEvent::StatusChanged {
            service,
            to: Status::Stale,
            cause: ChangeCause::Deadline,
            at,
            ..
        } = event
        {
            flips.push((service.id, at));
        }
    }
    flips
}

#[tokio::test(start_paused = true)]
async fn flips_at_the_deadline_not_a_scan_later() {
    let (core, mut events, _monitor) = core_with(
        config(60.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("a", None)).await.unwrap();
    advance(Duration::from_secs(5)).await;
    core.heartbeat("a", Heartbeat::default()).await.unwrap();
    let heartbeat_at = core.service("a").unwrap().last_heartbeat.unwrap();

    advance(Duration::from_millis(59_990)).await;
    assert_eq!(
        core.service("a").unwrap().status,
        Status::Healthy,
        "10 ms before the deadline"
    );
    assert!(stale_flips(&mut events).is_empty());

    advance(Duration::from_millis(20)).await;
    let record = core.service("a").unwrap();
    assert_eq!(record.status, Status::Stale);
    assert_eq!(
        record.status_message.as_deref(),
        Some("No heartbeat received in 60 seconds")
    );
    let flips = stale_flips(&mut events);
    assert_eq!(flips.len(), 1);
    let late = flips[0].1 - (heartbeat_at + chrono::Duration::seconds(60));
    assert!(
        late >= chrono::Duration::zero() && late <= chrono::Duration::milliseconds(20),
        "flipped {late} after the deadline"
    );
    // Message, heartbeat time and metadata are untouched; an event records it.
    assert_eq!(record.last_heartbeat, Some(heartbeat_at));
    assert_eq!(record.events.newest().unwrap().status, Status::Stale);
}

#[tokio::test(start_paused = true)]
async fn per_service_threshold_overrides_the_global_one() {
    let (core, mut events, _monitor) = core_with(
        config(60.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("slow", None)).await.unwrap();
    core.register(registration("fast", Some(2.5)))
        .await
        .unwrap();
    core.heartbeat("slow", Heartbeat::default()).await.unwrap();
    core.heartbeat("fast", Heartbeat::default()).await.unwrap();
    advance(Duration::from_millis(2_510)).await;
    assert_eq!(core.service("fast").unwrap().status, Status::Stale);
    assert_eq!(
        core.service("fast").unwrap().status_message.as_deref(),
        Some("No heartbeat received in 2.5 seconds")
    );
    assert_eq!(core.service("slow").unwrap().status, Status::Healthy);
    assert_eq!(stale_flips(&mut events).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn never_heartbeated_services_go_stale_from_registration() {
    let (core, mut events, _monitor) = core_with(
        config(30.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("silent", None)).await.unwrap();
    advance(Duration::from_millis(29_990)).await;
    assert_eq!(core.service("silent").unwrap().status, Status::Unknown);
    advance(Duration::from_millis(20)).await;
    assert_eq!(core.service("silent").unwrap().status, Status::Stale);
    let flips = stale_flips(&mut events);
    assert_eq!(flips.len(), 1);
    assert_eq!(flips[0].0, "silent");
}

#[tokio::test(start_paused = true)]
async fn recovery_on_the_next_heartbeat_then_stale_again() {
    let (core, mut events, _monitor) = core_with(
        config(10.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("a", None)).await.unwrap();
    core.heartbeat(
        "a",
        Heartbeat {
            status: Status::Error,
            ..Heartbeat::default()
        },
    )
    .await
    .unwrap();
    advance(Duration::from_millis(10_010)).await;
    assert_eq!(core.service("a").unwrap().status, Status::Stale);
    let recovered = core.heartbeat("a", Heartbeat::default()).await.unwrap();
    assert_eq!(recovered.status, Status::Healthy);
    advance(Duration::from_millis(9_000)).await;
    assert_eq!(core.service("a").unwrap().status, Status::Healthy);
    advance(Duration::from_millis(1_010)).await;
    assert_eq!(core.service("a").unwrap().status, Status::Stale);
    assert_eq!(stale_flips(&mut events).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_client_sent_stale_is_never_reflagged() {
    let (core, mut events, _monitor) = core_with(
        config(1.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("a", None)).await.unwrap();
    core.heartbeat(
        "a",
        Heartbeat {
            status: Status::Stale,
            ..Heartbeat::default()
        },
    )
    .await
    .unwrap();
    advance(Duration::from_secs(5)).await;
    assert!(stale_flips(&mut events).is_empty());
}

#[tokio::test(start_paused = true)]
async fn many_services_flip_together_and_the_monitor_sleeps_between() {
    let (core, mut events, _monitor) = core_with(
        config(60.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    for i in 0..10_000 {
        core.register(registration(&format!("s{i}"), None))
            .await
            .unwrap();
    }
    advance(Duration::from_millis(59_990)).await;
    assert_eq!(
        core.read(|registry| registry.status_counts())[6],
        (Status::Unknown, 10_000)
    );
    advance(Duration::from_millis(20)).await;
    // More flips than the event buffer holds: a slow subscriber lags, and is told so.
    assert!(matches!(
        events.try_recv(),
        Err(broadcast::error::TryRecvError::Lagged(_))
    ));
    let counts = core.read(|registry| registry.status_counts());
    assert_eq!(counts[5], (Status::Stale, 10_000));
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_every_service_gets_one_fresh_threshold() {
    let store = Arc::new(MemoryStore::new(Retention::default()));
    let journal: Arc<dyn Journal> = store.clone();
    let clock = TokioClock::starting_at(wall_start());
    {
        let (core, _, monitor) =
            core_on_clock(clock, config(60.0), Snapshot::default(), journal.clone());
        core.register(registration("a", None)).await.unwrap();
        core.register(registration("b", None)).await.unwrap();
        core.heartbeat("a", Heartbeat::default()).await.unwrap();
        core.heartbeat("b", Heartbeat::default()).await.unwrap();
        // "b" goes quiet; "a" keeps beating until the server goes down at t=50 s.
        advance(Duration::from_secs(50)).await;
        core.heartbeat("a", Heartbeat::default()).await.unwrap();
        drop(monitor);
    }
    // Down for ten minutes: both are overdue by the time it comes back.
    advance(Duration::from_secs(600)).await;
    let snapshot = store.load().await.unwrap();
    let (core, mut events, _monitor) = core_on_clock(clock, config(60.0), snapshot, journal);
    assert_eq!(core.service("a").unwrap().status, Status::Healthy);
    advance(Duration::from_millis(59_990)).await;
    assert!(
        stale_flips(&mut events).is_empty(),
        "no flood right after the restart"
    );
    advance(Duration::from_millis(20)).await;
    let flips = stale_flips(&mut events);
    assert_eq!(flips.len(), 2, "one threshold later both are stale");
    // A service that heartbeats after the restart follows its own rhythm again.
    core.heartbeat("a", Heartbeat::default()).await.unwrap();
    advance(Duration::from_millis(60_010)).await;
    assert_eq!(stale_flips(&mut events).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_paused_service_never_goes_stale_and_gets_a_fresh_threshold_on_resume() {
    let (core, mut events, _monitor) = core_with(
        config(10.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("a", None)).await.unwrap();
    core.heartbeat("a", Heartbeat::default()).await.unwrap();
    advance(Duration::from_secs(5)).await;
    let paused = core.pause("a", None).await.unwrap();
    assert!(paused.pause.is_some());
    advance(Duration::from_secs(120)).await;
    assert_eq!(
        core.service("a").unwrap().status,
        Status::Healthy,
        "no flip while paused"
    );
    core.resume("a").await.unwrap();
    advance(Duration::from_millis(9_990)).await;
    assert!(
        stale_flips(&mut events).is_empty(),
        "a fresh threshold from the resume"
    );
    advance(Duration::from_millis(20)).await;
    assert_eq!(stale_flips(&mut events).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_pause_with_an_end_gives_a_fresh_threshold_from_the_end() {
    let (core, mut events, _monitor) = core_with(
        config(10.0),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    core.register(registration("a", None)).await.unwrap();
    let end = core.now() + chrono::Duration::seconds(60);
    core.pause("a", Some(end)).await.unwrap();
    advance(Duration::from_millis(69_990)).await;
    assert!(stale_flips(&mut events).is_empty());
    advance(Duration::from_millis(20)).await;
    let flips = stale_flips(&mut events);
    assert_eq!(flips.len(), 1);
    assert!(
        flips[0].1 - (end + chrono::Duration::seconds(10)) <= chrono::Duration::milliseconds(20)
    );
}
