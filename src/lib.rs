//! # laneswap
//!
//! A heartbeat monitor for distributed services.
//!
//! # Layout
//!
//! ```text
//! clients ──HTTP──> api ──> core (registry, deadlines, transitions) ──changes──> storage
//!                             └──events──> subscribers (event stream, notifier, TUI)
//! ```
//!
//! - [`core`]: the registry, stale deadlines and transitions; plain types,
//!   injectable time, a handle that publishes events. No HTTP, UI or database.
//! - [`storage`]: the [`storage::Store`] interface and its backends (embedded
//!   SQLite with group commit, memory).
//! - [`api`]: the axum HTTP API, wire-compatible with the original LaneSwap.
//! - [`notify`]: how notifications look on each channel (Discord, generic
//!   JSON webhooks).
//! - [`config`]: settings layered flags > environment > `.env` > file > defaults.
//! - [`server`]: wiring: open the store, restore the core, run the monitor
//!   and the API until shutdown.
//! - [`cli`]: the command lines of `laneswap` and `laneswap-term`.

pub mod api;
pub mod cli;
pub mod config;
pub mod core;
pub mod notify;
pub mod server;
pub mod storage;
