//! Unit tests of the registry.

use super::*;
use crate::core::events::CoreEvent;
use crate::core::model::EVENTS_IN_RECORD;
use serde_json::json;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn registration(id: Option<&str>, name: &str) -> Registration {
    Registration {
        service_id: id.map(str::to_string),
        service_name: name.to_string(),
        ..Registration::default()
    }
}

fn meta(value: serde_json::Value) -> Metadata {
    value.as_object().cloned().unwrap()
}

#[test]
fn reregistering_overwrites_in_place() {
    let mut registry = Registry::default();
    registry.register(registration(Some("a"), "first"), at(0));
    registry.register(registration(Some("b"), "second"), at(0));
    registry
        .heartbeat("a", Heartbeat::default(), at(1))
        .unwrap();
    registry.register(registration(Some("a"), "again"), at(2));
    let order: Vec<&str> = registry.services().map(|r| r.id.as_str()).collect();
    assert_eq!(order, ["a", "b"]);
    let a = registry.get("a").unwrap();
    assert_eq!(a.name, "again");
    assert_eq!(a.status, Status::Unknown);
    assert!(a.events.is_empty());
    assert_eq!(registry.deadline_of("a"), Some(at(62)));
}

#[test]
fn heartbeat_merges_metadata_and_sets_messages() {
    let mut registry = Registry::default();
    let mut request = registration(Some("a"), "svc");
    request.metadata = meta(json!({"version": "1.0"}));
    registry.register(request, at(0));
    let outcome = registry
        .heartbeat(
            "a",
            Heartbeat {
                status: Status::Warning,
                message: Some("hot".into()),
                metadata: Some(meta(json!({"cpu": 1}))),
            },
            at(5),
        )
        .unwrap();
    let a = registry.get("a").unwrap();
    assert_eq!(
        a.metadata.to_map(),
        meta(json!({"version": "1.0", "cpu": 1}))
    );
    assert_eq!(a.status_message.as_deref(), Some("hot"));
    assert!(matches!(
        outcome.events[0],
        CoreEvent::StatusChanged {
            from: Status::Unknown,
            to: Status::Warning,
            ..
        }
    ));
    registry
        .heartbeat("a", Heartbeat::default(), at(6))
        .unwrap();
    let a = registry.get("a").unwrap();
    assert_eq!(a.message, None, "a heartbeat without message clears it");
    assert_eq!(
        a.status_message.as_deref(),
        Some("Status updated to healthy")
    );
    assert_eq!(
        a.metadata.to_map().len(),
        2,
        "empty metadata leaves it unchanged"
    );
}

#[test]
fn events_are_capped_in_the_record() {
    let mut registry = Registry::default();
    registry.register(registration(Some("a"), "svc"), at(0));
    for i in 0..150 {
        registry
            .heartbeat("a", Heartbeat::default(), at(i))
            .unwrap();
    }
    let a = registry.get("a").unwrap();
    assert_eq!(a.events.len(), EVENTS_IN_RECORD);
    assert_eq!(a.events.decoded()[0].timestamp, at(50));
}

#[test]
fn expiry_flips_only_due_services() {
    let mut registry = Registry::default();
    registry.register(registration(Some("a"), "a"), at(0));
    registry.register(registration(Some("b"), "b"), at(30));
    let outcome = registry.expire_due(at(60));
    let flips = outcome
        .events
        .iter()
        .filter(|e| matches!(e, CoreEvent::StatusChanged { .. }))
        .count();
    assert_eq!(flips, 1);
    assert!(
        registry.alerts().active_for("a").is_some(),
        "stale opens an alert"
    );
    assert_eq!(registry.get("a").unwrap().status, Status::Stale);
    assert_eq!(registry.get("b").unwrap().status, Status::Unknown);
    assert_eq!(registry.next_deadline(), Some(at(90)));
    assert!(registry.expire_due(at(60)).events.is_empty());
}

#[test]
fn removing_a_service_removes_its_tasks() {
    let mut registry = Registry::default();
    registry.register(registration(Some("a"), "a"), at(0));
    let (task, _) = registry
        .start_task(
            NewTask {
                service_id: "a".into(),
                task_name: "t".into(),
                total_steps: 10,
                description: None,
                metadata: Metadata::new(),
            },
            at(1),
        )
        .unwrap();
    registry.remove("a").unwrap();
    assert!(registry.task(&task.task_id).is_none());
    assert_eq!(registry.next_deadline(), None);
    assert_eq!(
        registry.remove("a").unwrap_err(),
        RegistryError::ServiceNotFound("a".into())
    );
}

#[test]
fn completing_a_task_fills_the_steps() {
    let mut registry = Registry::default();
    registry.register(registration(Some("a"), "a"), at(0));
    let (task, _) = registry
        .start_task(
            NewTask {
                service_id: "a".into(),
                task_name: "t".into(),
                total_steps: 10,
                description: None,
                metadata: Metadata::new(),
            },
            at(1),
        )
        .unwrap();
    let update = TaskUpdate {
        current_step: Some(4),
        ..TaskUpdate::default()
    };
    let (task, _) = registry
        .update_task(&task.task_id, update, false, at(2))
        .unwrap();
    assert_eq!(task.percent_complete(), 40.0);
    let (task, _) = registry
        .update_task(&task.task_id, TaskUpdate::default(), true, at(3))
        .unwrap();
    assert_eq!(task.status, "completed");
    assert_eq!(task.current_step, 10);
    assert_eq!(task.completed_at, Some(at(3)));
}
