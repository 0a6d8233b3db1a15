//! GetShardIterator.

use super::{check, check_target, engine_error, json, parse, resolve_target, starting_position};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::{GetShardIteratorInput, GetShardIteratorOutput};
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: GetShardIteratorInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    v.required("shardId", &input.shard_id);
    v.shard_id("shardId", input.shard_id.as_deref());
    v.required("shardIteratorType", &input.shard_iterator_type);
    v.one_of(
        "shardIteratorType",
        input.shard_iterator_type.as_deref(),
        &super::ITERATOR_TYPES,
    );
    v.sequence_number("startingSequenceNumber", input.starting_sequence_number.as_deref());
    check(v)?;
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
