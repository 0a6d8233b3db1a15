//! CancelMessageMoveTask.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sqs::CancelMessageMoveTaskInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: CancelMessageMoveTaskInput = parse(input)?;
    let handle = required(input.task_handle, "TaskHandle")?;
    let moved = ctx.sqs.cancel_move_task(&handle).map_err(api_error)?;
    json(&serde_json::json!({ "ApproximateNumberOfMessagesMoved": moved }))
}
