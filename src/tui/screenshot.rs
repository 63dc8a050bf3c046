//! Screenshots: a rendered ratatui buffer written as SVG, so the README's
//! images come from the real rendering code (`cargo run --example
//! screenshots`), with no terminal or recorder involved.

use std::fmt::Write;

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

use super::app::{App, Msg};
use super::fixtures;
use super::view::render;

/// Size of every screenshot, in cells.
pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 32;

/// Width and height of one cell, in SVG pixels, at 14 px type.
const CELL_WIDTH: f64 = 8.4;
const CELL_HEIGHT: f64 = 18.0;

/// The terminal's own colours, for `Color::Reset`.
#[derive(Debug, Clone, Copy)]
pub struct Backdrop {
    pub foreground: &'static str,
    pub background: &'static str,
}

pub const DARK: Backdrop = Backdrop {
    foreground: "#d0d0d0",
    background: "#1c1c1c",
};

pub const LIGHT: Backdrop = Backdrop {
    foreground: "#262626",
    background: "#fbfbfb",
};

/// The xterm default palette for the 16 named colours.
fn hex(colour: Color, backdrop: Backdrop, foreground: bool) -> String {
    let named = match colour {
        Color::Reset => {
            return if foreground {
                backdrop.foreground.to_string()
            } else {
                backdrop.background.to_string()
            }
        }
        Color::Black => "#000000",
        Color::Red => "#cd0000",
        Color::Green => "#00cd00",
        Color::Yellow => "#cdcd00",
        Color::Blue => "#0000ee",
        Color::Magenta => "#cd00cd",
        Color::Cyan => "#00cdcd",
        Color::Gray => "#e5e5e5",
        Color::DarkGray => "#7f7f7f",
        Color::LightRed => "#ff0000",
        Color::LightGreen => "#00ff00",
        Color::LightYellow => "#ffff00",
        Color::LightBlue => "#5c5cff",
        Color::LightMagenta => "#ff00ff",
        Color::LightCyan => "#00ffff",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(index) => return indexed(index),
    };
    named.to_string()
}

/// The xterm 256-colour cube and grey ramp.
fn indexed(index: u8) -> String {
    match index {
        0..=15 => "#808080".to_string(),
        16..=231 => {
            let n = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(n / 36),
                level((n / 6) % 6),
                level(n % 6)
            )
        }
        _ => {
            let grey = 8 + (index - 232) * 10;
            format!("#{grey:02x}{grey:02x}{grey:02x}")
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The buffer as an SVG document.
pub fn svg(buffer: &Buffer, backdrop: Backdrop) -> String {
    let area = buffer.area;
    let width = f64::from(area.width) * CELL_WIDTH;
    let height = f64::from(area.height) * CELL_HEIGHT;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace" font-size="14px">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        backdrop.background
    );
    for y in 0..area.height {
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(area.x + x, area.y + y)];
            let start = x;
            let style_of = |cell: &ratatui::buffer::Cell| (cell.fg, cell.bg, cell.modifier);
            let style = style_of(cell);
            let mut text = String::new();
            while x < area.width {
                let next = &buffer[(area.x + x, area.y + y)];
                if style_of(next) != style {
                    break;
                }
                text.push_str(next.symbol());
                x += 1;
            }
            let (mut fg, mut bg) = (hex(style.0, backdrop, true), hex(style.1, backdrop, false));
            if style.2.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let left = f64::from(start) * CELL_WIDTH;
            let top = f64::from(y) * CELL_HEIGHT;
            let run = f64::from(x - start) * CELL_WIDTH;
            if bg != backdrop.background {
                let _ = writeln!(
                    out,
                    r#"<rect x="{left:.1}" y="{top:.1}" width="{run:.1}" height="{CELL_HEIGHT}" fill="{bg}"/>"#
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let mut attributes = String::new();
            if style.2.contains(Modifier::BOLD) {
                attributes.push_str(r#" font-weight="bold""#);
            }
            if style.2.contains(Modifier::ITALIC) {
                attributes.push_str(r#" font-style="italic""#);
            }
            if style.2.contains(Modifier::DIM) {
                attributes.push_str(r#" opacity="0.6""#);
            }
            if style.2.contains(Modifier::UNDERLINED) {
                attributes.push_str(r#" text-decoration="underline""#);
            }
            let _ = writeln!(
                out,
                r#"<text x="{left:.1}" y="{:.1}" fill="{fg}" textLength="{run:.1}" lengthAdjust="spacingAndGlyphs" xml:space="preserve"{attributes}>{}</text>"#,
                top + CELL_HEIGHT * 0.75,
                escape(&text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// One screenshot: a file name, the fixture app after some keys, and the
/// terminal colours it is shown on.
pub struct Scene {
    pub name: &'static str,
    pub app: App,
    pub backdrop: Backdrop,
}

fn scene(name: &'static str, theme: &str, keys: &[KeyCode], backdrop: Backdrop) -> Scene {
    let mut app = fixtures::app(theme);
    for code in keys {
        app.update(Msg::Key(KeyEvent::new(*code, KeyModifiers::NONE)));
    }
    Scene {
        name,
        app,
        backdrop,
    }
}

fn typed(text: &str) -> impl Iterator<Item = KeyCode> + '_ {
    text.chars().map(KeyCode::Char)
}

/// Every screenshot the README shows.
pub fn scenes() -> Vec<Scene> {
    let mut ack: Vec<KeyCode> = vec![KeyCode::Char('2'), KeyCode::Char('a')];
    ack.extend(typed("swapping the disk"));
    ack.push(KeyCode::Tab);
    ack.extend(typed("2h"));
    vec![
        scene("services", "dark", &[], DARK),
        scene("detail", "dark", &[KeyCode::Enter], DARK),
        scene("alerts", "dark", &[KeyCode::Char('2')], DARK),
        scene("acknowledge", "dark", &ack, DARK),
        scene("progress", "dark", &[KeyCode::Char('3')], DARK),
        scene("webhooks", "dark", &[KeyCode::Char('4')], DARK),
        scene("help", "dark", &[KeyCode::Char('?')], DARK),
        scene("theme-light", "light", &[KeyCode::Enter], LIGHT),
        scene("theme-high-contrast", "high-contrast", &[], DARK),
    ]
}

impl Scene {
    /// The scene drawn and written as SVG.
    pub fn svg(&self) -> String {
        // The test backend cannot fail.
        let Ok(mut terminal) = Terminal::new(TestBackend::new(WIDTH, HEIGHT));
        let Ok(_) = terminal.draw(|frame| render(frame, &self.app, fixtures::now()));
        svg(terminal.backend().buffer(), self.backdrop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn cells_become_text_and_backgrounds() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 10, 2));
        buffer.set_string(0, 0, "a<b", Style::new().fg(Color::Red).bg(Color::Blue));
        buffer.set_string(0, 1, "ok", Style::new().add_modifier(Modifier::BOLD));
        let svg = svg(&buffer, DARK);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(">a&lt;b</text>"), "{svg}");
        assert!(svg.contains(r##"fill="#0000ee""##), "background of the run");
        assert!(svg.contains(r#"font-weight="bold""#));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn the_colour_cube_maps_like_xterm() {
        assert_eq!(indexed(16), "#000000");
        assert_eq!(indexed(231), "#ffffff");
        assert_eq!(indexed(232), "#080808");
    }
}
