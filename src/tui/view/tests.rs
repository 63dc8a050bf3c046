//! Snapshots of every screen and popup at a fixed size, from the fixtures.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::*;
use crate::tui::app::{Msg, Popup};
use crate::tui::fixtures;

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render(frame, app, fixtures::now()))
        .unwrap();
    terminal
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect()
}

#[test]
fn services_screen() {
    insta::assert_snapshot!(draw(&fixtures::app("dark"), 120, 20).backend());
}

#[test]
fn services_screen_frozen() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char(' '));
    insta::assert_snapshot!(draw(&app, 120, 20).backend());
}

#[test]
fn services_screen_narrow() {
    insta::assert_snapshot!(draw(&fixtures::app("dark"), 80, 20).backend());
}

#[test]
fn detail_pane() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 140, 30).backend());
}

#[test]
fn filter_prompt() {
    let mut app = fixtures::app("dark");
    for c in "/api".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    insta::assert_snapshot!(draw(&app, 120, 14).backend());
}

#[test]
fn alerts_view() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('2'));
    insta::assert_snapshot!(draw(&app, 120, 14).backend());
}

#[test]
fn progress_view() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('3'));
    insta::assert_snapshot!(draw(&app, 120, 14).backend());
}

#[test]
fn webhooks_view() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('4'));
    insta::assert_snapshot!(draw(&app, 140, 14).backend());
}

#[test]
fn help_popup() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&app, 100, 40).backend());
}

#[test]
fn delete_confirmation() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.popup, Some(Popup::Confirm { .. })));
    insta::assert_snapshot!(draw(&app, 100, 16).backend());
}

#[test]
fn ack_form() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('a'));
    for c in "disk swap".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    for c in "soon".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 100, 16).backend());
}

#[test]
fn webhook_form_with_errors() {
    let mut app = fixtures::app("dark");
    key(&mut app, KeyCode::Char('n'));
    for c in "ftp://x".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    for _ in 0..2 {
        key(&mut app, KeyCode::Tab);
    }
    for c in "error,loud".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 100, 20).backend());
}

#[test]
fn remote_connection_states_show_in_the_header() {
    let mut app = fixtures::app("dark");
    let url = "http://ops:8000".to_string();
    for (connection, expected) in [
        (Connection::Live { url: url.clone() }, "● live"),
        (
            Connection::Polling {
                url: url.clone(),
                every: std::time::Duration::from_secs(2),
            },
            "polling every 2s",
        ),
        (
            Connection::Down {
                url: url.clone(),
                error: "cannot connect".into(),
            },
            "unreachable: cannot connect; retrying",
        ),
    ] {
        app.update(Msg::Feed(crate::tui::source::Feed::Connection(connection)));
        let screen = text(&draw(&app, 120, 10));
        assert!(screen.contains(expected), "{expected}: {screen}");
        assert!(screen.contains("http://ops:8000"));
    }
}

#[test]
fn every_theme_draws_every_view() {
    for (name, _) in crate::tui::theme::BUILTIN {
        let mut app = fixtures::app(name);
        for view in ['1', '2', '3', '4'] {
            key(&mut app, KeyCode::Char(view));
            let terminal = draw(&app, 120, 20);
            assert!(text(&terminal).contains("laneswap"), "{name} {view}");
        }
    }
}

#[test]
fn the_window_follows_the_selection() {
    let mut app = fixtures::app("dark");
    let template = app.data.services[0].clone();
    let mut data = app.data.clone();
    data.services = (0..1000)
        .map(|i| crate::tui::data::ServiceRow {
            name: format!("service-{i:04}"),
            id: format!("id-{i}"),
            ..template.clone()
        })
        .collect();
    app.update(Msg::Feed(crate::tui::source::Feed::Data(Box::new(data))));
    app.selected[0] = 900;
    let screen = text(&draw(&app, 120, 20));
    assert!(
        screen.contains("service-0900"),
        "the selected row is on screen"
    );
    assert!(!screen.contains("service-0000"));
}

#[test]
fn ages_read_naturally() {
    let now = fixtures::now();
    let before = |s: i64| Some(now - chrono::Duration::seconds(s));
    assert_eq!(ago(before(5), now), "5s ago");
    assert_eq!(ago(before(185), now), "3m ago");
    assert_eq!(ago(before(7300), now), "2h1m ago");
    assert_eq!(ago(before(7200), now), "2h ago");
    assert_eq!(ago(before(200_000), now), "2d7h ago");
    assert_eq!(ago(None, now), "never");
    assert_eq!(relative(now + chrono::Duration::seconds(90), now), "in 1m");
}
