//! The terminal UI's state and how messages change it: keys through the
//! keymap into [`Action`](super::keymap::Action)s, data and results from the source. No I/O here:
//! [`App::update`] returns [`Request`]s that the loop hands to the source's
//! driver, and the view draws from this state.

mod actions;
pub mod forms;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use self::forms::{AckForm, FormOutcome, WebhookForm};
use super::data::{AlertRow, ChannelRow, Dataset, ServiceRow, TaskRow};
use super::keymap::Keymap;
use super::source::{Command, Connection, Feed, Request};
use super::theme::Theme;

/// The four views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Services,
    Alerts,
    Progress,
    Webhooks,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Services, Tab::Alerts, Tab::Progress, Tab::Webhooks];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Services => "Services",
            Tab::Alerts => "Alerts",
            Tab::Progress => "Progress",
            Tab::Webhooks => "Webhooks",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|tab| *tab == self).unwrap_or(0)
    }
}

/// How the services table is ordered (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Worst status first, then name.
    #[default]
    Severity,
    Name,
    /// Longest silent first (never heard from at the top).
    LastHeartbeat,
}

impl SortOrder {
    pub fn label(self) -> &'static str {
        match self {
            SortOrder::Severity => "severity",
            SortOrder::Name => "name",
            SortOrder::LastHeartbeat => "last heartbeat",
        }
    }

    fn next(self) -> Self {
        match self {
            SortOrder::Severity => SortOrder::Name,
            SortOrder::Name => SortOrder::LastHeartbeat,
            SortOrder::LastHeartbeat => SortOrder::Severity,
        }
    }
}

/// A popup over the screen.
#[derive(Debug, Clone)]
pub enum Popup {
    Help {
        scroll: u16,
    },
    /// "Delete …? y/n": the command runs on yes.
    Confirm {
        question: String,
        command: Command,
    },
    Ack(AckForm),
    Webhook(Box<WebhookForm>),
}

/// A line in the status bar: a confirmation or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// What reaches the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Feed(Feed),
    /// The terminal's size changed (rows of the body, for paging).
    Resize {
        rows: u16,
    },
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// What the screen shows (frozen while [`App::frozen`]).
    pub data: Dataset,
    /// The newest data received while frozen.
    pending: Option<Box<Dataset>>,
    /// Indices into `data.services`, filtered and sorted.
    pub order: Vec<usize>,
    pub tab: Tab,
    /// Selected row of each tab.
    pub selected: [usize; 4],
    /// The selected service's id: the selection follows it across updates.
    pub selected_id: Option<String>,
    pub detail: bool,
    pub filter: Input,
    /// Typing into the filter.
    pub filtering: bool,
    pub sort: SortOrder,
    /// SPACE: the display is frozen; data keeps flowing into the server.
    pub frozen: bool,
    pub popup: Option<Popup>,
    pub notice: Option<Notice>,
    pub connection: Connection,
    /// The last snapshot failed (the data shown is older).
    pub fetch_error: Option<String>,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Rows a page moves.
    pub page: usize,
    /// Where the log goes, for the help screen.
    pub log_file: Option<String>,
    pub quit: bool,
}

impl App {
    pub fn new(keymap: Keymap, theme: Theme, connection: Connection) -> Self {
        App {
            data: Dataset::default(),
            pending: None,
            order: Vec::new(),
            tab: Tab::Services,
            selected: [0; 4],
            selected_id: None,
            detail: false,
            filter: Input::default(),
            filtering: false,
            sort: SortOrder::default(),
            frozen: false,
            popup: None,
            notice: None,
            connection,
            fetch_error: None,
            keymap,
            theme,
            page: 20,
            log_file: None,
            quit: false,
        }
    }

