//! ListEventSourceMappings: by EventSourceArn and FunctionName, MaxItems (1–10000, pages of
//! at most 100) with NextMarker.

use super::event_source_mappings::configuration;
use super::{Ctx, Node, Reply, Result, api_error, parse, set};
use rheo_wire::lambda::ListEventSourceMappingsInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: ListEventSourceMappingsInput = parse(input)?;
    let max = i.max_items.unwrap_or(100).clamp(1, 100) as usize;
    let (views, next) = ctx
        .mappings()?
        .list(
            i.event_source_arn.as_deref(),
            i.function_name.as_deref(),
            i.marker.as_deref(),
            max,
        )
        .map_err(api_error)?;
    let mut out = serde_json::json!({
        "EventSourceMappings": views.iter().map(configuration).collect::<Vec<_>>(),
    });
    if let Some(n) = next {
        set(&mut out, "NextMarker", n);
    }
    Reply::json(200, &out)
}
