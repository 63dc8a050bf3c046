//! Keymaps: keys bound to named [`Action`]s, read from `keymaps/*.toml`.
//!
//! ```toml
//! name = "vim"
//! inherits = "default"          # optional: start from another keymap
//!
//! [[bind]]
//! on = ["j", "down"]            # one key or several
//! run = "down"                  # an action name (see `Action`), or "none" to unbind
//! desc = "Next row"
//! ```
//!
//! A later layer (an inheriting file, the user's file of the same name)
//! replaces the bindings of the keys it names. Unknown actions, unknown keys
//! and a key bound twice in one file are refused with the file and line.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::files::{self, FileError, Layered, Source};

/// Everything a key can ask for. The names are the keymap files' `run`
/// values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    /// SPACE: freeze the display; data keeps flowing into the server.
    Freeze,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextView,
    PrevView,
    ShowServices,
    ShowAlerts,
    ShowProgress,
    ShowWebhooks,
    /// Open or close the detail pane of the selected service.
    Detail,
    /// Close a pane or popup, clear the filter.
    Back,
    Filter,
    Sort,
    /// Pause (maintenance) or resume the selected service.
    PauseService,
    /// Delete the selected service or webhook (after a confirmation).
    Delete,
    Acknowledge,
    Unacknowledge,
    NewWebhook,
    EditWebhook,
    TestWebhook,
    /// Enable or disable the selected webhook.
    ToggleWebhook,
}

impl Action {
    /// Every action, for error messages and the help screen's order.
    pub const ALL: [Action; 27] = [
        Action::Quit,
        Action::Help,
        Action::Freeze,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextView,
        Action::PrevView,
        Action::ShowServices,
        Action::ShowAlerts,
        Action::ShowProgress,
        Action::ShowWebhooks,
        Action::Detail,
        Action::Back,
        Action::Filter,
        Action::Sort,
        Action::PauseService,
        Action::Delete,
        Action::Acknowledge,
        Action::Unacknowledge,
        Action::NewWebhook,
        Action::EditWebhook,
        Action::TestWebhook,
        Action::ToggleWebhook,
    ];

    /// The snake_case name used in keymap files.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn parse(name: &str) -> Option<Action> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

/// A key with its modifiers, normalised so that `G` and `shift-g` match
/// what the terminal sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub fn of(event: KeyEvent) -> Key {
        Key::new(event.code, event.modifiers)
    }

    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let mut modifiers =
            modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            // A character already says whether shift was held.
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                if modifiers.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, modifiers }
    }

    /// Parses `q`, `G`, `ctrl-c`, `shift-tab`, `space`, `enter`, `f1`, …
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (modifier, length) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == length {
                break;
            }
            modifiers |= modifier;
            rest = &rest[length..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "space" => KeyCode::Char(' '),
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            function if function.len() > 1 && function.starts_with('f') => {
                match function[1..].parse::<u8>() {
                    Ok(n) if (1..=12).contains(&n) => KeyCode::F(n),
                    _ => return Err(format!("unknown key `{text}`")),
                }
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => {
                        if modifiers.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                            modifiers.remove(KeyModifiers::SHIFT);
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => return Err(format!("unknown key `{text}`")),
                }
            }
        };
        Ok(Key::new(code, modifiers))
    }

    /// How the help screen and hints show the key.
    pub fn label(&self) -> String {
        let mut label = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            label.push_str("ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            label.push_str("alt-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            label.push_str("shift-");
        }
        let code = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Delete => "delete".into(),
            KeyCode::Insert => "insert".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::F(n) => format!("f{n}"),
            other => format!("{other:?}").to_lowercase(),
        };
        label.push_str(&code);
        label
    }
}

/// One row of the help screen: the keys of an action and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: Action,
    pub desc: String,
}

/// The live keymap.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub name: String,
    by_key: HashMap<Key, Action>,
    /// Bindings in file order (inherited first), for help and hints.
    bindings: Vec<Binding>,
}

/// The built-in keymaps, compiled in from the repository's `keymaps/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[allow(dead_code)]
    name: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
    inherits: Option<Spanned<String>>,
    #[serde(default)]
    bind: Vec<BindRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindRow {
    on: Spanned<OneOrMany>,
    run: Spanned<String>,
    #[serde(default)]
    desc: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn keys(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(key) => vec![key.as_str()],
            OneOrMany::Many(keys) => keys.iter().map(String::as_str).collect(),
        }
    }
}

