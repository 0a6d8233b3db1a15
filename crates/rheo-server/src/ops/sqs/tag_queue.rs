//! TagQueue: adds tags, replacing the values of keys already there.

use super::{Ctx, Node, api_error, empty, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::TagQueueInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: TagQueueInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    ctx.sqs
        .change_tags(&name, input.tags.unwrap_or_default(), Vec::new())
        .await
        .map_err(api_error)?;
    empty()
}
