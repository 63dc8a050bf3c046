//! The registry's progress tasks.

use chrono::{DateTime, Utc};

use super::{NewTask, Outcome, Registry, RegistryError, TaskUpdate};
use crate::core::events::CoreEvent;
use crate::core::journal::Change;
use crate::core::model::ProgressTask;

impl Registry {
    pub fn task(&self, task_id: &str) -> Option<&ProgressTask> {
        self.tasks.get(task_id)
    }

    /// Tasks in creation order.
    pub fn tasks(&self) -> impl Iterator<Item = &ProgressTask> {
        self.tasks.values()
    }

    /// Starts a progress task for a registered service.
    pub fn start_task(
        &mut self,
        request: NewTask,
        now: DateTime<Utc>,
    ) -> Result<(ProgressTask, Outcome), RegistryError> {
        if !self.services.contains_key(&request.service_id) {
            return Err(RegistryError::ServiceNotFound(request.service_id));
        }
        let task = ProgressTask {
            task_id: uuid::Uuid::new_v4().to_string(),
            service_id: request.service_id,
            task_name: request.task_name,
            description: request.description,
            total_steps: request.total_steps,
            current_step: 0,
            status: "running".to_string(),
            message: None,
            metadata: request.metadata,
            created_at: now,
            updated_at: now,
            step_changed_at: now,
            completed_at: None,
        };
        self.tasks.insert(task.task_id.clone(), task.clone());
        Ok((task.clone(), task_outcome(task)))
    }

    /// Records progress (or completion, when `finish` is set).
    pub fn update_task(
        &mut self,
        task_id: &str,
        update: TaskUpdate,
        finish: bool,
        now: DateTime<Utc>,
    ) -> Result<(ProgressTask, Outcome), RegistryError> {
        let task = self
            .tasks
            .get_mut(task_id)
            .ok_or_else(|| RegistryError::TaskNotFound(task_id.to_string()))?;
        let mut step = update.current_step;
        let status = update
            .status
            .unwrap_or_else(|| if finish { "completed" } else { "running" }.to_string());
        if finish && status == "completed" {
            step = Some(step.unwrap_or(task.total_steps).max(task.total_steps));
        }
        if let Some(step) = step {
            if step != task.current_step {
                task.current_step = step;
                task.step_changed_at = now;
            }
        }
        task.status = status;
        if update.message.is_some() || finish {
            task.message = update.message;
        }
        if let Some(sent) = update.metadata {
            for (key, value) in sent {
                task.metadata.insert(key, value);
            }
        }
        task.updated_at = now;
        task.completed_at = task.is_finished().then_some(now);
        let task = task.clone();
        Ok((task.clone(), task_outcome(task)))
    }

    /// Deletes a progress task.
    pub fn remove_task(&mut self, task_id: &str) -> Result<Outcome, RegistryError> {
        let task = self
            .tasks
            .shift_remove(task_id)
            .ok_or_else(|| RegistryError::TaskNotFound(task_id.to_string()))?;
        Ok(Outcome {
            changes: vec![Change::RemoveTask {
                task_id: task.task_id.clone(),
            }],
            events: vec![CoreEvent::TaskRemoved {
                task_id: task.task_id,
                service_id: task.service_id,
            }],
        })
    }
}

fn task_outcome(task: ProgressTask) -> Outcome {
    Outcome {
        changes: vec![Change::PutTask(task.clone())],
        events: vec![CoreEvent::ProgressChanged { task }],
    }
}
