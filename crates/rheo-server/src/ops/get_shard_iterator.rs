//! GetShardIterator.

use super::{engine_error, json, parse, resolve_target, starting_position};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{GetShardIteratorInput, GetShardIteratorOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: GetShardIteratorInput = parse(input)?;
    let kind = input.shard_iterator_type.as_deref().unwrap_or_default();
    let start = starting_position(kind, input.starting_sequence_number.clone(), input.timestamp)?;
    let name = resolve_target(engine, &input.target)?;
    let shard = input.shard_id.as_deref().unwrap_or_default();
    let it = engine
        .get_shard_iterator(&name, shard, start)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&GetShardIteratorOutput { shard_iterator: it })
}
