//! TagResource (stream ARNs).

use super::{empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::TagResourceInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: TagResourceInput = parse(input)?;
    let name = resolve(engine, None, input.resource_arn.as_deref())?;
    engine
        .add_tags(&name, input.tags.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
