//! Command lines of the two binaries, and what each one runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Layer, Settings};
use crate::server::{termination_signal, Server};

/// Options shared by everything that runs a server.
#[derive(Debug, Clone, Args, Default)]
pub struct ServerArgs {
    /// Address to listen on, host:port [env: LANESWAP_LISTEN, or LANESWAP_HOST + LANESWAP_PORT; default 127.0.0.1:8000]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Storage: sqlite:PATH or memory: [env: LANESWAP_STORE; default sqlite in the user data directory]
    #[arg(long, value_name = "URI")]
    pub store: Option<String>,
    /// Seconds without a heartbeat before a service is stale [env: LANESWAP_STALE_THRESHOLD; default 60]
    #[arg(long, value_name = "SECONDS")]
    pub stale_threshold: Option<String>,
    /// Log level: error, warn, info, debug, trace [env: LANESWAP_LOG_LEVEL; default info]
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Config file [env: LANESWAP_CONFIG; default $XDG_CONFIG_HOME/laneswap/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ServerArgs {
    fn flag_layer(&self) -> Layer {
        Layer::from_flags(&[
            (config::LISTEN, self.listen.clone()),
            (config::STORE, self.store.clone()),
            (config::STALE_THRESHOLD, self.stale_threshold.clone()),
            (config::LOG_LEVEL, self.log_level.clone()),
        ])
    }

    /// Resolves the settings (flags > env > .env > file > defaults).
    pub fn settings(&self) -> Result<Settings, config::ConfigError> {
        config::load(self.flag_layer(), self.config.as_deref())
    }
}

/// `laneswap-term`: the operator's terminal, hosting the server.
#[derive(Debug, Parser)]
#[command(
    name = "laneswap-term",
    version,
    about = "laneswap heartbeat monitor: terminal UI with the HTTP API running inside"
)]
pub struct TermCli {
    /// Run without the terminal UI: server, stale monitor, logs to stdout.
    #[arg(long)]
    pub no_ui: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `laneswap`: server and (later) client commands.
#[derive(Debug, Parser)]
#[command(name = "laneswap", version, about = "laneswap heartbeat monitor")]
pub struct LaneswapCli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the heartbeat server headless (API, stale monitor, store) until SIGINT/SIGTERM.
    Server(ServerArgs),
}

/// Exit code for refused configuration.
const EXIT_CONFIG: u8 = 2;

fn init_logging(level: &str) {
    let filter = std::env::var("LANESWAP_LOG")
        .ok()
        .and_then(|spec| tracing_subscriber::EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| {
            tracing_subscriber::EnvFilter::new(format!("laneswap={level},tower_http={level}"))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .try_init();
}

/// Runs the headless server until a termination signal.
pub fn run_headless(args: &ServerArgs) -> ExitCode {
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("laneswap: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_logging(&settings.log_level);
    if let Some(file) = &settings.config_file {
        tracing::info!(file = %file.display(), "read config file");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("laneswap: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let server = Server::start(&settings).await?;
        server.run_until(termination_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            eprintln!("laneswap: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Entry of `laneswap-term`.
pub fn run_term(cli: TermCli) -> ExitCode {
    if cli.no_ui {
        return run_headless(&cli.server);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        eprintln!("laneswap-term: stdout is not a terminal; running headless (as with --no-ui)");
        return run_headless(&cli.server);
    }
    run_ui(&cli.server)
}

/// Where `laneswap-term` writes its log while the UI owns the terminal.
pub fn ui_log_path() -> std::path::PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
        .join("laneswap")
        .join("laneswap-term.log")
}

/// The terminal UI with the server inside.
fn run_ui(args: &ServerArgs) -> ExitCode {
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("laneswap-term: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let log_path = ui_log_path();
    let log_dir = log_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    if let Err(error) = std::fs::create_dir_all(&log_dir) {
        eprintln!(
            "laneswap-term: cannot create the log directory {}: {error}",
            log_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let (writer, _guard) = tracing_appender::non_blocking(tracing_appender::rolling::never(
        &log_dir,
        "laneswap-term.log",
    ));
    let filter = std::env::var("LANESWAP_LOG")
        .ok()
        .and_then(|spec| tracing_subscriber::EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| {
            tracing_subscriber::EnvFilter::new(format!("laneswap={}", settings.log_level))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("laneswap-term: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match runtime.block_on(Server::start(&settings)) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("laneswap-term: {error}");
            return ExitCode::FAILURE;
        }
    };
    // SIGTERM or SIGINT end the UI the same way `q` does.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signalled = std::sync::Arc::clone(&stop);
    runtime.spawn(async move {
        termination_signal().await;
        signalled.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let shown = server.url();
    let ui = crate::tui::run(server.core(), shown, stop);
    let stopped = runtime.block_on(server.shutdown());
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

/// Entry of `laneswap`.
pub fn run_laneswap(cli: LaneswapCli) -> ExitCode {
    match cli.command {
        Command::Server(args) => run_headless(&args),
    }
}
