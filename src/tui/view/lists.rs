//! The alerts, progress and webhooks views.

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, LineGauge, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::{ago, fit, panel, relative, short_duration, window};
use crate::tui::app::{App, Tab};
use crate::tui::theme::status_symbol;

fn unsupported(frame: &mut Frame, app: &App, area: Rect, title: &str, what: &str) {
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!("This server has no {what} API.")),
            Line::from(Span::styled(
                "The original LaneSwap server only knows services and heartbeats.",
                app.theme.style("ui.muted"),
            )),
        ])
        .block(panel(app, title.to_string(), true)),
        area,
    );
}

fn empty(frame: &mut Frame, app: &App, area: Rect, title: &str, lines: Vec<Line>) {
    frame.render_widget(
        Paragraph::new(lines).block(panel(app, title.to_string(), true)),
        area,
    );
}

/// Alerts, active first then recently resolved.
///
/// ```text
/// STATE         SERVICE    STATUS   OPENED   ACKNOWLEDGEMENT            RESOLVED
/// ● open        payments   ✖ error  3m ago
/// ◐ ack'd       queue      ◷ stale  1h ago   ana: "on it" (expires in 25m)
/// ○ resolved    api        ✖ error  2d ago                               2d ago
/// ```
pub fn alerts(frame: &mut Frame, app: &App, area: Rect, now: DateTime<Utc>) {
    let theme = &app.theme;
    let Some(alerts) = &app.data.alerts else {
        return unsupported(frame, app, area, " Alerts ", "alerts");
    };
    if alerts.is_empty() {
        return empty(
            frame,
            app,
            area,
            " Alerts ",
            vec![Line::from(
                "No alerts: every service is fine, or none went bad yet.",
            )],
        );
    }
    let selected = app.selected[1];
    let (start, end) = window(
        selected,
        alerts.len(),
        usize::from(area.height.saturating_sub(3)),
    );
    let rows = alerts[start..end].iter().map(|alert| {
        let (symbol, role, label) = match (alert.state.as_str(), &alert.ack) {
            ("resolved", _) => ("○", "alert.resolved", "resolved"),
            (_, Some(_)) => ("◐", "alert.acknowledged", "acknowledged"),
            _ => ("●", "alert.open", "open"),
        };
        let ack = alert.ack.as_ref().map_or(String::new(), |ack| {
            let mut text = ack.by.clone();
            if !ack.note.is_empty() {
                text.push_str(&format!(": \"{}\"", ack.note));
            }
            if let Some(expires) = ack.expires_at {
                text.push_str(&format!(" (expires {})", relative(expires, now)));
            }
            text
        });
        let reopened = if alert.reopened > 0 {
            format!(" ↻{}", alert.reopened)
        } else {
            String::new()
        };
        Row::new(vec![
            Cell::from(format!("{symbol} {label}{reopened}")).style(theme.style(role)),
            Cell::from(alert.service_name.as_str()),
            Cell::from(format!("{} {}", status_symbol(alert.status), alert.status))
                .style(theme.status(alert.status)),
            Cell::from(ago(alert.opened_at, now)),
            Cell::from(ack),
            Cell::from(
                alert
                    .resolved_at
                    .map(|at| ago(Some(at), now))
                    .unwrap_or_default(),
            ),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Percentage(20),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Fill(1),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new(vec![
            "STATE",
            "SERVICE",
            "STATUS",
            "OPENED",
            "ACKNOWLEDGEMENT",
            "RESOLVED",
        ])
        .style(theme.style("ui.header")),
    )
    .row_highlight_style(theme.style("ui.selection"))
    .block(panel(app, " Alerts ", true));
    let mut state = TableState::default().with_selected(Some(selected - start));
    frame.render_stateful_widget(table, area, &mut state);
}

/// Every progress task with its gauge, rate and ETA; stalled ones marked.
///
/// ```text
/// SERVICE     TASK          PROGRESS                 STEPS       RATE     ETA
/// reporting   nightly-run   ━━━━━━━━━──────  62%     620/1000    3.1/s    2m
/// ```
pub fn progress(frame: &mut Frame, app: &App, area: Rect, now: DateTime<Utc>) {
    let theme = &app.theme;
    if !app.data.has_progress && app.data.tasks.is_empty() {
        return unsupported(frame, app, area, " Progress ", "progress");
    }
    if app.data.tasks.is_empty() {
        return empty(
            frame,
            app,
            area,
            " Progress ",
            vec![Line::from(
                "No progress tasks. Services report them with POST /api/progress.",
            )],
        );
    }
    let block = panel(app, " Progress ", true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [header, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let columns = |area: Rect| {
        Layout::horizontal([
            Constraint::Percentage(16),
            Constraint::Percentage(18),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(18),
        ])
        .spacing(1)
        .areas::<7>(area)
    };
    for (cell, title) in columns(header).iter().zip([
        "SERVICE", "TASK", "PROGRESS", "STEPS", "RATE", "ETA", "STATE",
    ]) {
        frame.render_widget(Paragraph::new(title).style(theme.style("ui.header")), *cell);
    }
    let names: std::collections::HashMap<&str, &str> = app
        .data
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let selected = app.selected[Tab::ALL
        .iter()
        .position(|t| *t == Tab::Progress)
        .unwrap_or(2)];
    let (start, end) = window(selected, app.data.tasks.len(), usize::from(body.height));
    for (index, row) in (start..end).zip(body.rows()) {
        let task = &app.data.tasks[index];
        let cells = columns(row);
        if index == selected {
            frame
                .buffer_mut()
                .set_style(row, theme.style("ui.selection"));
        }
        let service = names
            .get(task.service_id.as_str())
            .copied()
            .unwrap_or(task.service_id.as_str());
        let gauge_style = if task.stalled {
            theme.style("ui.gauge.stalled")
        } else {
            theme.style("ui.gauge")
        };
        let state = if task.stalled {
            format!(
                "⚠ stalled {}",
                task.updated_at
                    .map(|at| ago(Some(at), now))
                    .unwrap_or_default()
            )
        } else {
            task.status.clone()
        };
        let state_style = if task.stalled {
            theme.style("ui.warning")
        } else if task.finished && task.status != "completed" {
            theme.style("ui.error")
        } else {
            theme.style("ui.text")
        };
        let texts = [
            fit(service, usize::from(cells[0].width)),
            fit(&task.name, usize::from(cells[1].width)),
        ];
        for (cell, text) in cells.iter().zip(texts) {
            frame.render_widget(Paragraph::new(text), *cell);
        }
        frame.render_widget(
            LineGauge::default()
                .ratio((task.percent / 100.0).clamp(0.0, 1.0))
                .label(format!("{:>4.0}%", task.percent))
                .filled_symbol("━")
                .unfilled_symbol("─")
                .filled_style(gauge_style)
                .unfilled_style(theme.style("ui.muted")),
            cells[2],
        );
        let rate = task
            .rate_per_second
            .map(|rate| {
                if rate >= 1.0 {
                    format!("{rate:.1}/s")
                } else {
                    format!("{:.1}/m", rate * 60.0)
                }
            })
            .unwrap_or_else(|| "–".into());
        let eta = task
            .eta_seconds
            .map(short_duration)
            .unwrap_or_else(|| "–".into());
        frame.render_widget(
            Paragraph::new(format!("{}/{}", task.current, task.total)),
            cells[3],
        );
        frame.render_widget(Paragraph::new(rate), cells[4]);
        frame.render_widget(Paragraph::new(eta), cells[5]);
        frame.render_widget(Paragraph::new(state).style(state_style), cells[6]);
    }
}

/// Notification channels and their health.
///
/// ```text
/// NAME        KIND      URL                               LEVELS   STATE      LAST DELIVERY
/// ops-alerts  discord   https://discord.com/api/…/****    all      enabled    delivered 204 · 5m ago
/// ```
pub fn webhooks(frame: &mut Frame, app: &App, area: Rect, now: DateTime<Utc>) {
    let theme = &app.theme;
    let Some(channels) = &app.data.channels else {
        return unsupported(frame, app, area, " Webhooks ", "webhooks");
    };
    if channels.is_empty() {
        let key = app
            .keymap
            .hint(crate::tui::keymap::Action::NewWebhook)
            .unwrap_or_default();
        return empty(
            frame,
            app,
            area,
            " Webhooks ",
            vec![
                Line::from("No notification channels yet."),
                Line::from(Span::styled(
                    format!("Press {key} to add a Discord or generic JSON webhook, or set LANESWAP_DISCORD_WEBHOOK."),
                    theme.style("ui.muted"),
                )),
            ],
        );
    }
    let selected = app.selected[3];
    let (start, end) = window(
        selected,
        channels.len(),
        usize::from(area.height.saturating_sub(3)),
    );
    let rows = channels[start..end].iter().map(|channel| {
        let (state, role) = match (&channel.broken, channel.enabled) {
            (Some(reason), _) => (format!("broken: {reason}"), "ui.error"),
            (None, true) => ("enabled".to_string(), "ui.ok"),
            (None, false) => ("disabled".to_string(), "ui.muted"),
        };
        let list = |items: &[String]| {
            if items.is_empty() {
                "all".to_string()
            } else {
                items.join(",")
            }
        };
        let (last, last_role) = match &channel.last_delivery {
            None => ("never".to_string(), "ui.muted"),
            Some(delivery) => {
                let code = delivery
                    .http_status
                    .map(|code| format!(" {code}"))
                    .unwrap_or_default();
                let mut text = format!("{}{code} · {}", delivery.state, ago(delivery.at, now));
                if !delivery.error.is_empty() && delivery.state != "delivered" {
                    text.push_str(&format!(" · {}", delivery.error));
                }
                let role = match delivery.state.as_str() {
                    "delivered" => "ui.ok",
                    "failed" => "ui.error",
                    _ => "ui.warning",
                };
                (text, role)
            }
        };
        let mut name = channel.name.clone();
        if channel.source == "environment" {
            name.push_str(" (env)");
        }
        Row::new(vec![
            Cell::from(name),
            Cell::from(channel.kind.as_str()),
            Cell::from(channel.url.as_str()).style(theme.style("ui.muted")),
            Cell::from(list(&channel.levels)),
            Cell::from(list(&channel.services)),
            Cell::from(state).style(theme.style(role)),
            Cell::from(last).style(theme.style(last_role)),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Percentage(15),
            Constraint::Length(8),
            Constraint::Percentage(25),
            Constraint::Length(14),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new(vec![
            "NAME",
            "KIND",
            "URL",
            "LEVELS",
            "SERVICES",
            "STATE",
            "LAST DELIVERY",
        ])
        .style(theme.style("ui.header")),
    )
    .row_highlight_style(theme.style("ui.selection"))
    .block(panel(app, " Webhooks ", true));
    let mut state = TableState::default().with_selected(Some(selected - start));
    frame.render_stateful_widget(table, area, &mut state);
}
