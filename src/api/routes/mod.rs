//! Handlers, one file per resource.

pub mod alerts;
pub mod meta;
pub mod progress;
pub mod services;
pub mod webhooks;
