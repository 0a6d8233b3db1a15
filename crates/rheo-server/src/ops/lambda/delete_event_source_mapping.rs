//! DeleteEventSourceMapping: answered 202 `Deleting`; its task stops and its checkpoints go.

use super::event_source_mappings::configuration;
use super::{Ctx, Node, Reply, Result, api_error, parse};
use rheo_wire::lambda::MappingIdInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: MappingIdInput = parse(input)?;
    let view = ctx.mappings()?.delete(&i.uuid).map_err(api_error)?;
    Reply::json(202, &configuration(&view))
}
