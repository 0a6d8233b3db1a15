//! AddTagsToStream.

use super::{empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::AddTagsToStreamInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: AddTagsToStreamInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    engine
        .add_tags(&name, input.tags.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
