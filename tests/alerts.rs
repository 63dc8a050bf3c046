//! Alert lifecycle under controlled time (paused tokio clock driving the
//! core's wall clock), through the core handle and a memory store.

mod common;

use common::advance;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use laneswap::core::{
    AlertChange, AlertState, Core, CoreConfig, CoreEvent, Heartbeat, Journal, Registration,
    Snapshot, StalePolicy, Status, TokioClock,
};
use laneswap::storage::memory::MemoryStore;
use laneswap::storage::{Retention, Store};
use tokio::sync::broadcast;

fn start() -> TokioClock {
    TokioClock::starting_at(
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn config() -> CoreConfig {
    CoreConfig {
        stale: StalePolicy {
            default_threshold_secs: 30.0,
        },
        ..CoreConfig::default()
    }
}

fn core_on(
    clock: TokioClock,
    snapshot: Snapshot,
    journal: Arc<dyn Journal>,
) -> (Core, broadcast::Receiver<CoreEvent>) {
    let core = Core::new(config(), snapshot, journal, Arc::new(clock));
    let events = core.subscribe();
    tokio::spawn(core.clone().run_monitor(std::future::pending()));
    (core, events)
}

fn alert_changes(events: &mut broadcast::Receiver<CoreEvent>) -> Vec<(AlertChange, AlertState)> {
    let mut changes = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let CoreEvent::AlertChanged { change, alert } = event {
            changes.push((change, alert.state));
        }
    }
    changes
}

async fn register(core: &Core, id: &str) {
    core.register(Registration {
        service_id: Some(id.into()),
        service_name: id.into(),
        ..Registration::default()
    })
    .await
    .unwrap();
}

fn beat(status: Status) -> Heartbeat {
    Heartbeat {
        status,
        ..Heartbeat::default()
    }
}

#[tokio::test(start_paused = true)]
async fn error_and_stale_open_one_alert_and_recovery_resolves_it() {
    let (core, mut events) = core_on(
        start(),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    register(&core, "a").await;
    core.heartbeat("a", beat(Status::Error)).await.unwrap();
    assert_eq!(
        alert_changes(&mut events),
        [(AlertChange::Opened, AlertState::Open)]
    );
    core.heartbeat("a", beat(Status::Warning)).await.unwrap();
    assert_eq!(
        alert_changes(&mut events),
        [(AlertChange::Resolved, AlertState::Resolved)]
    );
    advance(Duration::from_millis(30_010)).await;
    assert_eq!(core.service("a").unwrap().status, Status::Stale);
    assert_eq!(
        alert_changes(&mut events),
        [(AlertChange::Opened, AlertState::Open)]
    );
    core.heartbeat("a", beat(Status::Error)).await.unwrap();
    assert_eq!(
        alert_changes(&mut events),
        [(AlertChange::Updated, AlertState::Open)],
        "still one alert"
    );
    core.heartbeat("a", beat(Status::Healthy)).await.unwrap();
    assert_eq!(
        alert_changes(&mut events),
        [(AlertChange::Resolved, AlertState::Resolved)]
    );
    assert_eq!(core.read(|r| r.alerts().iter().count()), 2);
}

#[tokio::test(start_paused = true)]
async fn an_acknowledgement_with_expiry_reopens_and_recovery_clears_it() {
    let (core, mut events) = core_on(
        start(),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    register(&core, "a").await;
    core.heartbeat("a", beat(Status::Error)).await.unwrap();
    let alert = core.read(|r| r.alerts().active_for("a").cloned()).unwrap();
    let expires = core.now() + chrono::Duration::seconds(20);
    let acked = core
        .acknowledge(
            &alert.id,
            "ana".into(),
            Some("looking".into()),
            Some(expires),
        )
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.ack.as_ref().unwrap().note.as_deref(), Some("looking"));
    alert_changes(&mut events);
    // Keep it beating with error so it does not go stale meanwhile.
    advance(Duration::from_secs(15)).await;
    core.heartbeat("a", beat(Status::Error)).await.unwrap();
    advance(Duration::from_millis(4_990)).await;
    assert!(alert_changes(&mut events).is_empty());
    advance(Duration::from_millis(20)).await;
    assert_eq!(
        alert_changes(&mut events),
        [(AlertChange::Reopened, AlertState::Open)]
    );
    let reopened = core.alert(&alert.id).unwrap();
    assert_eq!(reopened.reopened, 1);
    assert!(reopened.ack.is_none());

    core.acknowledge(&alert.id, "ana".into(), None, None)
        .await
        .unwrap();
    core.heartbeat("a", beat(Status::Healthy)).await.unwrap();
    let resolved = core.alert(&alert.id).unwrap();
    assert_eq!(resolved.state, AlertState::Resolved);
    assert!(resolved.ack.is_none(), "resolving clears the ack");
}

#[tokio::test(start_paused = true)]
async fn a_paused_service_opens_no_alert() {
    let (core, mut events) = core_on(
        start(),
        Snapshot::default(),
        Arc::new(laneswap::core::NullJournal),
    );
    register(&core, "a").await;
    core.pause("a", None).await.unwrap();
    core.heartbeat("a", beat(Status::Error)).await.unwrap();
    advance(Duration::from_secs(120)).await;
    assert!(alert_changes(&mut events).is_empty());
    assert!(core.read(|r| r.alerts().active_for("a").is_none()));
}

#[tokio::test(start_paused = true)]
async fn alerts_and_acks_survive_a_restart() {
    let store = Arc::new(MemoryStore::new(Retention::default()));
    let journal: Arc<dyn Journal> = store.clone();
    let clock = start();
    let alert_id = {
        let (core, _) = core_on(clock, Snapshot::default(), journal.clone());
        register(&core, "a").await;
        core.heartbeat("a", beat(Status::Error)).await.unwrap();
        let alert = core.read(|r| r.alerts().active_for("a").cloned()).unwrap();
        let expires = core.now() + chrono::Duration::seconds(600);
        core.acknowledge(
            &alert.id,
            "ana".into(),
            Some("db failover".into()),
            Some(expires),
        )
        .await
        .unwrap();
        alert.id
    };
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.alerts.len(), 1);
    let (core, mut events) = core_on(clock, snapshot, journal);
    let restored = core.alert(&alert_id).unwrap();
    assert_eq!(restored.state, AlertState::Acknowledged);
    assert_eq!(restored.ack.as_ref().unwrap().by, "ana");
    core.heartbeat("a", beat(Status::Error)).await.unwrap();
    advance(Duration::from_secs(601)).await;
    let changes = alert_changes(&mut events);
    assert!(
        changes.contains(&(AlertChange::Reopened, AlertState::Open)),
        "{changes:?}"
    );
}
