//! Key handling on the app state, without a terminal.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::core::Status;
use crate::tui::fixtures;
use crate::tui::source::WebhookDraft;

fn press(app: &mut App, code: KeyCode) -> Vec<Request> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn names(app: &App) -> Vec<String> {
    app.order
        .iter()
        .map(|&i| app.data.services[i].name.clone())
        .collect()
}

fn runs(requests: &[Request]) -> Vec<&Command> {
    requests
        .iter()
        .filter_map(|request| match request {
            Request::Run(command) => Some(command),
            _ => None,
        })
        .collect()
}

#[test]
fn services_sort_by_severity_then_name_and_s_cycles() {
    let mut app = fixtures::app("dark");
    assert_eq!(names(&app)[..3], ["database", "queue", "cache"]);
    assert_eq!(names(&app).last().unwrap(), "search-api");
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortOrder::Name);
    assert_eq!(names(&app)[..2], ["cache", "checkout-api"]);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortOrder::LastHeartbeat);
    assert_eq!(names(&app)[0], "new-service", "never heard from first");
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, SortOrder::Severity);
}

#[test]
fn navigation_moves_and_stays_in_bounds() {
    let mut app = fixtures::app("dark");
    let requests = press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_service().unwrap().name, "queue");
    assert_eq!(
        requests,
        vec![Request::Focus(Some("q-1".into()))],
        "detail of the new row"
    );
    press(&mut app, KeyCode::End);
    assert_eq!(app.selected_service().unwrap().name, "search-api");
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_service().unwrap().name, "search-api");
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.selected_service().unwrap().name, "database");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Alerts);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.tab, Tab::Services);
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(app.tab, Tab::Webhooks);
}

#[test]
fn the_selection_follows_its_service_across_updates() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_service().unwrap().id, "q-1");
    let mut data = fixtures::dataset();
    data.services[1].status = Status::Healthy; // queue recovers and moves down
    app.update(Msg::Feed(Feed::Data(Box::new(data))));
    assert_eq!(app.selected_service().unwrap().id, "q-1");
}

#[test]
fn filter_matches_name_id_status_and_message() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('/'));
    assert!(app.filtering);
    type_text(&mut app, "api");
    assert_eq!(names(&app), ["checkout-api", "search-api"]);
    press(&mut app, KeyCode::Enter);
    assert!(!app.filtering);
    assert_eq!(app.filter.value(), "api", "the filter stays after enter");
    press(&mut app, KeyCode::Char('/'));
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "STALE");
    assert_eq!(names(&app), ["queue"], "by status, case-insensitively");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.order.len(), 8, "esc clears the filter");
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "disk full");
    assert_eq!(names(&app), ["database"], "by message");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "q");
    assert!(app.quit, "keys act again once the filter is closed");
}

#[test]
fn space_freezes_the_display_and_catches_up_on_resume() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char(' '));
    assert!(app.frozen);
    let mut data = fixtures::dataset();
    data.services.truncate(2);
    app.update(Msg::Feed(Feed::Data(Box::new(data))));
    assert_eq!(
        app.data.services.len(),
        8,
        "frozen: the display keeps its data"
    );
    let requests = press(&mut app, KeyCode::Char(' '));
    assert!(!app.frozen);
    assert_eq!(app.data.services.len(), 2, "resumed: it catches up");
    assert!(requests.contains(&Request::Refresh));
}

#[test]
fn acknowledge_flow_with_note_and_expiry() {
    let mut app = fixtures::app("dark");
    // On the services view, `a` acknowledges the selected service's alert.
    press(&mut app, KeyCode::Char('a'));
    let Some(Popup::Ack(form)) = &app.popup else {
        panic!("the ack form opens");
    };
    assert_eq!(form.alert_id, "al-1");
    type_text(&mut app, "swapping disks");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "90 minutes");
    let requests = press(&mut app, KeyCode::Enter);
    assert!(app.popup.is_none());
    assert_eq!(
        runs(&requests),
        [&Command::Acknowledge {
            alert_id: "al-1".into(),
            note: Some("swapping disks".into()),
            expires_in: Some(Duration::from_secs(5400)),
        }]
    );
    app.update(Msg::Feed(Feed::Done(Ok(
        "Acknowledged the alert on database".into(),
    ))));
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "Acknowledged the alert on database"
    );
}

#[test]
fn a_bad_expiry_keeps_the_form_open_with_the_reason() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "tomorrow-ish");
    let requests = press(&mut app, KeyCode::Enter);
    assert!(requests.is_empty());
    let Some(Popup::Ack(form)) = &app.popup else {
        panic!("still open");
    };
    assert!(form.error.as_ref().unwrap().contains("tomorrow-ish"));
    press(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none(), "esc cancels");
}

#[test]
fn an_empty_ack_lasts_until_recovery_and_u_takes_it_back() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Down); // the acknowledged alert on queue
    let requests = press(&mut app, KeyCode::Char('u'));
    assert_eq!(
        runs(&requests),
        [&Command::Unacknowledge {
            alert_id: "al-2".into()
        }]
    );
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('a'));
    let requests = press(&mut app, KeyCode::Enter);
    assert_eq!(
        runs(&requests),
        [&Command::Acknowledge {
            alert_id: "al-1".into(),
            note: None,
            expires_in: None,
        }]
    );
    press(&mut app, KeyCode::Char('u'));
    assert!(
        app.notice.as_ref().unwrap().error,
        "al-1 is not acknowledged"
    );
    press(&mut app, KeyCode::End); // resolved
    press(&mut app, KeyCode::Char('a'));
    assert!(app.popup.is_none());
    assert_eq!(app.notice.as_ref().unwrap().text, "That alert is resolved");
}

