//! Where the screens' data comes from and where the operator's actions go:
//! the embedded core ([`local::LocalSource`]) or a remote server over HTTP
//! ([`remote::RemoteSource`]). Both sit behind [`DataSource`], so every
//! screen works the same in both modes.
//!
//! ```text
//!  DataSource::watch ──Signal──┐
//!  UI requests (focus, command)├──> drive() ──snapshot()──> Feed::Data ──> UI
//!  DataSource::execute <───────┘           └──results────> Feed::Done
//! ```
//!
//! [`drive`] owns all I/O: it coalesces change signals (at most one
//! snapshot per [`MIN_REFRESH`]), runs commands in their own tasks and
//! reports back over a channel, so the UI's update and draw never wait.

pub mod local;
pub mod remote;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::data::Dataset;

/// How the UI is connected to its data, always shown in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The embedded server, read directly.
    Local {
        url: String,
    },
    Connecting {
        url: String,
    },
    /// A remote server's live event stream is open.
    Live {
        url: String,
    },
    /// The remote server has no event stream: polling.
    Polling {
        url: String,
        every: Duration,
    },
    /// The remote server cannot be reached; retrying.
    Down {
        url: String,
        error: String,
    },
    /// The remote server answered but refused the stream (e.g. it needs a
    /// token); retrying, in case it is given one.
    Refused {
        url: String,
        error: String,
    },
}

impl Connection {
    pub fn url(&self) -> &str {
        match self {
            Connection::Local { url }
            | Connection::Connecting { url }
            | Connection::Live { url }
            | Connection::Polling { url, .. }
            | Connection::Down { url, .. }
            | Connection::Refused { url, .. } => url,
        }
    }
}

/// A channel's fields as the webhook form edits them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookDraft {
    pub name: Option<String>,
    /// `None` when editing and the URL was left as it was.
    pub url: Option<String>,
    pub kind: String,
    pub levels: Vec<String>,
    pub services: Vec<String>,
    pub enabled: bool,
}

/// An operator's action, carried out by the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Acknowledge {
        alert_id: String,
        note: Option<String>,
        expires_in: Option<Duration>,
    },
    Unacknowledge {
        alert_id: String,
    },
    PauseService {
        service_id: String,
    },
    ResumeService {
        service_id: String,
    },
    DeleteService {
        service_id: String,
    },
    SaveWebhook {
        id: Option<String>,
        draft: WebhookDraft,
    },
    TestWebhook {
        id: String,
    },
    SetWebhookEnabled {
        id: String,
        enabled: bool,
    },
    DeleteWebhook {
        id: String,
    },
}

impl Command {
    /// The status bar's line once the command succeeded on `subject`.
    pub fn confirmation(&self, subject: &str) -> String {
        match self {
            Command::Acknowledge { .. } => format!("Acknowledged the alert on {subject}"),
            Command::Unacknowledge { .. } => format!("Alert on {subject} is open again"),
            Command::PauseService { .. } => format!("Paused {subject} (maintenance)"),
            Command::ResumeService { .. } => format!("Resumed {subject}"),
            Command::DeleteService { .. } => format!("Deleted service {subject}"),
            Command::SaveWebhook { id: None, .. } => format!("Added webhook {subject}"),
            Command::SaveWebhook { id: Some(_), .. } => format!("Saved webhook {subject}"),
            Command::TestWebhook { .. } => {
                "Test notification queued: the webhooks view shows how it went".to_string()
            }
            Command::SetWebhookEnabled { enabled: true, .. } => {
                format!("Webhook {subject} enabled")
            }
            Command::SetWebhookEnabled { enabled: false, .. } => {
                format!("Webhook {subject} disabled")
            }
            Command::DeleteWebhook { .. } => "Webhook deleted".to_string(),
        }
    }
}

/// Why reading or acting failed, in words fit for the status bar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The server said no (a 4xx with its `detail`, or the core refused).
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or answered garbage.
    #[error("{0}")]
    Unreachable(String),
    /// The server has no such endpoint (the original Python server).
    #[error("the server does not support this ({0})")]
    Unsupported(String),
}

/// What a source's watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The data may have changed: take a new snapshot.
    Changed,
    Connection(Connection),
}

