//! A handle on a progress task that reports as the work advances, without
//! flooding the server: [`Progress::advance`] sends at most one update per
//! [`Progress::report_every`] (and always the last step).

use std::time::{Duration, Instant};

use super::{Client, ClientError, Task};

/// A running progress task of the client's service.
#[derive(Debug)]
pub struct Progress {
    client: Client,
    task: Task,
    current: u64,
    reported: u64,
    last_report: Option<Instant>,
    every: Duration,
}

impl Progress {
    pub(crate) fn new(client: Client, task: Task) -> Self {
        Progress {
            current: task.current_step,
            reported: task.current_step,
            client,
            task,
            last_report: None,
            every: Duration::from_secs(1),
        }
    }

    /// The task's id.
    pub fn id(&self) -> &str {
        &self.task.task_id
    }

    /// The task as the server last answered.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The step reached so far (reported or not).
    pub fn current(&self) -> u64 {
        self.current
    }

    /// How often `advance` reports at most (default 1 s).
    pub fn report_every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    /// Moves `steps` forward; reports when a report is due or the last step
    /// is reached.
    pub async fn advance(&mut self, steps: u64) -> Result<(), ClientError> {
        self.current = self.current.saturating_add(steps);
        let due = self.last_report.is_none_or(|at| at.elapsed() >= self.every);
        let last = self.current >= self.task.total_steps;
        if (due || last) && self.current != self.reported {
            self.report(None).await?;
        }
        Ok(())
    }

    /// Reports a step now, with an optional message.
    pub async fn set(&mut self, step: u64, message: Option<&str>) -> Result<(), ClientError> {
        self.current = step;
        self.report(message).await
    }

    async fn report(&mut self, message: Option<&str>) -> Result<(), ClientError> {
        self.task = self
            .client
            .update_progress(&self.task.task_id, self.current, None, message)
            .await?;
        self.reported = self.current;
        self.last_report = Some(Instant::now());
        Ok(())
    }

    /// Finishes the task as `completed` (the server counts the steps as
    /// done).
    pub async fn complete(self, message: Option<&str>) -> Result<Task, ClientError> {
        self.client
            .complete_progress(&self.task.task_id, None, message)
            .await
    }

    /// Finishes the task as `failed`.
    pub async fn fail(self, message: Option<&str>) -> Result<Task, ClientError> {
        self.client
            .complete_progress(&self.task.task_id, Some("failed"), message)
            .await
    }
}
