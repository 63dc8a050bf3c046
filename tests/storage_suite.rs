//! One storage behaviour suite, run unchanged against every backend.
//! Each backend gets a `mod` that opens a fresh store and calls the suite:
//! memory, the embedded SQLite store, and MongoDB on a real
//! MongoDB-protocol server (started for this test binary).

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use laneswap::core::model::{EventKind, EVENTS_IN_RECORD};
use laneswap::core::{Change, HistoryEvent, Metadata, ProgressTask, ServiceState, Status};
use laneswap::storage::{HistoryQuery, Retention, Store};
use serde_json::json;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 123_456_000).unwrap()
}

fn state(id: &str, name: &str, created: i64) -> ServiceState {
    ServiceState {
        id: id.into(),
        name: name.into(),
        status: Status::Unknown,
        message: None,
        status_message: None,
        metadata: json!({"v": 1, "nested": {"x": [1, 2]}})
            .as_object()
            .cloned()
            .unwrap()
            .into(),
        created_at: at(created),
        last_heartbeat: None,
        updated_at: None,
        stale_threshold: None,
        pause: None,
    }
}

fn beat(secs: i64, status: Status, message: &str) -> HistoryEvent {
    HistoryEvent {
        kind: EventKind::Heartbeat,
        timestamp: at(secs),
        status,
        message: message.into(),
        metadata: Some(json!({"at": secs}).as_object().cloned().unwrap()),
    }
}

fn task(id: &str, service: &str) -> ProgressTask {
    ProgressTask {
        task_id: id.into(),
        service_id: service.into(),
        task_name: "t".into(),
        description: Some("d".into()),
        total_steps: 10,
        current_step: 3,
        status: "running".into(),
        message: None,
        metadata: Metadata::new(),
        created_at: at(0),
        updated_at: at(1),
        step_changed_at: at(1),
        completed_at: None,
    }
}

/// A heartbeat or stale event of service `id`, with the state it leads to
/// (replayed onto a fresh registration, so every store sees a real state).
fn record(id: &str, event: HistoryEvent) -> Change {
    let mut after = state(id, id, 0);
    after.replay(&event, Some(format!("reported {}", event.message)));
    Change::RecordEvent {
        state: after,
        event,
    }
}

async fn commit(store: &Arc<dyn Store>, changes: Vec<Change>) {
    store.submit(changes).wait().await.expect("commit");
}

/// Services round-trip in listing order; overwrites keep their position.
pub async fn services_round_trip(store: Arc<dyn Store>) {
    commit(
        &store,
        vec![
            Change::PutService(state("a", "first", 0)),
            Change::PutService(state("b", "second", 0)),
        ],
    )
    .await;
    let mut updated = state("a", "renamed", 5);
    updated.status = Status::Warning;
    updated.message = Some("m".into());
    updated.status_message = Some("m".into());
    updated.last_heartbeat = Some(at(6));
    updated.updated_at = Some(at(6));
    updated.stale_threshold = Some(2.5);
    updated.pause = Some(laneswap::core::model::Pause {
        since: at(7),
        until: Some(at(70)),
    });
    commit(&store, vec![Change::PutService(updated.clone())]).await;
    let snapshot = store.load().await.unwrap();
    let ids: Vec<&str> = snapshot.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let a = &snapshot.services[0];
    assert_eq!(a.name, "renamed");
    assert_eq!(a.status, Status::Warning);
    assert_eq!(a.message.as_deref(), Some("m"));
    assert_eq!(a.last_heartbeat, Some(at(6)));
    assert_eq!(a.created_at, at(5), "microsecond precision survives");
    assert_eq!(a.stale_threshold, Some(2.5));
    assert_eq!(a.pause, updated.pause);
    assert_eq!(snapshot.services[1].pause, None);
    assert_eq!(a.metadata, updated.metadata);
}

