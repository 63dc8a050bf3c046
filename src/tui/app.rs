//! The terminal UI's state and how keys change it. No I/O here: the loop
//! feeds snapshots and keys in, the view draws from this state.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::core::{Registry, Status};

/// One row of the services table, taken from the core and cleaned.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub message: String,
    pub paused: bool,
}

/// What the screen shows, frozen while the display is paused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub rows: Vec<ServiceRow>,
    pub counts: Vec<(Status, usize)>,
    pub taken_at: Option<DateTime<Utc>>,
}

impl View {
    /// Reads the registry: rows sorted by severity (worst first), then name.
    pub fn of(registry: &Registry, now: DateTime<Utc>) -> View {
        let mut rows: Vec<ServiceRow> = registry
            .services()
            .map(|record| ServiceRow {
                id: clean(&record.id),
                name: clean(&record.name),
                status: record.status,
                last_heartbeat: record.last_heartbeat,
                message: clean(record.status_message.as_deref().unwrap_or("")),
                paused: record.pause.is_some_and(|pause| pause.is_active(now)),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.status
                .severity()
                .cmp(&a.status.severity())
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        View {
            rows,
            counts: registry.status_counts().to_vec(),
            taken_at: Some(now),
        }
    }
}

/// Strips control characters (and so the escape sequences they start) from
/// text that came over the network, before it reaches the terminal.
pub fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    TogglePause,
    Up,
    Down,
    Top,
    Bottom,
}

/// Maps a key to an action.
pub fn action_for(key: KeyEvent) -> Option<Action> {
    match (key.code, key.modifiers) {
        (KeyCode::Char('q'), _) | (KeyCode::Esc, _) => Some(Action::Quit),
        (KeyCode::Char('c'), KeyModifiers::CONTROL) => Some(Action::Quit),
        (KeyCode::Char(' '), _) => Some(Action::TogglePause),
        (KeyCode::Up, _) | (KeyCode::Char('k'), _) => Some(Action::Up),
        (KeyCode::Down, _) | (KeyCode::Char('j'), _) => Some(Action::Down),
        (KeyCode::Home, _) | (KeyCode::Char('g'), _) => Some(Action::Top),
        (KeyCode::End, _) | (KeyCode::Char('G'), _) => Some(Action::Bottom),
        _ => None,
    }
}

/// The whole UI state.
#[derive(Debug, Clone, Default)]
pub struct App {
    pub view: View,
    pub selected: usize,
    /// SPACE: the display is frozen (data keeps flowing into the server).
    pub paused: bool,
    pub quit: bool,
    /// Where the server listens, for the header.
    pub listen: String,
}

impl App {
    /// Takes a new snapshot unless the display is paused.
    pub fn refresh(&mut self, view: View) {
        if self.paused {
            return;
        }
        self.view = view;
        self.selected = self.selected.min(self.view.rows.len().saturating_sub(1));
    }

    pub fn apply(&mut self, action: Action) {
        let last = self.view.rows.len().saturating_sub(1);
        match action {
            Action::Quit => self.quit = true,
            Action::TogglePause => self.paused = !self.paused,
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, status: Status) -> ServiceRow {
        ServiceRow {
            id: name.into(),
            name: name.into(),
            status,
            last_heartbeat: None,
            message: String::new(),
            paused: false,
        }
    }

    #[test]
    fn control_characters_never_reach_the_screen() {
        assert_eq!(clean("ok\u{1b}[31mred\u{7}\r\n"), "ok[31mred");
    }

    #[test]
    fn keys_move_pause_and_quit() {
        let mut app = App::default();
        app.refresh(View {
            rows: vec![row("a", Status::Error), row("b", Status::Healthy)],
            ..View::default()
        });
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        app.apply(action_for(key(KeyCode::Down)).unwrap());
        assert_eq!(app.selected, 1);
        app.apply(action_for(key(KeyCode::Down)).unwrap());
        assert_eq!(app.selected, 1, "stays on the last row");
        app.apply(action_for(key(KeyCode::Char(' '))).unwrap());
        assert!(app.paused);
        app.refresh(View::default());
        assert_eq!(app.view.rows.len(), 2, "paused: the display is frozen");
        app.apply(action_for(key(KeyCode::Char(' '))).unwrap());
        app.refresh(View::default());
        assert!(app.view.rows.is_empty(), "resumed: it catches up");
        app.apply(action_for(key(KeyCode::Char('q'))).unwrap());
        assert!(app.quit);
    }
}
