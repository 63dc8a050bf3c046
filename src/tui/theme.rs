//! Themes: colours by role, read from `themes/*.toml`.
//!
//! ```toml
//! name = "light"
//! inherits = "dark"                  # optional: start from another theme
//!
//! [palette]                          # optional names for colours
//! leaf = "#2e7d32"
//!
//! [styles]
//! "status.healthy" = "leaf"          # a colour: the foreground
//! "ui.selection" = { fg = "black", bg = "cyan", modifiers = ["bold"] }
//! ```
//!
//! Roles are dotted and fall back to their parent: without
//! `status.stale`, `status` applies, then nothing. Colours are names
//! (`red`, `light-blue`, `dark-gray`), `#rrggbb`, a 0–255 index or a
//! palette name. Unknown roles, colours and modifiers are refused with the
//! file and line.

use std::collections::HashMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use super::files::{self, FileError, Layered, Source};
use crate::core::Status;

/// Every role a theme may colour.
pub const ROLES: &[&str] = &[
    "ui",
    "ui.text",
    "ui.muted",
    "ui.title",
    "ui.border",
    "ui.border.focused",
    "ui.header",
    "ui.selection",
    "ui.tab",
    "ui.tab.active",
    "ui.paused",
    "ui.statusbar",
    "ui.key",
    "ui.ok",
    "ui.warning",
    "ui.error",
    "ui.gauge",
    "ui.gauge.stalled",
    "ui.sparkline",
    "ui.popup",
    "ui.input",
    "status",
    "status.healthy",
    "status.warning",
    "status.degraded",
    "status.error",
    "status.busy",
    "status.stale",
    "status.unknown",
    "alert.open",
    "alert.acknowledged",
    "alert.resolved",
];

/// The built-in themes, compiled in from the repository's `themes/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// The live theme: a resolved style for every role.
#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    /// Styles set by the files, before fallback.
    set: HashMap<String, Style>,
    /// Every role, fallbacks applied.
    resolved: HashMap<&'static str, Style>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    name: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
    inherits: Option<Spanned<String>>,
    #[serde(default)]
    palette: HashMap<String, Spanned<String>>,
    #[serde(default)]
    styles: indexmap::IndexMap<String, Spanned<StyleSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StyleSpec {
    Colour(String),
    Full {
        fg: Option<String>,
        bg: Option<String>,
        #[serde(default)]
        modifiers: Vec<String>,
    },
}

impl Theme {
    /// Loads theme `name`: the built-in one patched by the user's file of
    /// that name, or the user's file alone.
    pub fn load(name: &str) -> Result<Theme, FileError> {
        let mut theme = Theme::empty(name);
        files::layer_named(&mut theme, name, 0)?;
        theme.resolve();
        Ok(theme)
    }

    /// The default (dark) theme; compiled in and tested.
    pub fn builtin_default() -> Theme {
        let mut theme = Theme::empty("dark");
        let source = Source {
            file: "builtin:themes/dark.toml".into(),
            text: BUILTIN[0].1.to_string(),
        };
        if let Err(error) = theme.layer(&source, 0) {
            tracing::error!(%error, "the built-in theme is broken");
        }
        theme.resolve();
        theme
    }

    /// One file's text as a whole theme (tests, validation).
    pub fn from_source(source: &Source) -> Result<Theme, FileError> {
        let mut theme = Theme::empty(&source.file);
        theme.layer(source, 0)?;
        theme.resolve();
        Ok(theme)
    }

    fn empty(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            set: HashMap::new(),
            resolved: HashMap::new(),
        }
    }

    fn resolve(&mut self) {
        self.resolved = ROLES
            .iter()
            .map(|role| {
                let mut key: &str = role;
                let style = loop {
                    if let Some(style) = self.set.get(key) {
                        break *style;
                    }
                    match key.rfind('.') {
                        Some(dot) => key = &key[..dot],
                        None => break Style::default(),
                    }
                };
                (*role, style)
            })
            .collect();
    }

    /// The style of a role (unknown roles fall back like known ones).
    pub fn style(&self, role: &str) -> Style {
        if let Some(style) = self.resolved.get(role) {
            return *style;
        }
        match role.rfind('.') {
            Some(dot) => self.style(&role[..dot]),
            None => Style::default(),
        }
    }

    /// The style of a service status.
    pub fn status(&self, status: Status) -> Style {
        self.style(match status {
            Status::Healthy => "status.healthy",
            Status::Warning => "status.warning",
            Status::Degraded => "status.degraded",
            Status::Error => "status.error",
            Status::Busy => "status.busy",
            Status::Stale => "status.stale",
            Status::Unknown => "status.unknown",
        })
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin_default()
    }
}

fn parse_modifier(text: &str) -> Option<Modifier> {
    Some(match text.to_ascii_lowercase().replace('_', "-").as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed-out" | "strikethrough" => Modifier::CROSSED_OUT,
        "slow-blink" | "blink" => Modifier::SLOW_BLINK,
        _ => return None,
    })
}

/// The symbol shown before a status, so that it reads without colour.
pub fn status_symbol(status: Status) -> &'static str {
    match status {
        Status::Healthy => "●",
        Status::Warning => "▲",
        Status::Degraded => "◆",
        Status::Error => "✖",
        Status::Busy => "◌",
        Status::Stale => "◷",
        Status::Unknown => "?",
    }
}

