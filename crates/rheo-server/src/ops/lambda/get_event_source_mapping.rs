//! GetEventSourceMapping.

use super::event_source_mappings::configuration;
use super::{Ctx, Node, Reply, Result, api_error, parse};
use rheo_wire::lambda::MappingIdInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: MappingIdInput = parse(input)?;
    let view = ctx.mappings()?.get(&i.uuid).map_err(api_error)?;
    Reply::json(200, &configuration(&view))
}
