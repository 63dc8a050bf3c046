//! Drawing, as a pure function of the [`App`] state.
//!
//! ```text
//! ┌ laneswap ─ 127.0.0.1:8000 ───────────────────────────── PAUSED ┐
//! │ Services 12 | Healthy 9 | Warning 1 | Error 1 | Stale 1 | …    │
//! ├────────────────────────────────────────────────────────────────┤
//! │ NAME        STATUS      LAST HEARTBEAT  MESSAGE          ID    │
//! │ ...                                                             │
//! └ q quit · space pause · ↑↓ move ────────────────────────────────┘
//! ```

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::app::App;
use crate::core::Status;

/// Colour and symbol of a status.
pub fn status_style(status: Status) -> (Color, &'static str) {
    match status {
        Status::Healthy => (Color::Green, "●"),
        Status::Warning => (Color::Yellow, "▲"),
        Status::Degraded => (Color::LightYellow, "◆"),
        Status::Error => (Color::Red, "✖"),
        Status::Busy => (Color::Cyan, "◌"),
        Status::Stale => (Color::Magenta, "◷"),
        Status::Unknown => (Color::Gray, "?"),
    }
}

/// "5s ago", "3m ago", "2h ago", "4d ago", or "never".
pub fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(at) = at else {
        return "never".to_string();
    };
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame, app: &App, now: DateTime<Utc>) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let total: usize = app.view.counts.iter().map(|(_, n)| n).sum();
    let mut spans = vec![Span::styled(
        format!("Services {total}"),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (status, count) in &app.view.counts {
        let (colour, _) = status_style(*status);
        spans.push(Span::raw(" | "));
        let name = status.as_str();
        let label = format!("{}{} {count}", name[..1].to_uppercase(), &name[1..]);
        spans.push(Span::styled(label, Style::new().fg(colour)));
    }
    let mut title = vec![Span::styled(
        " laneswap ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    title.push(Span::raw(format!("─ {} ", app.listen)));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Line::from(title));
    if app.paused {
        block = block.title_top(
            Line::from(Span::styled(
                " PAUSED ",
                Style::new().fg(Color::Black).bg(Color::Yellow),
            ))
            .right_aligned(),
        );
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).block(block), header);

    let shown_at = if app.paused {
        app.view.taken_at.unwrap_or(now)
    } else {
        now
    };
    // Only the rows that fit are built: a frame costs the same with ten
    // services or ten thousand. The window follows the selection.
    let visible = usize::from(body.height.saturating_sub(3)).max(1);
    let offset = (app.selected + 1).saturating_sub(visible);
    let rows = app.view.rows.iter().skip(offset).take(visible).map(|row| {
        let (colour, symbol) = status_style(row.status);
        let status = if row.paused {
            format!("{symbol} {} (paused)", row.status)
        } else {
            format!("{symbol} {}", row.status)
        };
        Row::new(vec![
            Cell::from(row.name.clone()),
            Cell::from(status).style(Style::new().fg(colour)),
            Cell::from(ago(row.last_heartbeat, shown_at)),
            Cell::from(row.message.clone()),
            Cell::from(row.id.clone()).style(Style::new().fg(Color::DarkGray)),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Percentage(24),
            Constraint::Length(20),
            Constraint::Length(15),
            Constraint::Percentage(36),
            Constraint::Percentage(20),
        ],
    )
    .header(
        Row::new(vec!["NAME", "STATUS", "LAST HEARTBEAT", "MESSAGE", "ID"])
            .style(Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
    .block(Block::default().borders(Borders::ALL).title(" Services "));
    let mut state = TableState::default()
        .with_selected((!app.view.rows.is_empty()).then_some(app.selected - offset));
    frame.render_stateful_widget(table, body, &mut state);

    let hints = if app.view.rows.is_empty() {
        " No services registered. Waiting for services…  q quit · space pause".to_string()
    } else {
        " q quit · space pause · ↑↓/jk move · g/G top/bottom".to_string()
    };
    frame.render_widget(
        Paragraph::new(hints).style(Style::new().fg(Color::DarkGray)),
        footer,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{ServiceRow, View};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn fixture(paused: bool) -> App {
        let now = at("2026-11-28T12:00:00Z");
        let row =
            |id: &str, name: &str, status, seconds_ago: Option<i64>, message: &str, paused| {
                ServiceRow {
                    id: id.into(),
                    name: name.into(),
                    status,
                    last_heartbeat: seconds_ago.map(|s| now - chrono::Duration::seconds(s)),
                    message: message.into(),
                    paused,
                }
            };
        App {
            view: View {
                rows: vec![
                    row("d1", "database", Status::Error, Some(4), "disk full", false),
                    row(
                        "q1",
                        "queue",
                        Status::Stale,
                        Some(95),
                        "No heartbeat received in 60 seconds",
                        false,
                    ),
                    row("w1", "worker", Status::Warning, Some(7300), "slow", true),
                    row("n1", "new-service", Status::Unknown, None, "", false),
                    row("a1", "api", Status::Healthy, Some(0), "ok", false),
                ],
                counts: vec![
                    (Status::Healthy, 1),
                    (Status::Warning, 1),
                    (Status::Degraded, 0),
                    (Status::Error, 1),
                    (Status::Busy, 0),
                    (Status::Stale, 1),
                    (Status::Unknown, 1),
                ],
                taken_at: Some(now),
            },
            selected: 1,
            paused,
            quit: false,
            listen: "http://127.0.0.1:8000".into(),
        }
    }

    fn draw(app: &App) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(100, 14)).unwrap();
        terminal
            .draw(|frame| render(frame, app, at("2026-11-28T12:00:00Z")))
            .unwrap();
        terminal
    }

    #[test]
    fn services_screen() {
        insta::assert_snapshot!(draw(&fixture(false)).backend());
    }

    #[test]
    fn services_screen_paused() {
        insta::assert_snapshot!(draw(&fixture(true)).backend());
    }

    #[test]
    fn the_window_follows_the_selection() {
        let mut app = fixture(false);
        let template = app.view.rows[4].clone();
        app.view.rows = (0..1000)
            .map(|i| ServiceRow {
                name: format!("service-{i:04}"),
                ..template.clone()
            })
            .collect();
        app.selected = 900;
        let terminal = draw(&app);
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(
            text.contains("service-0900"),
            "the selected row is on screen"
        );
        assert!(!text.contains("service-0000"));
    }

    #[test]
    fn heartbeat_ages_read_naturally() {
        let now = at("2026-11-28T12:00:00Z");
        let before = |s: i64| Some(now - chrono::Duration::seconds(s));
        assert_eq!(ago(before(5), now), "5s ago");
        assert_eq!(ago(before(185), now), "3m ago");
        assert_eq!(ago(before(7300), now), "2h ago");
        assert_eq!(ago(before(200_000), now), "2d ago");
        assert_eq!(ago(None, now), "never");
    }
}
