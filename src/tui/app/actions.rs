//! What each keymap [`Action`] does to the app: navigation, views, and the
//! operator's commands (which go out as [`Request::Run`]).

use super::forms::{AckForm, WebhookForm};
use super::{App, Notice, Popup, Tab};
use crate::tui::data::{AlertRow, ServiceRow};
use crate::tui::keymap::Action;
use crate::tui::source::{Command, Request};

impl App {
    pub(super) fn on_action(&mut self, action: Action) -> Vec<Request> {
        self.notice = None;
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.popup = Some(Popup::Help { scroll: 0 }),
            Action::Freeze => {
                self.frozen = !self.frozen;
                if !self.frozen {
                    let mut requests = match self.pending.take() {
                        Some(data) => self.show(*data),
                        None => Vec::new(),
                    };
                    requests.push(Request::Refresh);
                    return requests;
                }
            }
            Action::Up => return self.move_by(-1),
            Action::Down => return self.move_by(1),
            Action::PageUp => return self.move_by(-(self.page as isize)),
            Action::PageDown => return self.move_by(self.page as isize),
            Action::Top => return self.move_by(isize::MIN / 2),
            Action::Bottom => return self.move_by(isize::MAX / 2),
            Action::NextView => self.tab = Tab::ALL[(self.tab.index() + 1) % 4],
            Action::PrevView => self.tab = Tab::ALL[(self.tab.index() + 3) % 4],
            Action::ShowServices => self.tab = Tab::Services,
            Action::ShowAlerts => self.tab = Tab::Alerts,
            Action::ShowProgress => self.tab = Tab::Progress,
            Action::ShowWebhooks => self.tab = Tab::Webhooks,
            Action::Detail => return self.open_detail(),
            Action::Back => {
                if self.detail {
                    self.detail = false;
                } else if !self.filter.value().is_empty() {
                    self.filter.reset();
                    self.reorder();
                    return self.focus_request();
                }
            }
            Action::Filter => {
                self.tab = Tab::Services;
                self.filtering = true;
            }
            Action::Sort => {
                self.sort = self.sort.next();
                self.reorder();
                self.say(format!("Sorted by {}", self.sort.label()));
            }
            Action::PauseService => return self.toggle_pause(),
            Action::Delete => self.confirm_delete(),
            Action::Acknowledge => self.start_ack(),
            Action::Unacknowledge => return self.unacknowledge(),
            Action::NewWebhook => {
                if self.data.channels.is_none() {
                    self.complain("This server has no webhooks API");
                } else {
                    self.tab = Tab::Webhooks;
                    self.popup = Some(Popup::Webhook(Box::default()));
                }
            }
            Action::EditWebhook => self.edit_webhook(),
            Action::TestWebhook => {
                if let Some(channel) = self.selected_channel() {
                    let id = channel.id.clone();
                    return vec![Request::Run(Command::TestWebhook { id })];
                }
                self.complain("Select a webhook in the webhooks view (4) first");
            }
            Action::ToggleWebhook => {
                if let Some(channel) = self.selected_channel() {
                    let command = Command::SetWebhookEnabled {
                        id: channel.id.clone(),
                        enabled: !channel.enabled,
                    };
                    return vec![Request::Run(command)];
                }
                self.complain("Select a webhook in the webhooks view (4) first");
            }
        }
        Vec::new()
    }

    fn say(&mut self, text: String) {
        self.notice = Some(Notice { text, error: false });
    }

    fn complain(&mut self, text: &str) {
        self.notice = Some(Notice {
            text: text.to_string(),
            error: true,
        });
    }

    fn move_by(&mut self, delta: isize) -> Vec<Request> {
        let last = self.len(self.tab).saturating_sub(1) as isize;
        let slot = &mut self.selected[self.tab.index()];
        *slot = (*slot as isize).saturating_add(delta).clamp(0, last.max(0)) as usize;
        if self.tab == Tab::Services {
            return self.focus_request();
        }
        Vec::new()
    }

    /// Selects a service by id in the services view (clearing a filter
    /// that hides it).
    fn select_service(&mut self, id: &str) -> Vec<Request> {
        self.tab = Tab::Services;
        self.selected_id = Some(id.to_string());
        if !self.order.iter().any(|&i| self.data.services[i].id == id) {
            self.filter.reset();
        }
        self.reorder();
        let mut requests = self.focus_request();
        requests.push(Request::Focus(Some(id.to_string())));
        requests
    }

    fn open_detail(&mut self) -> Vec<Request> {
        match self.tab {
            Tab::Services => {
                self.detail = !self.detail && self.selected_service().is_some();
                Vec::new()
            }
            Tab::Alerts | Tab::Progress => {
                let id = match self.tab {
                    Tab::Alerts => self.selected_alert().map(|alert| alert.service_id.clone()),
                    _ => self.selected_task().map(|task| task.service_id.clone()),
                };
                match id {
                    Some(id) => {
                        self.detail = true;
                        self.select_service(&id)
                    }
                    None => Vec::new(),
                }
            }
            Tab::Webhooks => {
                self.edit_webhook();
                Vec::new()
            }
        }
    }

    /// The service an action on "this service" means in the current view.
    fn target_service(&self) -> Option<&ServiceRow> {
        let id = match self.tab {
            Tab::Services => return self.selected_service(),
            Tab::Alerts => self.selected_alert()?.service_id.clone(),
            Tab::Progress => self.selected_task()?.service_id.clone(),
            Tab::Webhooks => return None,
        };
        self.data.services.iter().find(|service| service.id == id)
    }

    /// The alert an acknowledgement means in the current view.
    fn target_alert(&self) -> Option<&AlertRow> {
        match self.tab {
            Tab::Alerts => self.selected_alert(),
            _ => {
                let service = self.target_service()?;
                self.data.active_alert(&service.id)
            }
        }
    }

    fn toggle_pause(&mut self) -> Vec<Request> {
        let Some(service) = self.target_service() else {
            self.complain("Select a service first");
            return Vec::new();
        };
        let service_id = service.id.clone();
        let command = if service.paused {
            Command::ResumeService { service_id }
        } else {
            Command::PauseService { service_id }
        };
        vec![Request::Run(command)]
    }

    fn confirm_delete(&mut self) {
        let popup = match self.tab {
            Tab::Webhooks => self.selected_channel().map(|channel| Popup::Confirm {
                question: format!("Delete webhook {} ({})?", channel.name, channel.url),
                command: Command::DeleteWebhook {
                    id: channel.id.clone(),
                },
            }),
            _ => self.target_service().map(|service| Popup::Confirm {
                question: format!(
                    "Delete service {} ({}) and its history?",
                    service.name, service.id
                ),
                command: Command::DeleteService {
                    service_id: service.id.clone(),
                },
            }),
        };
        match popup {
            Some(popup) => self.popup = Some(popup),
            None => self.complain("Nothing selected to delete"),
        }
    }

    fn start_ack(&mut self) {
        if self.data.alerts.is_none() {
            return self.complain("This server has no alerts API");
        }
        match self.target_alert() {
            Some(alert) if alert.is_active() => {
                self.popup = Some(Popup::Ack(AckForm::new(&alert.id, &alert.service_name)));
            }
            Some(_) => self.complain("That alert is resolved"),
            None => self.complain("No open alert here to acknowledge"),
        }
    }

    fn unacknowledge(&mut self) -> Vec<Request> {
        match self.target_alert() {
            Some(alert) if alert.ack.is_some() && alert.is_active() => {
                vec![Request::Run(Command::Unacknowledge {
                    alert_id: alert.id.clone(),
                })]
            }
            _ => {
                self.complain("No acknowledged alert here");
                Vec::new()
            }
        }
    }

    fn edit_webhook(&mut self) {
        let Some(channel) = self.selected_channel() else {
            return self.complain("Select a webhook in the webhooks view (4) first");
        };
        if channel.source == "environment" {
            return self
                .complain("This webhook comes from LANESWAP_DISCORD_WEBHOOK: change it there");
        }
        self.popup = Some(Popup::Webhook(Box::new(WebhookForm::edit(channel))));
    }
}
