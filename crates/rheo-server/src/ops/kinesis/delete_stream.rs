//! DeleteStream.

use super::{empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::DeleteStreamInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: DeleteStreamInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let enforce = input.enforce_consumer_deletion.unwrap_or(false);
    engine
        .delete_stream(&name, enforce)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
