//! UpdateShardCount (UNIFORM_SCALING).

use super::{engine_error, json, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::reshard::Reshard;
use rheo_wire::model::Node;
use rheo_wire::shapes::{UpdateShardCountInput, UpdateShardCountOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: UpdateShardCountInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let target = input.target_shard_count.unwrap_or_default().min(i64::from(u32::MAX)) as u32;
    let current = engine
        .reshard(&name, Reshard::Uniform { target })
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&UpdateShardCountOutput {
        stream_arn: engine.arn(&name),
        stream_name: name.to_string(),
        current_shard_count: current,
        target_shard_count: target,
    })
}
