//! UpdateShardCount (UNIFORM_SCALING).

use super::{check, check_target, engine_error, json, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::reshard::Reshard;
use rheo_wire::shapes::{UpdateShardCountInput, UpdateShardCountOutput};
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: UpdateShardCountInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    v.required("targetShardCount", &input.target_shard_count);
    v.range("targetShardCount", input.target_shard_count, Some(1), None);
    v.required("scalingType", &input.scaling_type);
    v.one_of("scalingType", input.scaling_type.as_deref(), &["UNIFORM_SCALING"]);
    check(v)?;
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
