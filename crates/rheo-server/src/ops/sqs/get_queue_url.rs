//! GetQueueUrl: the URL of a queue of this account (another account's queue is not shared).

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_queues::QueueError;
use rheo_wire::sqs::GetQueueUrlInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: GetQueueUrlInput = parse(input)?;
    let name = required(input.queue_name, "QueueName")?;
    if input
        .queue_owner_a_w_s_account_id
        .is_some_and(|a| a != ctx.sqs.account())
    {
        return Err(api_error(QueueError::QueueDoesNotExist));
    }
    ctx.sqs.get_queue(&name).map_err(api_error)?;
    json(&serde_json::json!({ "QueueUrl": ctx.url(&name) }))
}
