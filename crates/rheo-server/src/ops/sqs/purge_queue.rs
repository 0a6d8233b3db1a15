//! PurgeQueue.

use super::{Ctx, Node, api_error, empty, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::QueueUrlInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: QueueUrlInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    ctx.sqs.purge(&name).await.map_err(api_error)?;
    empty()
}