    /// Applies one message; returns what the source should do.
    pub fn update(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Feed(feed) => self.on_feed(feed),
            Msg::Resize { rows } => {
                self.page = usize::from(rows).saturating_sub(4).max(1);
                Vec::new()
            }
        }
    }

    fn on_feed(&mut self, feed: Feed) -> Vec<Request> {
        match feed {
            Feed::Data(data) => {
                self.fetch_error = None;
                if self.frozen {
                    self.pending = Some(data);
                    return Vec::new();
                }
                self.show(*data)
            }
            Feed::Failed(error) => {
                self.fetch_error = Some(error);
                Vec::new()
            }
            Feed::Connection(connection) => {
                self.connection = connection;
                Vec::new()
            }
            Feed::Done(Ok(text)) => {
                self.notice = Some(Notice { text, error: false });
                Vec::new()
            }
            Feed::Done(Err(text)) => {
                self.notice = Some(Notice { text, error: true });
                Vec::new()
            }
        }
    }

    /// Takes new data onto the screen, keeping the selection on the same
    /// service.
    fn show(&mut self, mut data: Dataset) -> Vec<Request> {
        data.tasks.sort_by(|a, b| {
            (a.finished, !a.stalled, &a.name, &a.id).cmp(&(b.finished, !b.stalled, &b.name, &b.id))
        });
        if let Some(channels) = &mut data.channels {
            channels.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        }
        self.data = data;
        self.reorder();
        for tab in [Tab::Alerts, Tab::Progress, Tab::Webhooks] {
            let last = self.len(tab).saturating_sub(1);
            self.selected[tab.index()] = self.selected[tab.index()].min(last);
        }
        self.focus_request()
    }

    /// Recomputes the services' order from the filter and sort.
    fn reorder(&mut self) {
        let needle = self.filter.value().trim().to_lowercase();
        let services = &self.data.services;
        let mut order: Vec<usize> = (0..services.len())
            .filter(|&i| needle.is_empty() || matches(&services[i], &needle))
            .collect();
        // Keys are computed once per row (lower-casing inside a comparator
        // would allocate on every comparison).
        match self.sort {
            SortOrder::Severity => order.sort_by_cached_key(|&i| {
                let service = &services[i];
                (
                    std::cmp::Reverse(service.status.severity()),
                    service.name.to_lowercase(),
                    i,
                )
            }),
            SortOrder::Name => {
                order.sort_by_cached_key(|&i| (services[i].name.to_lowercase(), i));
            }
            SortOrder::LastHeartbeat => order.sort_by_cached_key(|&i| {
                (
                    services[i].last_heartbeat,
                    services[i].name.to_lowercase(),
                    i,
                )
            }),
        }
        self.order = order;
        let index = self
            .selected_id
            .as_ref()
            .and_then(|id| self.order.iter().position(|&i| &services[i].id == id));
        let services_tab = Tab::Services.index();
        self.selected[services_tab] = match index {
            Some(index) => index,
            None => self.selected[services_tab].min(self.order.len().saturating_sub(1)),
        };
    }

    /// Asks for the detail of the selected service when it changed.
    fn focus_request(&mut self) -> Vec<Request> {
        let id = self.selected_service().map(|service| service.id.clone());
        if id == self.selected_id && self.data.detail.as_ref().map(|d| &d.id) == id.as_ref() {
            return Vec::new();
        }
        let changed = id != self.selected_id;
        self.selected_id = id.clone();
        if changed || id.is_some() {
            vec![Request::Focus(id)]
        } else {
            Vec::new()
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return Vec::new();
        }
        if let Some(popup) = self.popup.take() {
            return self.on_popup_key(popup, key);
        }
        if self.filtering {
            match key.code {
                KeyCode::Enter => self.filtering = false,
                KeyCode::Esc => {
                    self.filtering = false;
                    self.filter.reset();
                }
                _ => {
                    self.filter.handle_event(&Event::Key(key));
                }
            }
            self.reorder();
            return self.focus_request();
        }
        match self.keymap.action(key) {
            Some(action) => self.on_action(action),
            None => Vec::new(),
        }
    }

    fn on_popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Request> {
        match popup {
            Popup::Help { scroll } => {
                let scroll = match key.code {
                    KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
                    KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                    KeyCode::PageDown => scroll.saturating_add(10),
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => return Vec::new(),
                };
                self.popup = Some(Popup::Help { scroll });
                Vec::new()
            }
            Popup::Confirm { question, command } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    vec![Request::Run(command)]
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
                _ => {
                    self.popup = Some(Popup::Confirm { question, command });
                    Vec::new()
                }
            },
            Popup::Ack(mut form) => match form.on_key(key) {
                FormOutcome::Editing => {
                    self.popup = Some(Popup::Ack(form));
                    Vec::new()
                }
                FormOutcome::Cancelled => Vec::new(),
                FormOutcome::Submitted(command) => vec![Request::Run(command)],
            },
            Popup::Webhook(mut form) => match form.on_key(key) {
                FormOutcome::Editing => {
                    self.popup = Some(Popup::Webhook(form));
                    Vec::new()
                }
                FormOutcome::Cancelled => Vec::new(),
                FormOutcome::Submitted(command) => vec![Request::Run(command)],
            },
        }
    }

    /// Rows in a tab's list.
    pub fn len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Services => self.order.len(),
            Tab::Alerts => self.data.alerts.as_ref().map_or(0, Vec::len),
            Tab::Progress => self.data.tasks.len(),
            Tab::Webhooks => self.data.channels.as_ref().map_or(0, Vec::len),
        }
    }

    /// The selected row of the services table.
    pub fn selected_service(&self) -> Option<&ServiceRow> {
        let index = *self.order.get(self.selected[Tab::Services.index()])?;
        self.data.services.get(index)
    }

    pub fn selected_alert(&self) -> Option<&AlertRow> {
        self.data
            .alerts
            .as_ref()?
            .get(self.selected[Tab::Alerts.index()])
    }

    pub fn selected_task(&self) -> Option<&TaskRow> {
        self.data.tasks.get(self.selected[Tab::Progress.index()])
    }

    pub fn selected_channel(&self) -> Option<&ChannelRow> {
        self.data
            .channels
            .as_ref()?
            .get(self.selected[Tab::Webhooks.index()])
    }

    /// When the screen's "ago" labels are measured from: now, or the
    /// moment the display froze.
    pub fn shown_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.frozen {
            self.data.taken_at.unwrap_or(now)
        } else {
            now
        }
    }
}

fn matches(service: &ServiceRow, needle: &str) -> bool {
    service.name.to_lowercase().contains(needle)
        || service.id.to_lowercase().contains(needle)
        || service.status.as_str().contains(needle)
        || service.message.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests;
