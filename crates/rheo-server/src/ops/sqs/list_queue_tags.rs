//! ListQueueTags: `Tags` is left out when there are none (as AWS does).

use super::{Ctx, Node, api_error, json, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::QueueUrlInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: QueueUrlInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let tags = ctx.sqs.list_tags(&name).map_err(api_error)?;
    if tags.is_empty() {
        return json(&serde_json::json!({}));
    }
    json(&serde_json::json!({ "Tags": tags }))
}
