//! Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask):
//! moving a dead-letter queue's messages to a destination queue, or back to the queue each
//! came from. The tick moves up to the task's rate each second; each message is journaled
//! into its destination before its removal from the source, so a crash can duplicate a
//! message but never lose one. Tasks are saved in the catalog when they start, are
//! cancelled, and after each tick that moved messages or ended them, so a running task goes on
//! after a restart (its count of moved messages may lag by the last tick's).

use crate::error::{QueueError, Result};
use crate::journal::Record;
use crate::message::Message;
use crate::service::Sqs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MoveStatus {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl MoveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveStatus::Running => "RUNNING",
            MoveStatus::Completed => "COMPLETED",
            MoveStatus::Cancelled => "CANCELLED",
            MoveStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveTask {
    pub handle: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<i64>,
    pub status: MoveStatus,
    pub moved: u64,
    pub to_move: u64,
    pub started_ms: i64,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Default)]
pub struct MoveTasks {
    tasks: Vec<MoveTask>,
}

/// Tasks kept per source queue (ListMessageMoveTasks returns at most 10).
const KEPT_PER_SOURCE: usize = 10;

impl MoveTasks {
    pub(crate) fn restored(tasks: Vec<MoveTask>) -> MoveTasks {
        MoveTasks { tasks }
    }

    pub(crate) fn tasks(&self) -> &[MoveTask] {
        &self.tasks
    }

    /// Adds a task, forgetting the oldest of its source's beyond the 10 kept.
    fn push(&mut self, task: MoveTask) {
        let source = task.source_arn.clone();
        self.tasks.push(task);
        let count = self.tasks.iter().filter(|t| t.source_arn == source).count();
        let mut extra = count.saturating_sub(KEPT_PER_SOURCE);
        self.tasks.retain(|t| {
            let drop = extra > 0 && t.source_arn == source;
            extra -= usize::from(drop);
            !drop
        });
    }
}

/// Messages moved per second when the task sets no rate (SQS's default is system-optimised).
const DEFAULT_RATE: i64 = 500;

