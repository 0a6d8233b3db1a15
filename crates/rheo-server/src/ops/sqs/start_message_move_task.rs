//! StartMessageMoveTask: moves a dead-letter queue's messages to a queue, or back to their
//! sources.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sqs::StartMessageMoveTaskInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: StartMessageMoveTaskInput = parse(input)?;
    let source = required(input.source_arn, "SourceArn")?;
    let handle = ctx
        .sqs
        .start_move_task(
            &source,
            input.destination_arn.as_deref(),
            input.max_number_of_messages_per_second,
        )
        .map_err(api_error)?;
    json(&serde_json::json!({ "TaskHandle": handle }))
}
