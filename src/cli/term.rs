//! `laneswap-term`: the terminal UI with the server inside, watching a
//! remote server, or headless.

use std::process::ExitCode;

use clap::Parser;

use super::{run_headless, ServerArgs, EXIT_USAGE};
use crate::server::{termination_signal, Server};

/// `laneswap-term`: the operator's terminal, hosting the server.
#[derive(Debug, Parser)]
#[command(
    name = "laneswap-term",
    version,
    about = "laneswap heartbeat monitor: terminal UI with the HTTP API running inside",
    after_help = "Keys: press ? in the UI for the live keymap. The UI logs to ~/.local/state/laneswap/laneswap-term.log ($XDG_STATE_HOME)."
)]
pub struct TermCli {
    /// Run without the terminal UI: server, stale monitor, logs to stdout.
    #[arg(long, conflicts_with_all = ["api_url", "paused"])]
    pub no_ui: bool,
    /// Watch a remote laneswap (or original LaneSwap) server instead of running one, e.g. http://host:8000
    #[arg(long, value_name = "URL", conflicts_with = "demo")]
    pub api_url: Option<String>,
    /// Remote mode: bearer token for a server that requires one
    #[arg(
        long,
        env = "LANESWAP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Remote mode: seconds between polls when the server has no event stream
    #[arg(long, value_name = "SECONDS", default_value = "2")]
    pub refresh: f64,
    /// Colour theme: dark, light, high-contrast, or a file in $XDG_CONFIG_HOME/laneswap/themes/
    #[arg(
        long,
        value_name = "NAME",
        env = "LANESWAP_THEME",
        default_value = "dark"
    )]
    pub theme: String,
    /// Keymap: default, vim, or a file in $XDG_CONFIG_HOME/laneswap/keymaps/
    #[arg(
        long,
        value_name = "NAME",
        env = "LANESWAP_KEYMAP",
        default_value = "default"
    )]
    pub keymap: String,
    /// Start with the display frozen (SPACE resumes)
    #[arg(long)]
    pub paused: bool,
    /// Start simulated services (steady, flaky, one going stale, a long task); in memory unless --store is given
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Entry of `laneswap-term`.
pub fn run_term(mut cli: TermCli) -> ExitCode {
    if cli.demo && cli.server.store.is_none() {
        cli.server.store = Some("memory:".to_string());
    }
    if cli.no_ui {
        return run_headless(&cli.server, cli.demo);
    }
    if let Some(url) = &cli.api_url {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|rest| rest.trim_matches('/').is_empty()) {
            eprintln!(
                "laneswap-term: --api-url {url:?}: give the server's base URL, e.g. http://127.0.0.1:8000"
            );
            return ExitCode::from(EXIT_USAGE);
        }
    }
    if !(cli.refresh.is_finite() && (0.2..=3600.0).contains(&cli.refresh)) {
        eprintln!(
            "laneswap-term: --refresh {}: give seconds between 0.2 and 3600",
            cli.refresh
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let theme = match crate::tui::theme::Theme::load(&cli.theme) {
        Ok(theme) => theme,
        Err(error) => {
            eprintln!("laneswap-term: theme {}: {error}", cli.theme);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let keymap = match crate::tui::keymap::Keymap::load(&cli.keymap) {
        Ok(keymap) => keymap,
        Err(error) => {
            eprintln!("laneswap-term: keymap {}: {error}", cli.keymap);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        if cli.api_url.is_some() {
            eprintln!("laneswap-term: --api-url needs a terminal (stdout is not one)");
            return ExitCode::from(EXIT_USAGE);
        }
        eprintln!("laneswap-term: stdout is not a terminal; running headless (as with --no-ui)");
        return run_headless(&cli.server, cli.demo);
    }
    let log_path = ui_log_path();
    let options = crate::tui::Options {
        keymap,
        theme,
        frozen: cli.paused,
        log_file: Some(log_path.display().to_string()),
    };
    run_ui(&cli, options, &log_path)
}

/// Where `laneswap-term` writes its log while the UI owns the terminal.
pub fn ui_log_path() -> std::path::PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
        .join("laneswap")
        .join("laneswap-term.log")
}

/// Sends tracing to the UI's log file; the guard flushes it when dropped.
fn log_to_file(
    log_path: &std::path::Path,
    level: &str,
) -> Result<tracing_appender::non_blocking::WorkerGuard, String> {
    let log_dir = log_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    std::fs::create_dir_all(&log_dir).map_err(|error| {
        format!(
            "cannot create the log directory {}: {error}",
            log_dir.display()
        )
    })?;
    let file_name = log_path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| "laneswap-term.log".into());
    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::never(&log_dir, file_name));
    let filter = std::env::var("LANESWAP_LOG")
        .ok()
        .and_then(|spec| tracing_subscriber::EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(format!("laneswap={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
    Ok(guard)
}

/// The terminal UI: with the server inside, or watching a remote one.
fn run_ui(cli: &TermCli, options: crate::tui::Options, log_path: &std::path::Path) -> ExitCode {
    use crate::tui::source::{local::LocalSource, remote::RemoteSource, Connection, DataSource};
    use std::sync::Arc;

    let settings = match cli.server.settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("laneswap-term: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let _guard = match log_to_file(log_path, &settings.log_level) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("laneswap-term: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(runtime) = super::runtime("laneswap-term", true) else {
        return ExitCode::FAILURE;
    };
    let (server, source, connection): (Option<Server>, Arc<dyn DataSource>, Connection) =
        match &cli.api_url {
            Some(url) => {
                let refresh = std::time::Duration::from_secs_f64(cli.refresh);
                match RemoteSource::new(url, cli.token.clone(), refresh) {
                    Ok(source) => (
                        None,
                        Arc::new(source),
                        Connection::Connecting {
                            url: url.trim_end_matches('/').to_string(),
                        },
                    ),
                    Err(error) => {
                        eprintln!("laneswap-term: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            None => {
                let server = match runtime.block_on(Server::start(&settings)) {
                    Ok(server) => server,
                    Err(error) => {
                        eprintln!("laneswap-term: {error}");
                        return ExitCode::FAILURE;
                    }
                };
                let url = server.url();
                let source = LocalSource::new(
                    server.core().clone(),
                    Arc::clone(server.store()),
                    url.clone(),
                    settings.operator.clone(),
                );
                if cli.demo {
                    let core = server.core().clone();
                    runtime.spawn(async move { crate::demo::spawn(core) });
                }
                (Some(server), Arc::new(source), Connection::Local { url })
            }
        };
    // SIGTERM or SIGINT end the UI the same way `q` does.
    let ui = runtime.block_on(crate::tui::run(
        source,
        connection,
        options,
        termination_signal(),
    ));
    let stopped = match server {
        Some(server) => runtime.block_on(server.shutdown()),
        None => Ok(()),
    };
    eprintln!("laneswap-term: log in {}", log_path.display());
    match (ui, stopped) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(error), _) => {
            eprintln!("laneswap-term: terminal error: {error}");
            ExitCode::FAILURE
        }
        (_, Err(error)) => {
            eprintln!("laneswap-term: {error}");
            ExitCode::FAILURE
        }
    }
}
