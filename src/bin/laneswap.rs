//! `laneswap`: the headless server and (soon) the client commands.

use clap::Parser;

fn main() -> std::process::ExitCode {
    laneswap::cli::run_laneswap(laneswap::cli::LaneswapCli::parse())
}
