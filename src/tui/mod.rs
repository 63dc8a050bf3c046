//! `laneswap-term`'s terminal UI.
//!
//! ```text
//! crossterm keys ─┐  (input thread)
//! 1 s tick ───────┼──> Msg ──> App::update ──> Request ──> source::drive ──> DataSource
//! source::drive ──┘ Feed (data, connection, results)                 (local core | remote HTTP)
//!                        └──> view::render(&App) when something changed
//! ```
//!
//! All I/O lives in the source's driver; update and draw only touch the
//! [`app::App`] state. Logs go to a file while the UI owns the terminal;
//! the terminal is restored on quit, on panic (ratatui's hook) and on
//! SIGTERM.

pub mod app;
pub mod data;
pub mod files;
pub mod fixtures;
pub mod keymap;
pub mod screenshot;
pub mod source;
pub mod theme;
pub mod view;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use tokio::sync::mpsc;

use self::app::{App, Msg};
use self::keymap::Keymap;
use self::source::{Connection, DataSource, Feed, Request};
use self::theme::Theme;

/// What the UI starts with.
pub struct Options {
    pub keymap: Keymap,
    pub theme: Theme,
    /// Start with the display frozen (`--paused`).
    pub frozen: bool,
    pub log_file: Option<String>,
}

/// The "5s ago" labels tick once a second.
const TICK: Duration = Duration::from_secs(1);

/// Runs the UI on `source` until the user quits or `stop` resolves.
pub async fn run(
    source: Arc<dyn DataSource>,
    connection: Connection,
    options: Options,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut app = App::new(options.keymap, options.theme, connection);
    app.frozen = options.frozen;
    app.log_file = options.log_file;

    let (request_tx, request_rx) = mpsc::unbounded_channel::<Request>();
    let (feed_tx, mut feed) = mpsc::unbounded_channel::<Feed>();
    let driver = tokio::spawn(source::drive(source, request_rx, feed_tx));
    let (input_tx, mut input) = mpsc::unbounded_channel::<Msg>();
    let input_stop = Arc::new(AtomicBool::new(false));
    let reader = spawn_input_reader(input_tx, Arc::clone(&input_stop));

    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(error) => {
            input_stop.store(true, Ordering::Relaxed);
            driver.abort();
            return Err(error);
        }
    };
    let result = async {
        if let Ok(size) = terminal.size() {
            app.update(Msg::Resize { rows: size.height });
        }
        let mut tick = tokio::time::interval(TICK);
        tokio::pin!(stop);
        let mut dirty = true;
        while !app.quit {
            if dirty {
                terminal.draw(|frame| view::render(frame, &app, chrono::Utc::now()))?;
                dirty = false;
            }
            let mut messages = Vec::new();
            tokio::select! {
                Some(message) = input.recv() => messages.push(message),
                Some(update) = feed.recv() => messages.push(Msg::Feed(update)),
                _ = tick.tick() => dirty = true,
                _ = &mut stop => break,
                else => break,
            }
            // Everything already waiting is applied before the next draw.
            while let Ok(message) = input.try_recv() {
                messages.push(message);
            }
            while let Ok(update) = feed.try_recv() {
                messages.push(Msg::Feed(update));
            }
            for message in messages {
                dirty = true;
                for request in app.update(message) {
                    let _ = request_tx.send(request);
                }
            }
        }
        Ok(())
    }
    .await;
    ratatui::restore();
    input_stop.store(true, Ordering::Relaxed);
    driver.abort();
    let _ = reader.join();
    result
}

/// Reads the terminal's events on a thread of its own (crossterm's reads
/// block) and forwards keys and resizes.
fn spawn_input_reader(
    messages: mpsc::UnboundedSender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::error!(%error, "cannot read the terminal");
                    return;
                }
            }
            let message = match event::read() {
                Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Ok(Event::Resize(_, rows)) => Msg::Resize { rows },
                Ok(_) => continue,
                Err(error) => {
                    tracing::error!(%error, "cannot read the terminal");
                    return;
                }
            };
            if messages.send(message).is_err() {
                return;
            }
        }
    })
}
