//! Notification channels: how a [`Notification`] looks on the wire of each
//! channel kind. Delivery (the durable outbox and its worker) builds on this.
//!
//! [`Notification`]: crate::core::notifications::Notification

pub mod delivery;
pub mod discord;
pub mod webhook;