/// The data behind the screens.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// Reads everything the screens show, with the detail of `focus`.
    async fn snapshot(&self, focus: Option<&str>) -> Result<Dataset, SourceError>;

    /// Reports changes and the connection state until `signals` closes.
    async fn watch(&self, signals: mpsc::Sender<Signal>);

    /// Carries out an action; returns the name of what it acted on (a
    /// service's or a webhook's name, cleaned) for [`Command::confirmation`].
    async fn execute(&self, command: Command) -> Result<String, SourceError>;
}

/// What the UI asks of the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Read this service's detail with every snapshot.
    Focus(Option<String>),
    Run(Command),
    /// Take a snapshot now (after resuming a frozen display).
    Refresh,
}

/// What the driver tells the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    Data(Box<Dataset>),
    /// A snapshot failed; the screen keeps the last good data.
    Failed(String),
    Connection(Connection),
    /// A command finished: a confirmation or an error.
    Done(Result<String, String>),
}

/// The shortest time between two snapshots: enough for a live screen,
/// little enough that ingest at full load does not turn into redraws.
pub const MIN_REFRESH: Duration = Duration::from_millis(200);

/// The longest time between two snapshots, for what changes without an
/// event (delivery attempts, stalled tasks).
pub const MAX_REFRESH: Duration = Duration::from_secs(5);

/// Runs a source for the UI until `requests` closes: change signals become
/// snapshots, requests become commands, everything goes back on `feed`.
pub async fn drive(
    source: Arc<dyn DataSource>,
    mut requests: mpsc::UnboundedReceiver<Request>,
    feed: mpsc::UnboundedSender<Feed>,
) {
    let (signal_tx, mut signals) = mpsc::channel::<Signal>(64);
    let watcher = {
        let source = Arc::clone(&source);
        tokio::spawn(async move { source.watch(signal_tx).await })
    };
    let (done_tx, mut done) = mpsc::unbounded_channel::<Result<String, String>>();
    let mut focus: Option<String> = None;
    let mut dirty = true;
    let mut last = tokio::time::Instant::now() - MIN_REFRESH;
    let mut periodic = tokio::time::interval(MAX_REFRESH);
    periodic.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if dirty {
            let due = last + MIN_REFRESH;
            tokio::select! {
                biased;
                request = requests.recv() => match request {
                    Some(request) => {
                        handle_request(request, &mut focus, &source, &done_tx);
                        continue;
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(due) => {}
            }
            dirty = false;
            last = tokio::time::Instant::now();
            let message = match source.snapshot(focus.as_deref()).await {
                Ok(data) => Feed::Data(Box::new(data)),
                Err(error) => Feed::Failed(error.to_string()),
            };
            if feed.send(message).is_err() {
                break;
            }
            continue;
        }
        tokio::select! {
            request = requests.recv() => match request {
                Some(request) => dirty |= handle_request(request, &mut focus, &source, &done_tx),
                None => break,
            },
            signal = signals.recv() => match signal {
                Some(Signal::Changed) => dirty = true,
                Some(Signal::Connection(state)) => {
                    if feed.send(Feed::Connection(state)).is_err() {
                        break;
                    }
                }
                None => break,
            },
            _ = periodic.tick() => dirty = true,
            result = done.recv() => {
                if let Some(result) = result {
                    if feed.send(Feed::Done(result)).is_err() {
                        break;
                    }
                    dirty = true;
                }
            }
        }
    }
    watcher.abort();
}

/// Applies a request; true when a snapshot is wanted.
fn handle_request(
    request: Request,
    focus: &mut Option<String>,
    source: &Arc<dyn DataSource>,
    done: &mpsc::UnboundedSender<Result<String, String>>,
) -> bool {
    match request {
        Request::Focus(id) => {
            let changed = *focus != id;
            *focus = id;
            changed
        }
        Request::Refresh => true,
        Request::Run(command) => {
            let source = Arc::clone(source);
            let done = done.clone();
            tokio::spawn(async move {
                let described = command.clone();
                let result = source
                    .execute(command)
                    .await
                    .map(|subject| described.confirmation(&subject))
                    .map_err(|error| error.to_string());
                let _ = done.send(result);
            });
            false
        }
    }
}
