//! # laneswap
//!
//! A heartbeat monitor for distributed services.
//!
//! # Layout
//!
//! ```text
//! clients ──HTTP──> api ──> core (registry, deadlines, alerts, transitions)
//!                             ├──changes (+ queued deliveries, one commit)──> storage
//!                             └──events──> notify (delivery worker) ──HTTP──> Discord / webhooks
//!                                        └> other subscribers (event stream, TUI)
//! ```
//!
//! - [`core`]: the registry, stale deadlines, alerts, notification rules and
//!   transitions; plain types, injectable time, a handle that publishes
//!   events. No HTTP, UI, database or webhook crate.
//! - [`storage`]: the [`storage::Store`] interface and its backends (embedded
//!   SQLite with group commit; MongoDB with a local outage spool and a feed
//!   that lets several nodes share one database; memory).
//! - [`api`]: the axum HTTP API, wire-compatible with the original LaneSwap,
//!   plus optional bearer tokens with roles and `/metrics` for Prometheus.
//! - [`notify`]: how notifications look on each channel (Discord, generic
//!   JSON webhooks) and the worker that delivers them.
//! - [`config`]: settings layered flags > environment > `.env` > file > defaults.
//! - [`server`]: wiring: open the store, restore the core, run the monitor
//!   and the API until shutdown.
//! - [`tui`]: `laneswap-term`'s terminal UI: app state and keys (`app`),
//!   pure drawing (`view`), the data behind it (`source`: the local core or
//!   a remote server over HTTP), themes and keymaps read from TOML.
//! - [`demo`]: simulated services for `laneswap-term --demo`.
//! - [`client`]: the Rust client (async and blocking): register, heartbeats,
//!   auto-heartbeat, progress; also what the CLI and the remote TUI speak.
//! - [`cli`]: the command lines of `laneswap` and `laneswap-term`.

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod core;
pub mod demo;
pub mod notify;
pub mod server;
pub mod storage;
pub mod tui;