impl Keymap {
    /// Loads keymap `name`: the built-in one patched by the user's file of
    /// that name, or the user's file alone.
    pub fn load(name: &str) -> Result<Keymap, FileError> {
        let mut keymap = Keymap {
            name: name.to_string(),
            by_key: HashMap::new(),
            bindings: Vec::new(),
        };
        files::layer_named(&mut keymap, name, 0)?;
        Ok(keymap)
    }

    /// The default keymap. It is compiled in and tested, so it cannot fail.
    pub fn builtin_default() -> Keymap {
        let mut keymap = Keymap {
            name: "default".into(),
            by_key: HashMap::new(),
            bindings: Vec::new(),
        };
        let source = Source {
            file: "builtin:keymaps/default.toml".into(),
            text: BUILTIN[0].1.to_string(),
        };
        if let Err(error) = keymap.layer(&source, 0) {
            tracing::error!(%error, "the built-in keymap is broken");
        }
        keymap
    }

    /// Parses one file's text as a whole keymap (tests, validation).
    pub fn from_source(source: &Source) -> Result<Keymap, FileError> {
        let mut keymap = Keymap {
            name: source.file.clone(),
            by_key: HashMap::new(),
            bindings: Vec::new(),
        };
        keymap.layer(source, 0)?;
        Ok(keymap)
    }

    /// Binds `keys` to `action` (or unbinds them), taking them away from
    /// whatever they did before.
    fn rebind(&mut self, keys: Vec<Key>, action: Option<Action>, desc: &str) {
        for binding in &mut self.bindings {
            binding.keys.retain(|key| !keys.contains(key));
        }
        self.bindings.retain(|binding| !binding.keys.is_empty());
        for key in &keys {
            self.by_key.remove(key);
        }
        let Some(action) = action else {
            return;
        };
        for key in &keys {
            self.by_key.insert(*key, action);
        }
        // Keys of one action gather on one help row.
        match self
            .bindings
            .iter_mut()
            .find(|binding| binding.action == action && (desc.is_empty() || binding.desc == desc))
        {
            Some(binding) => binding.keys.extend(keys),
            None => self.bindings.push(Binding {
                keys,
                action,
                desc: if desc.is_empty() {
                    action.name().replace('_', " ")
                } else {
                    desc.to_string()
                },
            }),
        }
    }

    /// The action of a key, if it has one.
    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        self.by_key.get(&Key::of(key)).copied()
    }

    /// Every binding, in file order.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The first key of an action, as shown in hints (`?` for help).
    pub fn hint(&self, action: Action) -> Option<String> {
        self.bindings
            .iter()
            .find(|binding| binding.action == action)
            .and_then(|binding| binding.keys.first())
            .map(Key::label)
    }
}

impl files::Layered for Keymap {
    const KIND: &'static str = "keymaps";
    const WHAT: &'static str = "keymap";
    const BUILTIN: &'static [(&'static str, &'static str)] = BUILTIN;

