//! GetShardIterator.

use super::{engine_error, json, parse, parse_shard_id, resolve_target, starting_position};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{GetShardIteratorInput, GetShardIteratorOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: GetShardIteratorInput = parse(input)?;
    let kind = input.shard_iterator_type.as_deref().unwrap_or_default();
    let start = starting_position(kind, input.starting_sequence_number.clone(), input.timestamp)?;
    let name = resolve_target(engine, &input.target)?;
    // The shard id is read before the stream is looked up, as AWS does; an unknown stream is
    // then named by its shard ("Shard ... does not exist").
    let shard = parse_shard_id(engine, &name, input.shard_id.as_deref().unwrap_or_default())?;
    let it = engine
        .get_shard_iterator(&name, &shard.to_string(), start)
        .await
        .map_err(|e| match e {
            rheo_engine::Error::StreamNotFound(stream) => rheo_engine::Error::ShardNotFound {
                stream,
                shard: shard.to_string(),
            },
            e => e,
        })
        .map_err(|e| engine_error(engine, e))?;
    json(&GetShardIteratorOutput { shard_iterator: it })
}
