//! Drawing, as pure functions of the [`App`] state and the current time.
//!
//! ```text
//! ┌ laneswap ─ embedded server http://127.0.0.1:8000 ─────────── PAUSED ┐
//! │ Services 12 | Healthy 9 | Warning 1 | Error 1 | Stale 1 | …         │
//! └─────────────────────────────────────────────────────────────────────┘
//!  1 Services   2 Alerts (2)   3 Progress   4 Webhooks
//! ┌ Services ─────────────────────────────┐┌ detail ───────────────────┐
//! │ NAME   STATUS   LAST HEARTBEAT   …    ││ metadata, rhythm, tasks,  │
//! │ ...                                   ││ alert, events             │
//! └───────────────────────────────────────┘└───────────────────────────┘
//!  ? help · q quit · / filter · …                      sort: severity
//! ```
//!
//! Popups (help, confirmations, forms) draw over the middle. Only the rows
//! that fit are built, so a frame costs the same at 10 or 10,000 services.

mod detail;
mod lists;
mod popups;
mod services;

pub use crate::core::text::{ago, relative, short_duration};

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Tabs};
use ratatui::Frame;

use super::app::{App, Tab};
use super::keymap::Action;
use super::source::Connection;

/// Draws the whole screen.
pub fn render(frame: &mut Frame, app: &App, now: DateTime<Utc>) {
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_header(frame, app, header);
    render_tabs(frame, app, tabs);
    let at = app.shown_at(now);
    match app.tab {
        Tab::Services => services::render(frame, app, body, at),
        Tab::Alerts => lists::alerts(frame, app, body, at),
        Tab::Progress => lists::progress(frame, app, body, at),
        Tab::Webhooks => lists::webhooks(frame, app, body, at),
    }
    render_footer(frame, app, footer);
    popups::render(frame, app, at);
}

fn render_header(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let total = app.data.services.len();
    let mut spans = vec![Span::styled(
        format!(" Services {total}"),
        theme.style("ui.title"),
    )];
    for (status, count) in app.data.counts() {
        spans.push(Span::styled(" | ", theme.style("ui.border")));
        let name = status.as_str();
        let label = format!("{}{} {count}", name[..1].to_uppercase(), &name[1..]);
        let style = if count > 0 {
            theme.status(status)
        } else {
            theme.style("ui.muted")
        };
        spans.push(Span::styled(label, style));
    }
    let paused = app.data.services.iter().filter(|s| s.paused).count();
    if paused > 0 {
        spans.push(Span::styled(" | ", theme.style("ui.border")));
        spans.push(Span::styled(
            format!("Paused {paused}"),
            theme.style("ui.muted"),
        ));
    }
    let mut title = vec![Span::styled(" laneswap ", theme.style("ui.title"))];
    title.extend(connection_spans(app));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("ui.border"))
        .title(Line::from(title));
    if app.frozen {
        block = block.title_top(
            Line::from(Span::styled(" PAUSED ", theme.style("ui.paused"))).right_aligned(),
        );
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).block(block), area);
}

/// The mode, URL and connection state for the header.
fn connection_spans(app: &App) -> Vec<Span<'static>> {
    let theme = &app.theme;
    let mut spans = match &app.connection {
        Connection::Local { url } => vec![Span::styled(
            format!("─ embedded server {url} "),
            theme.style("ui.text"),
        )],
        Connection::Connecting { url } => vec![
            Span::styled(format!("─ {url} "), theme.style("ui.text")),
            Span::styled("connecting… ", theme.style("ui.warning")),
        ],
        Connection::Live { url } => vec![
            Span::styled(format!("─ {url} "), theme.style("ui.text")),
            Span::styled("● live ", theme.style("ui.ok")),
        ],
        Connection::Polling { url, every } => vec![
            Span::styled(format!("─ {url} "), theme.style("ui.text")),
            Span::styled(
                format!(
                    "◌ polling every {} (no event stream) ",
                    short_duration(every.as_secs_f64())
                ),
                theme.style("ui.warning"),
            ),
        ],
        Connection::Down { url, error } => vec![
            Span::styled(format!("─ {url} "), theme.style("ui.text")),
            Span::styled(
                format!("✖ unreachable: {error}; retrying "),
                theme.style("ui.error"),
            ),
        ],
        Connection::Refused { url, error } => vec![
            Span::styled(format!("─ {url} "), theme.style("ui.text")),
            Span::styled(
                format!("✖ refused: {error}; retrying "),
                theme.style("ui.error"),
            ),
        ],
    };
    if let Some(error) = &app.fetch_error {
        spans.push(Span::styled(
            format!("⚠ refresh failed: {error} "),
            theme.style("ui.error"),
        ));
    }
    if let Some(detail) = &app.data.store_degraded {
        spans.push(Span::styled(
            format!("⚠ store degraded: {detail} "),
            theme.style("ui.warning"),
        ));
    }
    spans
}