    fn layer(&mut self, source: &Source, depth: usize) -> Result<(), FileError> {
        let file: KeymapFile = source.parse()?;
        if let Some(parent) = &file.inherits {
            files::inherit(self, source, parent, depth)?;
        }
        let mut seen: HashMap<Key, usize> = HashMap::new();
        for row in &file.bind {
            let run = row.run.get_ref();
            let action = if run == "none" {
                None
            } else {
                Some(Action::parse(run).ok_or_else(|| {
                    source.error_at(
                        row.run.span().start,
                        format!(
                            "unknown action `{run}` (actions: {}, or none)",
                            Action::ALL
                                .iter()
                                .map(|a| a.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?)
            };
            let mut keys = Vec::new();
            for text in row.on.get_ref().keys() {
                let key = Key::parse(text)
                    .map_err(|reason| source.error_at(row.on.span().start, reason))?;
                let line = files::line_of(&source.text, row.on.span().start);
                if let Some(first) = seen.insert(key, line) {
                    return Err(source.error_at(
                        row.on.span().start,
                        format!("key `{text}` is bound twice (first on line {first})"),
                    ));
                }
                keys.push(key);
            }
            if keys.is_empty() {
                return Err(source.error_at(row.on.span().start, "`on` names no key"));
            }
            self.rebind(keys, action, &row.desc);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            file: "test.toml".into(),
            text: text.into(),
        }
    }

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn every_shipped_keymap_loads_and_binds_the_essentials() {
        for (name, text) in BUILTIN {
            let keymap = Keymap::from_source(&Source {
                file: format!("builtin:{name}"),
                text: text.to_string(),
            })
            .unwrap_or_else(|error| panic!("{error}"));
            assert!(!keymap.bindings().is_empty(), "{name}");
        }
        let keymap = Keymap::load("default").unwrap();
        for action in [
            Action::Quit,
            Action::Help,
            Action::Freeze,
            Action::Up,
            Action::Down,
            Action::Filter,
            Action::Sort,
            Action::Acknowledge,
            Action::Delete,
        ] {
            assert!(keymap.hint(action).is_some(), "{action:?} unbound");
        }
        let vim = Keymap::load("vim").unwrap();
        assert_eq!(
            vim.action(press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            vim.action(press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            vim.action(press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit),
            "inherited"
        );
    }

    #[test]
    fn keys_parse_and_normalise() {
        assert_eq!(
            Key::parse("ctrl-c").unwrap(),
            Key::of(press(KeyCode::Char('c'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            Key::parse("G").unwrap(),
            Key::of(press(KeyCode::Char('G'), KeyModifiers::SHIFT))
        );
        assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
        assert_eq!(
            Key::parse("shift-tab").unwrap(),
            Key::of(press(KeyCode::BackTab, KeyModifiers::SHIFT))
        );
        assert_eq!(Key::parse("space").unwrap().label(), "space");
        assert_eq!(
            Key::parse("?").unwrap(),
            Key::of(press(KeyCode::Char('?'), KeyModifiers::SHIFT))
        );
        assert_eq!(
            Key::parse("ctrl--").unwrap(),
            Key::of(press(KeyCode::Char('-'), KeyModifiers::CONTROL))
        );
        assert!(Key::parse("hyper-x").is_err());
        assert!(Key::parse("f13").is_err());
    }

    #[test]
    fn a_later_row_takes_the_key_away() {
        let keymap = Keymap::from_source(&source(
            "[[bind]]\non = [\"x\", \"y\"]\nrun = \"quit\"\n[[bind]]\non = \"z\"\nrun = \"help\"\n",
        ))
        .unwrap();
        assert_eq!(
            keymap.action(press(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        let mut keymap = keymap;
        keymap.rebind(vec![Key::parse("x").unwrap()], None, "");
        assert_eq!(
            keymap.action(press(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(keymap.bindings()[0].keys, vec![Key::parse("y").unwrap()]);
    }

    #[test]
    fn bad_files_are_refused_with_line_and_reason() {
        let unknown_action =
            Keymap::from_source(&source("[[bind]]\non = \"x\"\nrun = \"explode\"\n")).unwrap_err();
        assert_eq!(unknown_action.line, 3);
        assert!(
            unknown_action
                .reason
                .starts_with("unknown action `explode`"),
            "{unknown_action}"
        );

        let unknown_key =
            Keymap::from_source(&source("\n[[bind]]\non = \"hyper-x\"\nrun = \"quit\"\n"))
                .unwrap_err();
        assert_eq!(
            (unknown_key.line, unknown_key.reason.as_str()),
            (3, "unknown key `hyper-x`")
        );

        let twice = Keymap::from_source(&source(
            "[[bind]]\non = \"x\"\nrun = \"quit\"\n\n[[bind]]\non = [\"y\", \"x\"]\nrun = \"help\"\n",
        ))
        .unwrap_err();
        assert_eq!(twice.line, 6);
        assert_eq!(twice.reason, "key `x` is bound twice (first on line 2)");

        let unknown_field =
            Keymap::from_source(&source("[[bind]]\non = \"x\"\nrun = \"quit\"\nwhen = 1\n"))
                .unwrap_err();
        assert_eq!(unknown_field.line, 4, "{unknown_field}");

        let missing_parent = Keymap::from_source(&source("inherits = \"nope\"\n")).unwrap_err();
        assert_eq!(missing_parent.line, 1);
        assert!(
            missing_parent.reason.contains("no keymap named `nope`"),
            "{missing_parent}"
        );
        assert_eq!(
            missing_parent.to_string().split(':').next(),
            Some("test.toml")
        );
    }
}
