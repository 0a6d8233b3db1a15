//! UntagQueue: removes tags; a key that is not there is ignored.

use super::{Ctx, Node, api_error, empty, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::UntagQueueInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: UntagQueueInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    ctx.sqs
        .change_tags(&name, Default::default(), input.tag_keys.unwrap_or_default())
        .await
        .map_err(api_error)?;
    empty()
}
