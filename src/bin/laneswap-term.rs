//! `laneswap-term`: the operator's terminal with the server inside.

use clap::Parser;

fn main() -> std::process::ExitCode {
    laneswap::cli::run_term(laneswap::cli::TermCli::parse())
}
