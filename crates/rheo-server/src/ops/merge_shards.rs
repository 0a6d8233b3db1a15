//! MergeShards.

use super::{check, check_target, empty, engine_error, parse, parse_shard_id, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::reshard::Reshard;
use rheo_wire::shapes::MergeShardsInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: MergeShardsInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    v.required("shardToMerge", &input.shard_to_merge);
    v.shard_id("shardToMerge", input.shard_to_merge.as_deref());
    v.required("adjacentShardToMerge", &input.adjacent_shard_to_merge);
    v.shard_id("adjacentShardToMerge", input.adjacent_shard_to_merge.as_deref());
    check(v)?;
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
