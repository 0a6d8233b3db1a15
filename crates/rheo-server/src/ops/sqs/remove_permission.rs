//! RemovePermission: drops a labelled statement from the queue's Policy.

use super::{Ctx, Node, api_error, empty, parse, queue_name, required};
use crate::router::Reply;
use rheo_wire::sqs::PermissionInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: PermissionInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let label = required(input.label, "Label")?;
    ctx.sqs.remove_permission(&name, &label).await.map_err(api_error)?;
    empty()
}