impl Sqs {
    pub(crate) fn moves(&self) -> std::sync::MutexGuard<'_, MoveTasks> {
        self.inner.moves.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn start_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        rate: Option<i64>,
    ) -> Result<String> {
        let source = self.queue_by_arn(source_arn).ok_or_else(|| {
            QueueError::ResourceNotFound(
                "The resource that you specified for the SourceArn parameter doesn't exist.".into(),
            )
        })?;
        let is_dlq = self.all_queues().iter().any(|q| {
            q.lock()
                .def
                .attributes
                .redrive()
                .is_some_and(|r| r.dead_letter_target_arn == source.arn)
        });
        if !is_dlq {
            return Err(QueueError::InvalidParameterValue(
                "Source queue must be configured as a Dead Letter Queue.".into(),
            ));
        }
        if let Some(d) = destination_arn
            && self.queue_by_arn(d).is_none()
        {
            return Err(QueueError::ResourceNotFound(
                "The resource that you specified for the DestinationArn parameter doesn't exist.".into(),
            ));
        }
        if let Some(r) = rate.filter(|r| !(1..=500).contains(r)) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {r} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500."
            )));
        }
        let now = self.now();
        let to_move = source.lock().state.counts(now).visible;
        let meta = self.meta();
        let handle = {
            let mut moves = self.moves();
            if moves
                .tasks
                .iter()
                .any(|t| t.source_arn == source_arn && t.status == MoveStatus::Running)
            {
                return Err(QueueError::InvalidParameterValue(
                    "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
                        .into(),
                ));
            }
            let handle = self.key().encode_token(&(source_arn, now, fastrand::u64(..)));
            moves.push(MoveTask {
                handle: handle.clone(),
                source_arn: source_arn.to_owned(),
                destination_arn: destination_arn.map(str::to_owned),
                max_per_second: rate,
                status: MoveStatus::Running,
                moved: 0,
                to_move,
                started_ms: now,
                failure_reason: None,
            });
            handle
        };
        if let Err(e) = self.save_catalog(&meta, None, None) {
            self.moves().tasks.retain(|t| t.handle != handle);
            return Err(e);
        }
        Ok(handle)
    }

    /// CancelMessageMoveTask: returns how many messages were moved.
    pub fn cancel_move_task(&self, handle: &str) -> Result<u64> {
        let meta = self.meta();
        let moved = {
            let mut moves = self.moves();
            let task = moves
                .tasks
                .iter_mut()
                .find(|t| t.handle == handle)
                .ok_or_else(|| QueueError::ResourceNotFound("Task does not exist.".into()))?;
            if task.status != MoveStatus::Running {
                return Err(QueueError::UnsupportedOperation(
                    "Only a task in RUNNING status can be cancelled.".into(),
                ));
            }
            task.status = MoveStatus::Cancelled;
            task.moved
        };
        if let Err(e) = self.save_catalog(&meta, None, None) {
            if let Some(t) = self.moves().tasks.iter_mut().find(|t| t.handle == handle) {
                t.status = MoveStatus::Running;
            }
            return Err(e);
        }
        Ok(moved)
    }

    /// ListMessageMoveTasks: the source's most recent tasks first, at most `max` (1 to 10).
    pub fn list_move_tasks(&self, source_arn: &str, max: Option<i64>) -> Result<Vec<MoveTask>> {
        if self.queue_by_arn(source_arn).is_none() {
            return Err(QueueError::ResourceNotFound(
                "The resource that you specified for the SourceArn parameter doesn't exist.".into(),
            ));
        }
        let max = max.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {max} for parameter MaxResults is invalid. Reason: Must be between 1 and 10."
            )));
        }
        let moves = self.moves();
        Ok(moves
            .tasks
            .iter()
            .rev()
            .filter(|t| t.source_arn == source_arn)
            .take(max as usize)
            .cloned()
            .collect())
    }

    /// One second of every running task.
    pub(crate) async fn run_moves(&self, now: i64) {
        let running: Vec<MoveTask> = self
            .moves()
            .tasks
            .iter()
            .filter(|t| t.status == MoveStatus::Running)
            .cloned()
            .collect();
        if running.is_empty() {
            return;
        }
        let mut changed = false;
        for task in running {
            let (moved, outcome) = self.move_some(&task, now);
            let mut moves = self.moves();
            if let Some(t) = moves.tasks.iter_mut().find(|t| t.handle == task.handle) {
                t.moved += moved;
                changed |= moved > 0 || !matches!(outcome, Ok(false));
                if t.status == MoveStatus::Running {
                    match outcome {
                        Ok(true) => t.status = MoveStatus::Completed,
                        Ok(false) => {}
                        Err(reason) => {
                            t.status = MoveStatus::Failed;
                            t.failure_reason = Some(reason);
                        }
                    }
                }
            }
        }
        if let Err(e) = self.commit().await {
            tracing::warn!(error = %e, "journaling moved messages failed");
            return;
        }
        // The progress is saved only after the moves it counts are durable.
        if changed {
            let meta = self.meta();
            if let Err(e) = self.save_catalog(&meta, None, None) {
                tracing::warn!(error = %e, "saving the move tasks' progress failed");
            }
        }
    }

    /// Moves up to the task's rate of visible messages; says how many, and whether the
    /// task is done (`Ok(true)`) or failed.
    fn move_some(&self, task: &MoveTask, now: i64) -> (u64, std::result::Result<bool, String>) {
        let Some(source) = self.queue_by_arn(&task.source_arn) else {
            return (0, Err("AWS.SimpleQueueService.NonExistentQueue".into()));
        };
        let rate = task.max_per_second.unwrap_or(DEFAULT_RATE) as usize;
        let mut arrived = Vec::new();
        let mut moved = 0u64;
        let mut failure = None;
        {
            let mut g = source.lock();
            let mut visible: Vec<_> = g
                .state
                .messages()
                .filter(|m| m.visible_at_ms <= now)
                .map(|m| m.no)
                .collect();
            visible.sort_unstable();
            let budget = rate.min(task.to_move.saturating_sub(task.moved) as usize);
            for no in visible.into_iter().take(budget) {
                let Some(m) = g.state.get(no).cloned() else { continue };
                let dest_arn = task.destination_arn.clone().or(m.dead_letter_source.clone());
                let Some(dest) = dest_arn.as_deref().and_then(|a| self.queue_by_arn(a)) else {
                    failure = Some("AWS.SimpleQueueService.NonExistentQueue".to_owned());
                    break;
                };
                // Moved back (or on), a message starts counting its receives again: it would
                // otherwise go straight back to the dead-letter queue.
                let fresh = Message {
                    receive_count: 0,
                    first_receive_ms: None,
                    ..m
                };
                let copy = self.push_moved(&dest, fresh, None, now);
                self.journal().push(&Record::Delete { queue: source.id, no }, now);
                g.state.remove(no);
                arrived.push((dest, copy));
                moved += 1;
            }
        }
        for (dest, m) in arrived {
            self.insert_moved(&dest, m);
        }
        if let Some(f) = failure {
            return (moved, Err(f));
        }
        let done = task.moved + moved >= task.to_move || source.lock().state.counts(now).visible == 0;
        (moved, Ok(done))
    }
}
