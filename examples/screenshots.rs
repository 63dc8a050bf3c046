//! Writes the README's screenshots into `screenshots/` from the real
//! rendering code and the fixture data (`laneswap::tui::fixtures`):
//!
//!     cargo run --example screenshots
//!
//! Each image is an SVG of one screen at 120×32 cells.

use laneswap::tui::app::{App, Msg};
use laneswap::tui::fixtures;
use laneswap::tui::screenshot::{svg, Backdrop, DARK, LIGHT};
use laneswap::tui::view::render;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 32;

fn keys(app: &mut App, keys: &[KeyCode]) {
    for code in keys {
        app.update(Msg::Key(KeyEvent::new(*code, KeyModifiers::NONE)));
    }
}

fn chars(text: &str) -> Vec<KeyCode> {
    text.chars().map(KeyCode::Char).collect()
}

fn shoot(name: &str, app: &App, backdrop: Backdrop) -> std::io::Result<()> {
    // The test backend cannot fail.
    let Ok(mut terminal) = Terminal::new(TestBackend::new(WIDTH, HEIGHT));
    let Ok(_) = terminal.draw(|frame| render(frame, app, fixtures::now()));
    let path = format!("screenshots/{name}.svg");
    std::fs::write(&path, svg(terminal.backend().buffer(), backdrop))?;
    println!("wrote {path}");
    Ok(())
}

fn main() -> std::io::Result<()> {
    std::fs::create_dir_all("screenshots")?;

    let app = fixtures::app("dark");
    shoot("services", &app, DARK)?;

    let mut app = fixtures::app("dark");
    keys(&mut app, &[KeyCode::Enter]);
    shoot("detail", &app, DARK)?;

    let mut app = fixtures::app("dark");
    keys(&mut app, &[KeyCode::Char('2')]);
    shoot("alerts", &app, DARK)?;

    let mut app = fixtures::app("dark");
    keys(&mut app, &[KeyCode::Char('2'), KeyCode::Char('a')]);
    keys(&mut app, &chars("swapping the disk"));
    keys(&mut app, &[KeyCode::Tab]);
    keys(&mut app, &chars("2h"));
    shoot("acknowledge", &app, DARK)?;

    let mut app = fixtures::app("dark");
    keys(&mut app, &[KeyCode::Char('3')]);
    shoot("progress", &app, DARK)?;

    let mut app = fixtures::app("dark");
    keys(&mut app, &[KeyCode::Char('4')]);
    shoot("webhooks", &app, DARK)?;

    let mut app = fixtures::app("dark");
    keys(&mut app, &[KeyCode::Char('?')]);
    shoot("help", &app, DARK)?;

    let mut app = fixtures::app("light");
    keys(&mut app, &[KeyCode::Enter]);
    shoot("theme-light", &app, LIGHT)?;

    let app = fixtures::app("high-contrast");
    shoot("theme-high-contrast", &app, DARK)?;
    Ok(())
}
