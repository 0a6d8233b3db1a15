//! SetQueueAttributes.

use super::{Ctx, Node, api_error, empty, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::SetQueueAttributesInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SetQueueAttributesInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    ctx.sqs
        .set_attributes(&name, input.attributes.unwrap_or_default())
        .await
        .map_err(api_error)?;
    empty()
}
