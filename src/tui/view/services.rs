//! The services table, with the detail pane beside it (or below it on a
//! narrow terminal).

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::{ago, detail, panel, window};
use crate::tui::app::App;
use crate::tui::theme::status_symbol;

pub fn render(frame: &mut Frame, app: &App, area: Rect, now: DateTime<Utc>) {
    let table_area = if app.detail && app.selected_service().is_some() {
        let [table, pane] = if area.width >= 110 {
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(area)
        } else {
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area)
        };
        detail::render(frame, app, pane, now);
        table
    } else {
        area
    };
    render_table(frame, app, table_area, now);
}

fn render_table(frame: &mut Frame, app: &App, area: Rect, now: DateTime<Utc>) {
    let theme = &app.theme;
    let title = if app.order.len() == app.data.services.len() {
        " Services ".to_string()
    } else {
        format!(
            " Services ({} of {}) ",
            app.order.len(),
            app.data.services.len()
        )
    };
    let block = panel(app, title, !app.detail);
    if app.order.is_empty() {
        let text = if app.data.services.is_empty() {
            vec![
                Line::from("No services registered yet."),
                Line::from(""),
                Line::from(Span::styled(
                    format!(
                        "Register one: curl -X POST {}/api/services -H 'content-type: application/json' -d '{{\"service_name\": \"my-service\"}}'",
                        app.connection.url()
                    ),
                    theme.style("ui.muted"),
                )),
                Line::from(Span::styled(
                    "or start laneswap-term --demo to see simulated services.",
                    theme.style("ui.muted"),
                )),
            ]
        } else {
            vec![Line::from(format!(
                "No service matches the filter \"{}\" (esc clears it).",
                app.filter.value()
            ))]
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    // Only the rows that fit are built: a frame costs the same with ten
    // services or ten thousand. The window follows the selection.
    let selected = app.selected[0];
    let visible = usize::from(area.height.saturating_sub(3));
    let (start, end) = window(selected, app.order.len(), visible);
    let rows = app.order[start..end].iter().map(|&index| {
        let row = &app.data.services[index];
        let status = if row.paused {
            format!("{} {} ‖", status_symbol(row.status), row.status)
        } else {
            format!("{} {}", status_symbol(row.status), row.status)
        };
        let progress = row
            .progress
            .map(|percent| format!("{percent:>3.0}%"))
            .unwrap_or_default();
        Row::new(vec![
            Cell::from(row.name.as_str()),
            Cell::from(status).style(theme.status(row.status)),
            Cell::from(ago(row.last_heartbeat, now)),
            Cell::from(progress).style(theme.style("ui.gauge")),
            Cell::from(row.message.as_str()),
            Cell::from(row.id.as_str()).style(theme.style("ui.muted")),
        ])
    });
    let wide = area.width >= 100;
    let widths = if wide {
        vec![
            Constraint::Percentage(22),
            Constraint::Length(13),
            Constraint::Length(14),
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Percentage(18),
        ]
    } else {
        vec![
            Constraint::Percentage(30),
            Constraint::Length(13),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Length(0),
        ]
    };
    let table = Table::new(rows, widths)
        .header(
            Row::new(vec!["NAME", "STATUS", "LAST BEAT", "PROG", "MESSAGE", "ID"])
                .style(theme.style("ui.header")),
        )
        .row_highlight_style(theme.style("ui.selection"))
        .block(block);
    let mut state = TableState::default().with_selected(Some(selected - start));
    frame.render_stateful_widget(table, area, &mut state);
}