impl files::Layered for Theme {
    const KIND: &'static str = "themes";
    const WHAT: &'static str = "theme";
    const BUILTIN: &'static [(&'static str, &'static str)] = BUILTIN;

    fn layer(&mut self, source: &Source, depth: usize) -> Result<(), FileError> {
        let file: ThemeFile = source.parse().map_err(|mut error| {
            if error.reason.contains("untagged enum StyleSpec") {
                error.reason = "a style is a colour string or { fg, bg, modifiers = [...] }".into();
            }
            error
        })?;
        if let Some(parent) = &file.inherits {
            files::inherit(self, source, parent, depth)?;
        }
        let colour = |text: &str, offset: usize| -> Result<Color, FileError> {
            if let Some(named) = file.palette.get(text) {
                return named.get_ref().parse::<Color>().map_err(|_| {
                    source.error_at(
                        named.span().start,
                        format!("bad colour `{}` in the palette", named.get_ref()),
                    )
                });
            }
            text.parse::<Color>().map_err(|_| {
                source.error_at(
                    offset,
                    format!("bad colour `{text}` (a name such as `light-red`, `#rrggbb`, 0-255, or a palette name)"),
                )
            })
        };
        for (name, spec) in &file.styles {
            if !ROLES.contains(&name.as_str()) {
                return Err(source.error_at(
                    spec.span().start,
                    format!("unknown role `{name}` (roles: {})", ROLES.join(", ")),
                ));
            }
            let at = spec.span().start;
            let style = match spec.get_ref() {
                StyleSpec::Colour(text) => Style::new().fg(colour(text, at)?),
                StyleSpec::Full { fg, bg, modifiers } => {
                    let mut style = Style::new();
                    if let Some(fg) = fg {
                        style = style.fg(colour(fg, at)?);
                    }
                    if let Some(bg) = bg {
                        style = style.bg(colour(bg, at)?);
                    }
                    for modifier in modifiers {
                        style = style.add_modifier(parse_modifier(modifier).ok_or_else(|| {
                            source.error_at(
                                at,
                                format!("unknown modifier `{modifier}` (bold, dim, italic, underlined, reversed, crossed-out)"),
                            )
                        })?);
                    }
                    style
                }
            };
            self.set.insert(name.clone(), style);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            file: "mine.toml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn every_shipped_theme_loads_and_colours_every_status() {
        for (name, _) in BUILTIN {
            let theme = Theme::load(name).unwrap_or_else(|error| panic!("{error}"));
            for status in Status::ALL {
                assert!(
                    theme.status(status).fg.is_some(),
                    "{name}: {status:?} has no colour"
                );
            }
            assert_ne!(
                theme.style("ui.selection"),
                Style::default(),
                "{name}: selection"
            );
        }
    }

    #[test]
    fn roles_fall_back_to_their_parent_and_palettes_name_colours() {
        let theme = Theme::from_source(&source(
            "[palette]\nleaf = \"#00ff00\"\n[styles]\n\"status\" = \"red\"\n\"status.healthy\" = \"leaf\"\n\"ui.border\" = { fg = \"blue\", modifiers = [\"bold\"] }\n",
        ))
        .unwrap();
        assert_eq!(
            theme.status(Status::Healthy).fg,
            Some(Color::Rgb(0, 255, 0))
        );
        assert_eq!(
            theme.status(Status::Stale).fg,
            Some(Color::Red),
            "falls back to status"
        );
        assert_eq!(
            theme.style("ui.border.focused"),
            Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD)
        );
        assert_eq!(theme.style("ui.text"), Style::default());
    }

    #[test]
    fn bad_files_are_refused_with_line_and_reason() {
        let role =
            Theme::from_source(&source("[styles]\n\"status.stail\" = \"red\"\n")).unwrap_err();
        assert_eq!(role.line, 2);
        assert!(
            role.reason.starts_with("unknown role `status.stail`"),
            "{role}"
        );

        let colour =
            Theme::from_source(&source("[styles]\n\n\"ui.text\" = \"reddish\"\n")).unwrap_err();
        assert_eq!(colour.line, 3);
        assert!(
            colour.reason.starts_with("bad colour `reddish`"),
            "{colour}"
        );

        let modifier = Theme::from_source(&source(
            "[styles]\n\"ui.text\" = { fg = \"red\", modifiers = [\"loud\"] }\n",
        ))
        .unwrap_err();
        assert_eq!(modifier.line, 2);
        assert!(
            modifier.reason.starts_with("unknown modifier `loud`"),
            "{modifier}"
        );

        let shape = Theme::from_source(&source("[styles]\n\"ui.text\" = 42\n")).unwrap_err();
        assert_eq!(shape.line, 2, "{shape}");

        let missing = Theme::from_source(&source("inherits = \"nope\"\n")).unwrap_err();
        assert_eq!(
            missing
                .to_string()
                .lines()
                .next()
                .unwrap()
                .split(": ")
                .next(),
            Some("mine.toml:1")
        );
        assert!(missing.reason.contains("no theme named `nope`"));
    }
}
