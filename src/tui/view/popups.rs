//! Popups over the screen: help (from the live keymap), confirmations, the
//! acknowledgement form and the webhook form.

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::Input;

use super::{fit, panel};
use crate::tui::app::forms::{AckForm, WebhookField, WebhookForm, KINDS};
use crate::tui::app::{App, Popup};

pub fn render(frame: &mut Frame, app: &App, _now: DateTime<Utc>) {
    match &app.popup {
        None => {}
        Some(Popup::Help { scroll }) => help(frame, app, *scroll),
        Some(Popup::Confirm { question, .. }) => confirm(frame, app, question),
        Some(Popup::Ack(form)) => ack(frame, app, form),
        Some(Popup::Webhook(form)) => webhook(frame, app, form),
    }
}

/// A centred rectangle of at most `width` × `height`.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn frame_popup(frame: &mut Frame, app: &App, area: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, area);
    let block = panel(app, title, true).style(app.theme.style("ui.popup"));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

fn help(frame: &mut Frame, app: &App, scroll: u16) {
    let theme = &app.theme;
    let bindings = app.keymap.bindings();
    let key_width = bindings
        .iter()
        .map(|b| keys_label(b).chars().count())
        .max()
        .unwrap_or(8)
        .min(24);
    let mut lines: Vec<Line> = bindings
        .iter()
        .map(|binding| {
            Line::from(vec![
                Span::styled(
                    format!(" {:<key_width$}  ", keys_label(binding)),
                    theme.style("ui.key"),
                ),
                Span::raw(binding.desc.clone()),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " In forms: tab/↑↓ move between fields, enter saves, esc cancels.",
        theme.style("ui.muted"),
    )));
    lines.push(Line::from(Span::styled(
        format!(
            " Keymap: {} · theme: {} · both can be changed with --keymap and --theme.",
            app.keymap.name, app.theme.name
        ),
        theme.style("ui.muted"),
    )));
    if let Some(log) = &app.log_file {
        lines.push(Line::from(Span::styled(
            format!(" Log file: {log}"),
            theme.style("ui.muted"),
        )));
    }
    let area = centred(frame.area(), 84, lines.len() as u16 + 2);
    let inner = frame_popup(frame, app, area, " Help · esc closes ");
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

fn keys_label(binding: &crate::tui::keymap::Binding) -> String {
    binding
        .keys
        .iter()
        .map(|key| key.label())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn confirm(frame: &mut Frame, app: &App, question: &str) {
    let area = centred(frame.area(), 64, 6);
    let inner = frame_popup(frame, app, area, " Confirm ");
    let lines = vec![
        Line::from(question.to_string()),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", app.theme.style("ui.key")),
            Span::raw(" yes   "),
            Span::styled("n", app.theme.style("ui.key")),
            Span::raw(" no"),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

/// Draws `label: [input]` on one row; returns where the cursor goes.
fn field_row(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    label: &str,
    input: &Input,
    focused: bool,
) -> Option<(u16, u16)> {
    let [label_area, input_area] =
        Layout::horizontal([Constraint::Length(11), Constraint::Min(4)]).areas(area);
    let label_style = if focused {
        app.theme.style("ui.key")
    } else {
        app.theme.style("ui.muted")
    };
    frame.render_widget(
        Paragraph::new(label.to_string()).style(label_style),
        label_area,
    );
    let width = usize::from(input_area.width.saturating_sub(1));
    let scroll = input.visual_scroll(width);
    let shown: String = input.value().chars().skip(scroll).collect();
    frame.render_widget(
        Paragraph::new(shown).style(app.theme.style("ui.input")),
        input_area,
    );
    focused.then(|| {
        let cursor = input.visual_cursor().saturating_sub(scroll) as u16;
        (input_area.x + cursor, input_area.y)
    })
}

fn ack(frame: &mut Frame, app: &App, form: &AckForm) {
    let area = centred(frame.area(), 72, 10);
    let inner = frame_popup(frame, app, area, " Acknowledge ");
    let rows: Vec<Rect> = inner.rows().collect();
    if rows.len() < 7 {
        return;
    }
    frame.render_widget(
        Paragraph::new(format!("Alert on {}", fit(&form.service_name, 56))),
        rows[0],
    );
    let mut cursor = field_row(frame, app, rows[2], "Note", &form.note, form.field == 0);
    cursor = cursor.or(field_row(
        frame,
        app,
        rows[3],
        "Expires in",
        &form.expiry,
        form.field == 1,
    ));
    frame.render_widget(
        Paragraph::new("            30m, 2h, 1d… empty: until the service recovers")
            .style(app.theme.style("ui.muted")),
        rows[4],
    );
    if let Some(error) = &form.error {
        frame.render_widget(
            Paragraph::new(error.as_str()).style(app.theme.style("ui.error")),
            rows[5],
        );
    }
    frame.render_widget(
        Paragraph::new("enter acknowledge · tab next field · esc cancel")
            .style(app.theme.style("ui.muted")),
        rows[6],
    );
    if let Some(position) = cursor {
        frame.set_cursor_position(position);
    }
}

fn webhook(frame: &mut Frame, app: &App, form: &WebhookForm) {
    let height = 13 + form.errors.len() as u16;
    let area = centred(frame.area(), 86, height);
    let title = if form.id.is_some() {
        " Edit webhook "
    } else {
        " Add webhook "
    };
    let inner = frame_popup(frame, app, area, title);
    let rows: Vec<Rect> = inner.rows().collect();
    if rows.len() < 10 {
        return;
    }
    let mut cursor = None;
    for (index, field) in WebhookField::ALL.iter().enumerate() {
        let focused = form.field == index;
        let row = rows[index];
        match form.input(*field) {
            Some(input) => {
                cursor = cursor.or(field_row(frame, app, row, field.label(), input, focused));
            }
            None => {
                let value = match field {
                    WebhookField::Kind => format!("‹ {} ›  (space/←→ change)", KINDS[form.kind]),
                    _ => format!(
                        "[{}]  (space toggles)",
                        if form.enabled { "x" } else { " " }
                    ),
                };
                let [label_area, value_area] =
                    Layout::horizontal([Constraint::Length(11), Constraint::Min(4)]).areas(row);
                let label_style = if focused {
                    app.theme.style("ui.key")
                } else {
                    app.theme.style("ui.muted")
                };
                frame.render_widget(Paragraph::new(field.label()).style(label_style), label_area);
                let value_style = if focused {
                    app.theme.style("ui.input")
                } else {
                    app.theme.style("ui.text")
                };
                frame.render_widget(Paragraph::new(value).style(value_style), value_area);
            }
        }
    }
    frame.render_widget(
        Paragraph::new(vec![
            Line::from("Levels: info, success, warning, error, comma-separated; empty: all."),
            Line::from(
                "Services: ids, comma-separated; empty: all. Kind auto: Discord by its URL.",
            ),
        ])
        .style(app.theme.style("ui.muted")),
        Rect {
            height: 2,
            ..rows[6]
        },
    );
    for (error, row) in form.errors.iter().zip(rows[8..].iter()) {
        frame.render_widget(
            Paragraph::new(error.as_str()).style(app.theme.style("ui.error")),
            *row,
        );
    }
    if let Some(row) = rows.get(9 + form.errors.len()) {
        frame.render_widget(
            Paragraph::new("enter save · tab/↑↓ next field · esc cancel")
                .style(app.theme.style("ui.muted")),
            *row,
        );
    }
    if let Some(position) = cursor {
        frame.set_cursor_position(position);
    }
}