fn render_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let active_alerts = app
        .data
        .alerts
        .as_ref()
        .map(|alerts| alerts.iter().filter(|a| a.is_active()).count());
    let running = app.data.tasks.iter().filter(|t| !t.finished).count();
    let titles: Vec<Line> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, tab)| {
            let count = match tab {
                Tab::Alerts => active_alerts.filter(|n| *n > 0).map(|n| format!(" ({n})")),
                Tab::Progress => (running > 0).then(|| format!(" ({running})")),
                _ => None,
            };
            Line::from(format!(
                "{} {}{}",
                i + 1,
                tab.title(),
                count.unwrap_or_default()
            ))
        })
        .collect();
    let index = Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0);
    let tabs = Tabs::new(titles)
        .select(index)
        .style(theme.style("ui.tab"))
        .highlight_style(theme.style("ui.tab.active"))
        .divider(" ");
    frame.render_widget(tabs, area);
}

fn render_footer(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let right = footer_right(app);
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(right.chars().count() as u16 + 1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(right)
            .style(theme.style("ui.statusbar"))
            .right_aligned(),
        right_area,
    );
    if app.filtering {
        let prefix = "/";
        let width = left_area.width.saturating_sub(2) as usize;
        let scroll = app.filter.visual_scroll(width);
        let line = Line::from(vec![
            Span::styled(prefix, theme.style("ui.key")),
            Span::styled(
                app.filter.value().chars().skip(scroll).collect::<String>(),
                theme.style("ui.input"),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), left_area);
        let cursor = app.filter.visual_cursor().saturating_sub(scroll) as u16;
        frame.set_cursor_position((left_area.x + 1 + cursor, left_area.y));
        return;
    }
    let line = match &app.notice {
        Some(notice) => Line::from(Span::styled(
            format!(" {}", notice.text),
            if notice.error {
                theme.style("ui.error")
            } else {
                theme.style("ui.ok")
            },
        )),
        None => hints(app),
    };
    frame.render_widget(Paragraph::new(line), left_area);
}

/// Filter, sort and position, on the right of the status bar.
fn footer_right(app: &App) -> String {
    let mut parts = Vec::new();
    if app.tab == Tab::Services {
        if !app.filter.value().is_empty() {
            parts.push(format!("filter: {}", app.filter.value()));
        }
        parts.push(format!("sort: {}", app.sort.label()));
    }
    let len = app.len(app.tab);
    if len > 0 {
        let selected = app.selected[Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0)];
        parts.push(format!("{}/{len}", selected + 1));
    }
    parts.join(" · ")
}

/// Key hints for the current view, from the live keymap.
fn hints(app: &App) -> Line<'static> {
    let mut actions = vec![(Action::Help, "help"), (Action::Quit, "quit")];
    match app.tab {
        Tab::Services => actions.extend([
            (Action::Filter, "filter"),
            (Action::Sort, "sort"),
            (Action::Detail, "detail"),
            (Action::Acknowledge, "ack"),
            (Action::PauseService, "pause"),
            (Action::Delete, "delete"),
        ]),
        Tab::Alerts => actions.extend([
            (Action::Acknowledge, "ack"),
            (Action::Unacknowledge, "unack"),
            (Action::Detail, "service"),
        ]),
        Tab::Progress => actions.push((Action::Detail, "service")),
        Tab::Webhooks => actions.extend([
            (Action::NewWebhook, "add"),
            (Action::EditWebhook, "edit"),
            (Action::TestWebhook, "test"),
            (Action::ToggleWebhook, "on/off"),
            (Action::Delete, "delete"),
        ]),
    }
    actions.push((Action::Freeze, "freeze"));
    let mut spans = vec![Span::raw(" ")];
    for (action, label) in actions {
        let Some(key) = app.keymap.hint(action) else {
            continue;
        };
        if spans.len() > 1 {
            spans.push(Span::styled(" · ", app.theme.style("ui.muted")));
        }
        spans.push(Span::styled(key, app.theme.style("ui.key")));
        spans.push(Span::styled(
            format!(" {label}"),
            app.theme.style("ui.statusbar"),
        ));
    }
    if app.data.services.is_empty() && app.tab == Tab::Services {
        spans.insert(
            1,
            Span::styled("Waiting for services…  ", app.theme.style("ui.muted")),
        );
    }
    Line::from(spans)
}

/// A block with the theme's border, focused or not.
fn panel<'a>(app: &App, title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    let border = if focused {
        app.theme.style("ui.border.focused")
    } else {
        app.theme.style("ui.border")
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title)
        .title_style(app.theme.style("ui.title"))
}

/// The first `visible` rows around `selected`: the window follows it.
fn window(selected: usize, len: usize, visible: usize) -> (usize, usize) {
    let visible = visible.max(1);
    let offset = (selected + 1).saturating_sub(visible);
    (offset, (offset + visible).min(len))
}

/// Truncates to `width` characters with an ellipsis.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Bold for emphasis inside a themed line.
fn bold(style: Style) -> Style {
    style.add_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests;
