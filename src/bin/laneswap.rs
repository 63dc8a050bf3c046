//! `laneswap`: the headless server and the client commands.

use clap::Parser;

/// mimalloc: the request path allocates from many threads at once, where
/// glibc malloc spends more time on locks and consolidation than on work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    laneswap::cli::run_laneswap(laneswap::cli::LaneswapCli::parse())
}
