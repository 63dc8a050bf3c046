//! The popups that take typed input: the acknowledgement form and the
//! webhook form. Each owns its `tui-input` fields and validates itself, so
//! a bad value is explained in the form instead of failing at the server.

use std::time::Duration;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use crate::tui::data::ChannelRow;
use crate::tui::source::{Command, WebhookDraft};

/// Longest acknowledgement the server accepts: 30 days.
const MAX_ACK: Duration = Duration::from_secs(30 * 24 * 3600);

/// What a key did to a form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormOutcome {
    /// Still editing.
    Editing,
    Cancelled,
    Submitted(Command),
}

/// Acknowledge an alert: an optional note and an optional expiry.
#[derive(Debug, Clone)]
pub struct AckForm {
    pub alert_id: String,
    pub service_name: String,
    pub note: Input,
    /// `30m`, `2h`, `1d`…; empty: until the service recovers.
    pub expiry: Input,
    /// 0: note, 1: expiry.
    pub field: usize,
    pub error: Option<String>,
}

impl AckForm {
    pub fn new(alert_id: &str, service_name: &str) -> Self {
        AckForm {
            alert_id: alert_id.to_string(),
            service_name: service_name.to_string(),
            note: Input::default(),
            expiry: Input::default(),
            field: 0,
            error: None,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> FormOutcome {
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                self.field = 1 - self.field;
            }
            KeyCode::Enter => match self.submit() {
                Ok(command) => return FormOutcome::Submitted(command),
                Err(reason) => self.error = Some(reason),
            },
            _ => {
                let input = if self.field == 0 {
                    &mut self.note
                } else {
                    &mut self.expiry
                };
                input.handle_event(&Event::Key(key));
                self.error = None;
            }
        }
        FormOutcome::Editing
    }

    /// The command, or why the values cannot be sent.
    pub fn submit(&self) -> Result<Command, String> {
        let note = self.note.value().trim();
        let expiry = self.expiry.value().trim();
        let expires_in = if expiry.is_empty() {
            None
        } else {
            let duration = humantime::parse_duration(expiry).map_err(|_| {
                format!(
                    "Expiry `{expiry}`: use a duration such as 30m, 2h or 1d, or leave it empty"
                )
            })?;
            if duration.is_zero() || duration > MAX_ACK {
                return Err("Expiry: between 1 second and 30 days".into());
            }
            Some(duration)
        };
        Ok(Command::Acknowledge {
            alert_id: self.alert_id.clone(),
            note: (!note.is_empty()).then(|| note.to_string()),
            expires_in,
        })
    }
}

/// The fields of the webhook form, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookField {
    Name,
    Url,
    Kind,
    Levels,
    Services,
    Enabled,
}

impl WebhookField {
    pub const ALL: [WebhookField; 6] = [
        WebhookField::Name,
        WebhookField::Url,
        WebhookField::Kind,
        WebhookField::Levels,
        WebhookField::Services,
        WebhookField::Enabled,
    ];

    pub fn label(self) -> &'static str {
        match self {
            WebhookField::Name => "Name",
            WebhookField::Url => "URL",
            WebhookField::Kind => "Kind",
            WebhookField::Levels => "Levels",
            WebhookField::Services => "Services",
            WebhookField::Enabled => "Enabled",
        }
    }
}

/// Kinds the form offers; `auto` lets the server tell Discord by its URL.
pub const KINDS: [&str; 3] = ["auto", "discord", "webhook"];

/// Notification levels a channel can ask for.
pub const LEVELS: [&str; 4] = ["info", "success", "warning", "error"];

/// Add or edit a notification channel.
#[derive(Debug, Clone)]
pub struct WebhookForm {
    /// `None`: a new channel.
    pub id: Option<String>,
    pub name: Input,
    pub url: Input,
    /// The redacted URL an edit started from: left as is, it is not sent.
    pub original_url: Option<String>,
    /// Index into [`KINDS`].
    pub kind: usize,
    /// Comma-separated levels (empty: all).
    pub levels: Input,
    /// Comma-separated service ids (empty: all).
    pub services: Input,
    pub enabled: bool,
    pub field: usize,
    pub errors: Vec<String>,
}

