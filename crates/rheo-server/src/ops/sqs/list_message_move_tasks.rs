//! ListMessageMoveTasks: a source's most recent tasks (TaskHandle only while RUNNING).

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_queues::MoveStatus;
use rheo_wire::sqs::{ListMessageMoveTasksInput, MoveTaskOut};

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: ListMessageMoveTasksInput = parse(input)?;
    let source = required(input.source_arn, "SourceArn")?;
    let tasks = ctx.sqs.list_move_tasks(&source, input.max_results).map_err(api_error)?;
    let results: Vec<MoveTaskOut> = tasks
        .into_iter()
        .map(|t| MoveTaskOut {
            task_handle: (t.status == MoveStatus::Running).then_some(t.handle),
            status: t.status.as_str().to_owned(),
            source_arn: t.source_arn,
            destination_arn: t.destination_arn,
            max_number_of_messages_per_second: t.max_per_second,
            approximate_number_of_messages_moved: t.moved,
            approximate_number_of_messages_to_move: t.to_move,
            failure_reason: t.failure_reason,
            started_timestamp: t.started_ms,
        })
        .collect();
    json(&serde_json::json!({ "Results": results }))
}
