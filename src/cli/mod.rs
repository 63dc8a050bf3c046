//! Command lines of the two binaries, and what each one runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Layer, Settings};
use crate::server::{termination_signal, Server};

mod commands;
mod tables;
mod term;

pub use self::commands::{AlertsCommand, ProgressCommand, ServicesCommand, WebhooksCommand};
pub use self::term::{run_term, ui_log_path, TermCli};

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

/// `laneswap`: the headless server, and the HTTP API from the shell.
#[derive(Debug, Parser)]
#[command(
    name = "laneswap",
    version,
    about = "laneswap heartbeat monitor: the headless server, and its API from the shell",
    after_help = "Exit codes: 0 success, 1 failure (the server refused, or cannot be reached), 2 usage.\nEvery command but `server` and `completions` talks to the server at --api-url."
)]
pub struct LaneswapCli {
    /// The server to talk to
    #[arg(
        long,
        global = true,
        env = "LANESWAP_API_URL",
        default_value = "http://127.0.0.1:8000",
        value_name = "URL"
    )]
    pub api_url: String,
    /// Bearer token sent with every request
    #[arg(
        long,
        global = true,
        env = "LANESWAP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Print the server's JSON instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the heartbeat server headless (API, stale monitor, store) until SIGINT/SIGTERM.
    Server(ServerArgs),
    /// Services: list, get, register, heartbeat, delete, pause, resume
    #[command(subcommand)]
    Services(ServicesCommand),
    /// Progress tasks: list, get, start, update, complete
    #[command(subcommand)]
    Progress(ProgressCommand),
    /// Alerts: list, ack, unack
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Notification channels: list, add, remove, test
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Exit code for refused usage or configuration (as clap's own).
pub const EXIT_USAGE: u8 = 2;

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
pub fn run_headless(args: &ServerArgs, demo: bool) -> ExitCode {
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("laneswap: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    init_logging(&settings.log_level);
    if let Some(file) = &settings.config_file {
        tracing::info!(file = %file.display(), "read config file");
    }
    let Some(runtime) = runtime("laneswap", true) else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let server = Server::start(&settings).await?;
        if demo {
            crate::demo::spawn(server.core().clone());
        }
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

/// The async runtime (worker threads for a server, one thread for a
/// client command); `None` after saying on stderr why it cannot start.
fn runtime(program: &str, server: bool) -> Option<tokio::runtime::Runtime> {
    let mut builder = if server {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("{program}: cannot start the async runtime: {error}");
            None
        }
    }
}

/// Entry of `laneswap`.
pub fn run_laneswap(cli: LaneswapCli) -> ExitCode {
    let command = match cli.command {
        Command::Server(args) => return run_headless(&args, false),
        Command::Completions { shell } => {
            let mut command = <LaneswapCli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "laneswap", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        other => other,
    };
    let Some(runtime) = runtime("laneswap", false) else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let api = crate::client::Api::new(
            &cli.api_url,
            cli.token.clone(),
            std::time::Duration::from_secs(15),
            1,
            std::time::Duration::from_millis(300),
        )?;
        match command {
            Command::Services(command) => commands::services(&api, cli.json, command).await,
            Command::Progress(command) => commands::progress(&api, cli.json, command).await,
            Command::Alerts(command) => commands::alerts(&api, cli.json, command).await,
            Command::Webhooks(command) => commands::webhooks(&api, cli.json, command).await,
            Command::Server(_) | Command::Completions { .. } => Ok(String::new()),
        }
    });
    match result {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(crate::client::ClientError::Config(reason)) => {
            eprintln!("laneswap: --api-url: {reason}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(error) => {
            eprintln!("laneswap: {error}");
            ExitCode::FAILURE
        }
    }
}
