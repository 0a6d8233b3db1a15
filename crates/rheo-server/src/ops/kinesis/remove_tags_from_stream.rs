//! RemoveTagsFromStream.

use super::{empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::RemoveTagsFromStreamInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: RemoveTagsFromStreamInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    engine
        .remove_tags(&name, &input.tag_keys.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
