//! MergeShards.

use super::{empty, engine_error, parse, parse_shard_id, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::reshard::Reshard;
use rheo_wire::model::Node;
use rheo_wire::shapes::MergeShardsInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: MergeShardsInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let op = Reshard::Merge {
        shard: parse_shard_id(engine, &name, input.shard_to_merge.as_deref().unwrap_or_default())?,
        adjacent: parse_shard_id(
            engine,
            &name,
            input.adjacent_shard_to_merge.as_deref().unwrap_or_default(),
        )?,
    };
    engine.reshard(&name, op).await.map_err(|e| engine_error(engine, e))?;
    empty()
}
