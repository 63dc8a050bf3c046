//! The registry's notification channels, and the deliveries transitions
//! call for.

use chrono::{DateTime, Utc};

use super::{Outcome, Registry, RegistryError};
use crate::core::alerts::AlertChange;
use crate::core::channels::{Channel, ChannelSource};
use crate::core::deliveries::Delivery;
use crate::core::events::{CoreEvent, ServiceSummary};
use crate::core::journal::Change;
use crate::core::notifications::Notification;

impl Registry {
    /// Notification channels, oldest first.
    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.values()
    }

    /// Adds a channel that is not stored (from the environment).
    pub fn define_channel(&mut self, channel: Channel) {
        self.channels.insert(channel.id.clone(), channel);
    }

    /// Adds a stored channel.
    pub fn add_channel(&mut self, channel: Channel) -> (Channel, Outcome) {
        self.channels.insert(channel.id.clone(), channel.clone());
        let outcome = Outcome {
            changes: vec![Change::PutChannel(channel.clone())],
            events: vec![CoreEvent::ChannelChanged {
                channel_id: channel.id.clone(),
            }],
        };
        (channel, outcome)
    }

    fn stored_channel(&self, id: &str) -> Result<&Channel, RegistryError> {
        let channel = self
            .channels
            .get(id)
            .ok_or_else(|| RegistryError::ChannelNotFound(id.to_string()))?;
        if channel.source != ChannelSource::Api {
            return Err(RegistryError::ChannelReadOnly(id.to_string()));
        }
        Ok(channel)
    }

    /// Changes a stored channel.
    pub fn update_channel(
        &mut self,
        id: &str,
        edit: impl FnOnce(Channel) -> Channel,
        now: DateTime<Utc>,
    ) -> Result<(Channel, Outcome), RegistryError> {
        let current = self.stored_channel(id)?.clone();
        let mut channel = edit(current);
        channel.id = id.to_string();
        channel.updated_at = now;
        Ok(self.add_channel(channel))
    }

    /// Marks a channel broken (kept even for the environment's channel, in
    /// memory, until restart).
    pub fn mark_channel_broken(
        &mut self,
        id: &str,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<(Channel, Outcome), RegistryError> {
        let channel = self
            .channels
            .get_mut(id)
            .ok_or_else(|| RegistryError::ChannelNotFound(id.to_string()))?;
        channel.broken = Some(reason);
        channel.updated_at = now;
        let channel = channel.clone();
        let mut outcome = Outcome {
            changes: Vec::new(),
            events: vec![CoreEvent::ChannelChanged {
                channel_id: id.to_string(),
            }],
        };
        if channel.source == ChannelSource::Api {
            outcome.changes.push(Change::PutChannel(channel.clone()));
        }
        Ok((channel, outcome))
    }

    /// Adds to `outcome` the deliveries its events call for: one per
    /// notification and channel that wants it. Paused services notify
    /// nothing.
    pub fn queue_deliveries(&self, outcome: &mut Outcome, now: DateTime<Utc>) {
        if self.channels.is_empty() {
            return;
        }
        // A status change that opened (or re-opened) an alert announces it:
        // its message is the one acknowledgement and resolution edit.
        let opened: std::collections::HashMap<&str, &str> = outcome
            .events
            .iter()
            .filter_map(|event| match event {
                CoreEvent::AlertChanged {
                    change: AlertChange::Opened,
                    alert,
                } => Some((alert.service_id.as_str(), alert.id.as_str())),
                _ => None,
            })
            .collect();
        let mut queued = Vec::new();
        for event in &outcome.events {
            let service_id = match event {
                CoreEvent::StatusChanged { service, .. } => &service.id,
                CoreEvent::AlertChanged { alert, .. } => &alert.service_id,
                _ => continue,
            };
            let Some(record) = self.get(service_id) else {
                continue;
            };
            if record.pause.is_some_and(|pause| pause.is_active(now)) {
                continue;
            }
            let summary = ServiceSummary::of(record);
            let Some(mut notification) = Notification::from_event(event, Some(&summary)) else {
                continue;
            };
            if notification.alert_id.is_none() {
                notification.alert_id = opened.get(service_id.as_str()).map(|id| id.to_string());
            }
            for channel in self.channels.values().filter(|c| c.wants(&notification)) {
                queued.push(Delivery::new(&channel.id, notification.clone(), now));
            }
        }
        for delivery in queued {
            outcome
                .changes
                .push(Change::PutDelivery(Box::new(delivery.clone())));
            outcome.events.push(CoreEvent::DeliveryQueued {
                delivery: Box::new(delivery),
            });
        }
    }

    /// Queues a test notification for one channel (whatever its filters).
    pub fn queue_test(
        &self,
        channel_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(Delivery, Outcome), RegistryError> {
        if !self.channels.contains_key(channel_id) {
            return Err(RegistryError::ChannelNotFound(channel_id.to_string()));
        }
        let delivery = Delivery::new(channel_id, Notification::test(now), now);
        let outcome = Outcome {
            changes: vec![Change::PutDelivery(Box::new(delivery.clone()))],
            events: vec![CoreEvent::DeliveryQueued {
                delivery: Box::new(delivery.clone()),
            }],
        };
        Ok((delivery, outcome))
    }

    /// Deletes a stored channel.
    pub fn remove_channel(&mut self, id: &str) -> Result<Outcome, RegistryError> {
        self.stored_channel(id)?;
        self.channels.shift_remove(id);
        Ok(Outcome {
            changes: vec![Change::RemoveChannel { id: id.to_string() }],
            events: vec![CoreEvent::ChannelRemoved {
                channel_id: id.to_string(),
            }],
        })
    }
}
