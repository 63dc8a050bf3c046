//! `laneswap-term`'s terminal UI: the embedded server's services, live.
//!
//! The loop reads keys (crossterm) and snapshots of the core, updates the
//! [`app::App`] state and redraws with the pure [`view::render`]. Logs go
//! to a file while the UI owns the terminal; the terminal is restored on
//! quit, on panic (ratatui's hook) and on SIGTERM.

pub mod app;
pub mod data;
pub mod files;
pub mod keymap;
pub mod source;
pub mod theme;
pub mod view;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyEventKind};

use self::app::{action_for, App, View};
use crate::core::Core;

/// How often the screen refreshes from the core.
const FRAME: Duration = Duration::from_millis(250);

/// Runs the UI until the user quits or `stop` turns true.
pub fn run(core: &Core, listen: String, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let mut app = App {
        listen,
        ..App::default()
    };
    let result = (|| -> std::io::Result<()> {
        let mut last_refresh = Instant::now() - FRAME;
        while !app.quit && !stop.load(Ordering::Relaxed) {
            if last_refresh.elapsed() >= FRAME {
                let now = core.now();
                let view = core.read(|registry| View::of(registry, now));
                app.refresh(view);
                terminal.draw(|frame| view::render(frame, &app, now))?;
                last_refresh = Instant::now();
            }
            if event::poll(FRAME.saturating_sub(last_refresh.elapsed()))? {
                match event::read()? {
                    Event::Key(key) if key.kind == KeyEventKind::Press => {
                        if let Some(action) = action_for(key) {
                            app.apply(action);
                            let now = core.now();
                            terminal.draw(|frame| view::render(frame, &app, now))?;
                        }
                    }
                    Event::Resize(_, _) => last_refresh = Instant::now() - FRAME,
                    _ => {}
                }
            }
        }
        Ok(())
    })();
    ratatui::restore();
    result
}
