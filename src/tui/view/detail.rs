//! The selected service's detail pane.
//!
//! ```text
//! ┌ payments ───────────────────────────────┐
//! │ id        3f2c…                          │
//! │ status    ✖ error · last beat 4s ago     │
//! │ stale     in 56s                         │
//! │ alert     acknowledged by ana: "on it"   │
//! │ region    eu-west-1                      │
//! │ rhythm (s between beats)                 │
//! │ ▂▂▂▂▂▂▇▂▂▂▂                               │
//! │ tasks     import ████████░░░░ 62%        │
//! │ events    12:00:01 ✖ error  disk full    │
//! └──────────────────────────────────────────┘
//! ```

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Sparkline};
use ratatui::Frame;

use super::{ago, bold, fit, panel, relative};
use crate::tui::app::App;
use crate::tui::theme::status_symbol;

/// Label column width.
const LABEL: usize = 10;

pub fn render(frame: &mut Frame, app: &App, area: Rect, now: DateTime<Utc>) {
    let theme = &app.theme;
    let Some(service) = app.selected_service() else {
        return;
    };
    let block = panel(app, format!(" {} ", service.name), true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let detail = app
        .data
        .detail
        .as_ref()
        .filter(|detail| detail.id == service.id);
    let label = |text: &str| Span::styled(format!("{text:<LABEL$}"), theme.style("ui.muted"));
    let width = usize::from(inner.width).saturating_sub(LABEL);

    let mut info = vec![
        Line::from(vec![label("id"), Span::raw(fit(&service.id, width))]),
        Line::from(vec![
            label("status"),
            Span::styled(
                format!("{} {}", status_symbol(service.status), service.status),
                bold(theme.status(service.status)),
            ),
            Span::raw(format!(" · last beat {}", ago(service.last_heartbeat, now))),
        ]),
    ];
    if !service.message.is_empty() {
        info.push(Line::from(vec![
            label("message"),
            Span::raw(fit(&service.message, width)),
        ]));
    }
    if service.paused {
        let until = detail
            .and_then(|d| d.pause_until)
            .map_or("until resumed".to_string(), |until| relative(until, now));
        info.push(Line::from(vec![
            label("paused"),
            Span::styled(format!("maintenance, {until}"), theme.style("ui.warning")),
        ]));
    } else if let Some(stale_at) = detail.and_then(|d| d.stale_at) {
        if service.status != crate::core::Status::Stale {
            info.push(Line::from(vec![
                label("stale"),
                Span::raw(relative(stale_at, now)),
            ]));
        }
    }
    match app.data.active_alert(&service.id) {
        Some(alert) => {
            let text = match &alert.ack {
                Some(ack) => {
                    let mut text = format!("acknowledged by {}", ack.by);
                    if !ack.note.is_empty() {
                        text.push_str(&format!(": \"{}\"", ack.note));
                    }
                    if let Some(expires) = ack.expires_at {
                        text.push_str(&format!(" (expires {})", relative(expires, now)));
                    }
                    text
                }
                None => format!("open since {}", ago(alert.opened_at, now)),
            };
            let style = if alert.ack.is_some() {
                theme.style("alert.acknowledged")
            } else {
                theme.style("alert.open")
            };
            info.push(Line::from(vec![
                label("alert"),
                Span::styled(fit(&text, width), style),
            ]));
        }
        None if app.data.alerts.is_some() => {
            info.push(Line::from(vec![
                label("alert"),
                Span::styled("none", theme.style("ui.muted")),
            ]));
        }
        None => {}
    }
    if let Some(detail) = detail {
        for (key, value) in detail.metadata.iter().take(8) {
            info.push(Line::from(vec![
                label(&fit(key, LABEL - 1)),
                Span::raw(fit(value, width)),
            ]));
        }
        if detail.metadata.len() > 8 {
            info.push(Line::from(Span::styled(
                format!("… {} more metadata keys", detail.metadata.len() - 8),
                theme.style("ui.muted"),
            )));
        }
    }
    let tasks: Vec<_> = app.data.tasks_of(&service.id).take(4).collect();
    let rhythm = detail.map_or(&[][..], |d| d.intervals.as_slice());
    let [info_area, rhythm_area, tasks_area, events_area] = Layout::vertical([
        Constraint::Length(info.len() as u16),
        Constraint::Length(if rhythm.len() >= 2 { 3 } else { 0 }),
        Constraint::Length(tasks.len() as u16),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(info), info_area);

    if rhythm.len() >= 2 {
        let [title, spark] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(2)]).areas(rhythm_area);
        let shown = &rhythm[rhythm.len().saturating_sub(usize::from(spark.width))..];
        let min = shown.iter().min().copied().unwrap_or(0);
        let max = shown.iter().max().copied().unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                label("rhythm"),
                Span::styled(
                    format!("{min}s–{max}s between the last {} beats", shown.len() + 1),
                    theme.style("ui.muted"),
                ),
            ])),
            title,
        );
        frame.render_widget(
            Sparkline::default()
                .data(shown)
                .style(theme.style("ui.sparkline")),
            spark,
        );
    }

    for (task, row) in tasks.iter().zip(tasks_area.rows()) {
        let style = if task.stalled {
            theme.style("ui.gauge.stalled")
        } else {
            theme.style("ui.gauge")
        };
        let mut text = format!("{:.0}%", task.percent);
        if task.stalled {
            text.push_str(" stalled");
        }
        let gauge = LineGauge::default()
            .ratio((task.percent / 100.0).clamp(0.0, 1.0))
            .label(Line::from(vec![
                Span::styled(
                    format!("{:<LABEL$}", fit(&task.name, LABEL - 1)),
                    theme.style("ui.muted"),
                ),
                Span::raw(format!("{text:>12} ")),
            ]))
            .filled_symbol("━")
            .unfilled_symbol("─")
            .filled_style(style)
            .unfilled_style(theme.style("ui.muted"));
        frame.render_widget(gauge, row);
    }

    if let Some(detail) = detail {
        let capacity = usize::from(events_area.height.saturating_sub(1));
        let mut lines = vec![Line::from(Span::styled(
            "events (newest first)",
            theme.style("ui.muted"),
        ))];
        if detail.events.is_empty() {
            lines.push(Line::from(Span::styled(
                "no heartbeat yet",
                theme.style("ui.muted"),
            )));
        }
        for event in detail.events.iter().rev().take(capacity) {
            lines.push(Line::from(vec![
                Span::styled(
                    event.at.format("%H:%M:%S ").to_string(),
                    theme.style("ui.muted"),
                ),
                Span::styled(
                    format!(
                        "{} {:<8} ",
                        status_symbol(event.status),
                        event.status.as_str()
                    ),
                    theme.status(event.status),
                ),
                Span::raw(fit(&event.message, width)),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), events_area);
    }
}
