//! CreateQueue: a queue with the given attributes and tags, or the existing one of that name
//! if the attributes given match it.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sqs::CreateQueueInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: CreateQueueInput = parse(input)?;
    let name = required(input.queue_name, "QueueName")?;
    ctx.sqs
        .create_queue(
            &name,
            input.attributes.unwrap_or_default(),
            input.tags.unwrap_or_default(),
        )
        .await
        .map_err(api_error)?;
    json(&serde_json::json!({ "QueueUrl": ctx.url(&name) }))
}