impl WebhookForm {
    pub fn new() -> Self {
        WebhookForm {
            id: None,
            name: Input::default(),
            url: Input::default(),
            original_url: None,
            kind: 0,
            levels: Input::default(),
            services: Input::default(),
            enabled: true,
            field: 1,
            errors: Vec::new(),
        }
    }

    pub fn edit(channel: &ChannelRow) -> Self {
        WebhookForm {
            id: Some(channel.id.clone()),
            name: Input::new(channel.name.clone()),
            url: Input::new(channel.url.clone()),
            original_url: Some(channel.url.clone()),
            kind: KINDS.iter().position(|k| *k == channel.kind).unwrap_or(0),
            levels: Input::new(channel.levels.join(", ")),
            services: Input::new(channel.services.join(", ")),
            enabled: channel.enabled,
            field: 0,
            errors: Vec::new(),
        }
    }

    pub fn focused(&self) -> WebhookField {
        WebhookField::ALL[self.field]
    }

    /// The text field of a form field (kind and enabled have none).
    pub fn input(&self, field: WebhookField) -> Option<&Input> {
        match field {
            WebhookField::Name => Some(&self.name),
            WebhookField::Url => Some(&self.url),
            WebhookField::Levels => Some(&self.levels),
            WebhookField::Services => Some(&self.services),
            WebhookField::Kind | WebhookField::Enabled => None,
        }
    }

    fn input_mut(&mut self, field: WebhookField) -> Option<&mut Input> {
        match field {
            WebhookField::Name => Some(&mut self.name),
            WebhookField::Url => Some(&mut self.url),
            WebhookField::Levels => Some(&mut self.levels),
            WebhookField::Services => Some(&mut self.services),
            WebhookField::Kind | WebhookField::Enabled => None,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> FormOutcome {
        let count = WebhookField::ALL.len();
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Tab | KeyCode::Down => self.field = (self.field + 1) % count,
            KeyCode::BackTab | KeyCode::Up => self.field = (self.field + count - 1) % count,
            KeyCode::Enter => match self.draft() {
                Ok(draft) => {
                    return FormOutcome::Submitted(Command::SaveWebhook {
                        id: self.id.clone(),
                        draft,
                    })
                }
                Err(errors) => self.errors = errors,
            },
            KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                if matches!(self.focused(), WebhookField::Kind | WebhookField::Enabled) =>
            {
                if self.focused() == WebhookField::Kind {
                    self.kind = if key.code == KeyCode::Left {
                        (self.kind + KINDS.len() - 1) % KINDS.len()
                    } else {
                        (self.kind + 1) % KINDS.len()
                    };
                } else {
                    self.enabled = !self.enabled;
                }
            }
            _ => {
                let field = self.focused();
                if let Some(input) = self.input_mut(field) {
                    input.handle_event(&Event::Key(key));
                    self.errors.clear();
                }
            }
        }
        FormOutcome::Editing
    }

    /// The channel as entered, or every reason it cannot be saved.
    pub fn draft(&self) -> Result<WebhookDraft, Vec<String>> {
        let mut errors = Vec::new();
        let name = self.name.value().trim();
        if name.chars().count() > 128 {
            errors.push("Name: at most 128 characters".to_string());
        }
        let url = self.url.value().trim();
        let unchanged = self.original_url.as_deref() == Some(url);
        let url = if unchanged {
            None
        } else if url.is_empty() {
            errors.push("URL: required (http:// or https://)".to_string());
            None
        } else if !is_http_url(url) {
            errors.push(format!("URL: `{url}` is not an http:// or https:// URL"));
            None
        } else {
            Some(url.to_string())
        };
        let levels = split_list(self.levels.value());
        for level in &levels {
            if !LEVELS.contains(&level.as_str()) {
                errors.push(format!(
                    "Levels: unknown level `{level}` ({}; empty for all)",
                    LEVELS.join(", ")
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WebhookDraft {
            name: (!name.is_empty()).then(|| name.to_string()),
            url,
            kind: if self.kind == 0 {
                String::new()
            } else {
                KINDS[self.kind].to_string()
            },
            levels,
            services: split_list(self.services.value()),
            enabled: self.enabled,
        })
    }
}

impl Default for WebhookForm {
    fn default() -> Self {
        WebhookForm::new()
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}