/// The state after events is what a load returns, even when the backend
/// writes rows lazily: the events are replayed onto the last stored row.
pub async fn states_follow_recorded_events(store: Arc<dyn Store>) {
    commit(
        &store,
        vec![
            Change::PutService(state("a", "a", 0)),
            Change::PutService(state("b", "b", 0)),
        ],
    )
    .await;
    let mut current = state("a", "a", 0);
    let mut changes = Vec::new();
    for (i, status) in [Status::Healthy, Status::Warning, Status::Error]
        .into_iter()
        .enumerate()
    {
        let mut event = beat(10 + i as i64, status, &format!("m{i}"));
        event.metadata = Some(json!({ format!("k{i}"): i }).as_object().cloned().unwrap());
        current.replay(&event, if i == 1 { None } else { Some(format!("m{i}")) });
        changes.push(Change::RecordEvent {
            state: current.clone(),
            event,
        });
    }
    let stale = HistoryEvent {
        kind: EventKind::Stale,
        timestamp: at(100),
        status: Status::Stale,
        message: "No heartbeat received in 60 seconds".into(),
        metadata: None,
    };
    current.replay(&stale, None);
    changes.push(Change::RecordEvent {
        state: current.clone(),
        event: stale,
    });
    commit(&store, changes).await;
    let snapshot = store.load().await.unwrap();
    let a = &snapshot.services[0];
    assert_eq!(a.status, Status::Stale);
    assert_eq!(
        a.status_message.as_deref(),
        Some("No heartbeat received in 60 seconds")
    );
    assert_eq!(
        a.message.as_deref(),
        Some("m2"),
        "the last heartbeat's message"
    );
    assert_eq!(a.last_heartbeat, Some(at(12)));
    assert_eq!(a.metadata, current.metadata);
    assert_eq!(a.events.len(), 4);
    assert_eq!(snapshot.services[1].status, Status::Unknown);
}

/// History: newest first, limit, since, metadata kept; the snapshot carries
/// the newest events of the current registration only, without metadata.
pub async fn history_queries(store: Arc<dyn Store>) {
    commit(&store, vec![Change::PutService(state("a", "a", 0))]).await;
    let mut changes = Vec::new();
    for i in 0..150 {
        changes.push(record("a", beat(i, Status::Healthy, &format!("m{i}"))));
    }
    commit(&store, changes).await;
    let newest = store
        .history(
            "a",
            HistoryQuery {
                limit: 3,
                since: None,
            },
        )
        .await
        .unwrap();
    let messages: Vec<&str> = newest.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["m149", "m148", "m147"]);
    assert_eq!(
        newest[0].metadata,
        Some(json!({"at": 149}).as_object().cloned().unwrap())
    );
    let since = store
        .history(
            "a",
            HistoryQuery {
                limit: 1000,
                since: Some(at(144)),
            },
        )
        .await
        .unwrap();
    assert_eq!(since.len(), 5);
    assert!(store
        .history(
            "nobody",
            HistoryQuery {
                limit: 10,
                since: None
            }
        )
        .await
        .unwrap()
        .is_empty());

    let snapshot = store.load().await.unwrap();
    let events = &snapshot.services[0].events;
    assert_eq!(events.len(), EVENTS_IN_RECORD);
    assert_eq!(events.decoded()[0].message, "m50", "oldest first");
    assert!(events.decoded().iter().all(|e| e.metadata.is_none()));

    // Re-registration starts the inline events afresh; history is kept.
    commit(&store, vec![Change::PutService(state("a", "a", 200))]).await;
    let snapshot = store.load().await.unwrap();
    assert!(snapshot.services[0].events.is_empty());
    assert_eq!(
        store
            .history(
                "a",
                HistoryQuery {
                    limit: 1000,
                    since: None
                }
            )
            .await
            .unwrap()
            .len(),
        150
    );
}

/// Deleting a service deletes its history and tasks; tasks round-trip.
pub async fn removal_and_tasks(store: Arc<dyn Store>) {
    commit(
        &store,
        vec![
            Change::PutService(state("a", "a", 0)),
            Change::PutService(state("b", "b", 0)),
            record("a", beat(1, Status::Error, "x")),
            Change::PutTask(task("t1", "a")),
            Change::PutTask(task("t2", "b")),
        ],
    )
    .await;
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.tasks, vec![task("t1", "a"), task("t2", "b")]);
    commit(
        &store,
        vec![
            Change::RemoveService {
                service_id: "a".into(),
            },
            Change::RemoveTask {
                task_id: "t2".into(),
            },
        ],
    )
    .await;
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.services.len(), 1);
    assert!(snapshot.tasks.is_empty());
    assert!(store
        .history(
            "a",
            HistoryQuery {
                limit: 10,
                since: None
            }
        )
        .await
        .unwrap()
        .is_empty());
}