#[test]
fn enter_on_an_alert_opens_its_service() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Down);
    let requests = press(&mut app, KeyCode::Enter);
    assert_eq!(app.tab, Tab::Services);
    assert!(app.detail);
    assert_eq!(app.selected_service().unwrap().id, "q-1");
    assert!(requests.contains(&Request::Focus(Some("q-1".into()))));
}

#[test]
fn pause_toggles_and_delete_asks_first() {
    let mut app = fixtures::app("dark");
    let requests = press(&mut app, KeyCode::Char('p'));
    assert_eq!(
        runs(&requests),
        [&Command::PauseService {
            service_id: "db-1".into()
        }]
    );
    for _ in 0..3 {
        press(&mut app, KeyCode::Down); // image-worker is paused
    }
    let requests = press(&mut app, KeyCode::Char('p'));
    assert_eq!(
        runs(&requests),
        [&Command::ResumeService {
            service_id: "wrk-7".into()
        }]
    );
    assert!(
        press(&mut app, KeyCode::Char('d')).is_empty(),
        "nothing yet"
    );
    assert!(matches!(app.popup, Some(Popup::Confirm { .. })));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(app.popup.is_none(), "n cancels");
    press(&mut app, KeyCode::Char('d'));
    let requests = press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        runs(&requests),
        [&Command::DeleteService {
            service_id: "wrk-7".into()
        }]
    );
}

#[test]
fn webhook_form_validates_before_sending() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.tab, Tab::Webhooks);
    // The URL field has the focus; enter with nothing typed.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Some(Popup::Webhook(form)) = &app.popup else {
        panic!("the form stays open");
    };
    assert_eq!(form.errors, ["URL: required (http:// or https://)"]);
    type_text(&mut app, "https://hooks.example.com/laneswap");
    press(&mut app, KeyCode::Tab); // kind
    press(&mut app, KeyCode::Char(' ')); // auto -> discord
    press(&mut app, KeyCode::Char(' ')); // discord -> webhook
    press(&mut app, KeyCode::Tab); // levels
    type_text(&mut app, "error, warning");
    press(&mut app, KeyCode::Tab); // services
    type_text(&mut app, "db-1");
    press(&mut app, KeyCode::Tab); // enabled
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Tab); // wraps to name
    type_text(&mut app, "pager");
    let requests = press(&mut app, KeyCode::Enter);
    assert_eq!(
        runs(&requests),
        [&Command::SaveWebhook {
            id: None,
            draft: WebhookDraft {
                name: Some("pager".into()),
                url: Some("https://hooks.example.com/laneswap".into()),
                kind: "webhook".into(),
                levels: vec!["error".into(), "warning".into()],
                services: vec!["db-1".into()],
                enabled: false,
            },
        }]
    );
}

#[test]
fn editing_a_webhook_keeps_the_secret_url_unless_changed() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('e'));
    assert!(
        app.popup.is_none(),
        "the environment's channel is not editable"
    );
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("LANESWAP_DISCORD_WEBHOOK"));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('e'));
    let requests = press(&mut app, KeyCode::Enter);
    let [Command::SaveWebhook { id, draft }] = runs(&requests)[..] else {
        panic!("saved");
    };
    assert_eq!(id.as_deref(), Some("ch-2"));
    assert_eq!(draft.url, None, "the redacted URL is not sent back");
    assert_eq!(draft.levels, ["error", "warning"]);
    let requests = press(&mut app, KeyCode::Char('t'));
    assert_eq!(
        runs(&requests),
        [&Command::TestWebhook { id: "ch-2".into() }]
    );
    let requests = press(&mut app, KeyCode::Char('x'));
    assert_eq!(
        runs(&requests),
        [&Command::SetWebhookEnabled {
            id: "ch-2".into(),
            enabled: false
        }]
    );
}

#[test]
fn failures_show_in_the_status_bar_and_keep_the_data() {
    let mut app = fixtures::app("dark");
    app.update(Msg::Feed(Feed::Failed("cannot connect".into())));
    assert_eq!(app.fetch_error.as_deref(), Some("cannot connect"));
    assert_eq!(app.data.services.len(), 8);
    app.update(Msg::Feed(Feed::Done(Err("Alert not found: x".into()))));
    assert!(app.notice.as_ref().unwrap().error);
    app.update(Msg::Feed(Feed::Data(Box::new(fixtures::dataset()))));
    assert_eq!(app.fetch_error, None);
}

#[test]
fn the_original_server_without_alerts_says_so() {
    let mut app = fixtures::app("dark");
    let mut data = fixtures::dataset();
    data.alerts = None;
    data.channels = None;
    app.update(Msg::Feed(Feed::Data(Box::new(data))));
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "This server has no alerts API"
    );
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "This server has no webhooks API"
    );
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut app = fixtures::app("dark");
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.popup, Some(Popup::Help { .. })));
    press(&mut app, KeyCode::Down);
    assert!(matches!(app.popup, Some(Popup::Help { scroll: 1 })));
    press(&mut app, KeyCode::Char('q'));
    assert!(app.popup.is_none());
    assert!(!app.quit, "the key that closes help does nothing else");
}

#[test]
fn a_vim_keymap_drives_the_same_actions() {
    let mut app = fixtures::app("dark");
    app.keymap = Keymap::load("vim").unwrap();
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_service().unwrap().name, "queue");
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('G'),
        KeyModifiers::SHIFT,
    )));
    assert_eq!(app.selected_service().unwrap().name, "search-api");
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.tab, Tab::Alerts);
}
