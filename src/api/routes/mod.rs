//! Handlers, one file per resource.

pub mod alerts;
pub mod events;
pub mod meta;
pub mod metrics;
pub mod progress;
pub mod services;
pub mod webhooks;