/// Retention trims history by age and by count per service.
pub async fn retention_trims_history(store: Arc<dyn Store>) {
    commit(&store, vec![Change::PutService(state("a", "a", 0))]).await;
    let cap = suite_retention().max_events_per_service as usize;
    let now = Utc::now();
    let mut changes = Vec::new();
    for i in 0..50 {
        let mut old = beat(0, Status::Healthy, &format!("old{i}"));
        old.timestamp = now - Duration::days(40) + Duration::seconds(i);
        changes.push(record("a", old));
    }
    for i in 0..(cap as i64 + 50) {
        let mut recent = beat(0, Status::Healthy, &format!("new{i}"));
        recent.timestamp = now - Duration::hours(1) + Duration::milliseconds(i);
        changes.push(record("a", recent));
    }
    commit(&store, changes).await;
    store.apply_retention().await.unwrap();
    let kept = store
        .history(
            "a",
            HistoryQuery {
                limit: 10_000,
                since: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(kept.len(), cap);
    assert!(
        kept.iter().all(|e| e.message.starts_with("new")),
        "nothing older than the age limit"
    );
    assert_eq!(
        kept[0].message,
        format!("new{}", cap + 49),
        "the newest are kept"
    );
}

/// Alerts round-trip and go with their service.
pub async fn alerts_round_trip(store: Arc<dyn Store>) {
    use laneswap::core::{Ack, Alert, AlertState};
    let alert = |id: &str, service: &str| Alert {
        id: id.into(),
        service_id: service.into(),
        service_name: service.into(),
        state: AlertState::Acknowledged,
        status: Status::Error,
        opened_at: at(1),
        updated_at: at(2),
        resolved_at: None,
        ack: Some(Ack {
            by: "ana".into(),
            note: Some("n".into()),
            at: at(2),
            expires_at: Some(at(60)),
        }),
        reopened: 1,
    };
    commit(
        &store,
        vec![
            Change::PutService(state("a", "a", 0)),
            Change::PutService(state("b", "b", 0)),
            Change::PutAlert(alert("x", "a")),
            Change::PutAlert(alert("y", "b")),
        ],
    )
    .await;
    let mut resolved = alert("x", "a");
    resolved.state = AlertState::Resolved;
    resolved.ack = None;
    resolved.resolved_at = Some(at(9));
    commit(&store, vec![Change::PutAlert(resolved.clone())]).await;
    assert_eq!(
        store.load().await.unwrap().alerts,
        vec![resolved, alert("y", "b")]
    );
    commit(
        &store,
        vec![Change::RemoveService {
            service_id: "b".into(),
        }],
    )
    .await;
    assert_eq!(store.load().await.unwrap().alerts.len(), 1);
}

/// Notification channels round-trip and can be deleted.
pub async fn channels_round_trip(store: Arc<dyn Store>) {
    use laneswap::core::{Channel, ChannelKind, ChannelSource};
    let channel = Channel {
        id: "c1".into(),
        name: "ops".into(),
        kind: ChannelKind::Discord,
        url: "https://discord.com/api/v10/webhooks/1/t".into(),
        levels: [laneswap::core::notifications::Level::Error]
            .into_iter()
            .collect(),
        services: ["db".to_string()].into_iter().collect(),
        enabled: true,
        source: ChannelSource::Api,
        broken: Some("404 from the receiver".into()),
        created_at: at(1),
        updated_at: at(2),
    };
    commit(&store, vec![Change::PutChannel(channel.clone())]).await;
    assert_eq!(store.load().await.unwrap().channels, vec![channel]);
    commit(&store, vec![Change::RemoveChannel { id: "c1".into() }]).await;
    assert!(store.load().await.unwrap().channels.is_empty());
}

/// The retention every suite store is opened with.
pub fn suite_retention() -> Retention {
    Retention {
        max_events_per_service: 200,
        max_age_days: 30,
    }
}

/// After close, writes are refused (not silently dropped).
pub async fn closed_store_refuses_writes(store: Arc<dyn Store>) {
    store.close().await.unwrap();
    assert!(store
        .submit(vec![Change::PutService(state("a", "a", 0))])
        .wait()
        .await
        .is_err());
}

macro_rules! storage_suite {
    ($open:expr) => {
        #[tokio::test]
        async fn services_round_trip() {
            super::services_round_trip($open).await;
        }
        #[tokio::test]
        async fn states_follow_recorded_events() {
            super::states_follow_recorded_events($open).await;
        }
        #[tokio::test]
        async fn alerts_round_trip() {
            super::alerts_round_trip($open).await;
        }
        #[tokio::test]
        async fn channels_round_trip() {
            super::channels_round_trip($open).await;
        }
        #[tokio::test]
        async fn history_queries() {
            super::history_queries($open).await;
        }
        #[tokio::test]
        async fn removal_and_tasks() {
            super::removal_and_tasks($open).await;
        }
        #[tokio::test]
        async fn retention_trims_history() {
            super::retention_trims_history($open).await;
        }
        #[tokio::test]
        async fn closed_store_refuses_writes() {
            super::closed_store_refuses_writes($open).await;
        }
    };
}

mod memory {
    use super::*;
    storage_suite!(Arc::new(laneswap::storage::memory::MemoryStore::new(
        suite_retention()
    )) as Arc<dyn Store>);
}

mod sqlite {
    use super::*;

    fn open() -> Arc<dyn Store> {
        // The directory is leaked on purpose: it must outlive the test's store.
        let dir = tempfile::tempdir().unwrap().keep();
        let options = laneswap::storage::StoreOptions {
            retention: suite_retention(),
            ..Default::default()
        };
        Arc::new(
            laneswap::storage::sqlite::SqliteStore::open(&dir.join("suite.db"), options).unwrap(),
        )
    }

    storage_suite!(open());

    /// Events moved from the journal into the history file read the same,
    /// and rebuild the same state, as before the move.
    #[tokio::test]
    async fn moved_history_reads_the_same() {
        let store = open();
        commit(&store, vec![Change::PutService(state("a", "a", 0))]).await;
        let mut changes = Vec::new();
        for i in 0..120 {
            changes.push(record("a", beat(i, Status::Warning, &format!("m{i}"))));
        }
        commit(&store, changes).await;
        let before = store
            .history(
                "a",
                HistoryQuery {
                    limit: 1000,
                    since: None,
                },
            )
            .await
            .unwrap();
        let loaded_before = store.load().await.unwrap();
        store.apply_retention().await.unwrap(); // moves the journal first
        tokio::time::sleep(std::time::Duration::from_millis(50)).await; // let the writer trim
        let after = store
            .history(
                "a",
                HistoryQuery {
                    limit: 1000,
                    since: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(before.len(), 120);
        assert_eq!(after, before);
        assert_eq!(store.load().await.unwrap(), loaded_before);
    }

    /// A live file from before the pause columns existed is brought up to date.
    #[tokio::test]
    async fn older_files_get_new_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE services (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, message TEXT,
                status_message TEXT, metadata TEXT NOT NULL, created_at INTEGER NOT NULL, last_heartbeat INTEGER,
                updated_at INTEGER, stale_threshold REAL, applied_seq INTEGER NOT NULL DEFAULT 0);
             INSERT INTO services (id, name, status, metadata, created_at) VALUES ('a', 'a', 'healthy', '{}', 0);",
        )
        .unwrap();
        drop(old);
        let store: Arc<dyn Store> = Arc::new(
            laneswap::storage::sqlite::SqliteStore::open(&path, Default::default()).unwrap(),
        );
        let snapshot = store.load().await.unwrap();
        assert_eq!(snapshot.services[0].status, Status::Healthy);
        let mut paused = state("a", "a", 0);
        paused.pause = Some(laneswap::core::model::Pause {
            since: at(1),
            until: None,
        });
        commit(&store, vec![Change::PutService(paused.clone())]).await;
        assert_eq!(store.load().await.unwrap().services[0].pause, paused.pause);
    }

    /// Data written by one store instance is read by the next on the same file.
    #[tokio::test]
    async fn survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reopen.db");
        let options = laneswap::storage::StoreOptions::default();
        let first: Arc<dyn Store> =
            Arc::new(laneswap::storage::sqlite::SqliteStore::open(&path, options).unwrap());
        commit(
            &first,
            vec![
                Change::PutService(state("a", "a", 0)),
                Change::PutTask(task("t", "a")),
            ],
        )
        .await;
        first.close().await.unwrap();
        let second: Arc<dyn Store> =
            Arc::new(laneswap::storage::sqlite::SqliteStore::open(&path, options).unwrap());
        let snapshot = second.load().await.unwrap();
        assert_eq!(snapshot.services.len(), 1);
        assert_eq!(snapshot.tasks.len(), 1);
    }
}

mod mongodb {
    use super::*;
    use laneswap::storage::mongo::{MongoStore, MongoUri};

    async fn open() -> Arc<dyn Store> {
        let location: MongoUri = crate::common::mongo::location("suite");
        Arc::new(
            MongoStore::open(&location, suite_retention())
                .await
                .unwrap(),
        )
    }

    storage_suite!(open().await);
}
