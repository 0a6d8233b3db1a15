//! SplitShard.

use super::{empty, engine_error, parse, resolve_target};
use crate::error::ApiError;
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::reshard::Reshard;
use rheo_types::HashKey;
use rheo_wire::model::Node;
use rheo_wire::shapes::SplitShardInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: SplitShardInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let shard = input.shard_to_split.as_deref().unwrap_or_default();
    let at = input.new_starting_hash_key.as_deref().unwrap_or_default();
    let new_start = HashKey::parse(at).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "NewStartingHashKey {at} used in SplitShard() is not a valid hash key (0 to 2^128 - 1)."
        ))
    })?;
    let op = Reshard::Split {
        shard: super::parse_shard_id(engine, &name, shard)?,
        new_start: new_start.0,
    };
    engine.reshard(&name, op).await.map_err(|e| engine_error(engine, e))?;
    empty()
}
