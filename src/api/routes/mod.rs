//! Handlers, one file per resource.

pub mod meta;
pub mod progress;
pub mod services;
