//! UpdateStreamWarmThroughput.

use super::{engine_error, json, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{UpdateStreamWarmThroughputInput, UpdateStreamWarmThroughputOutput, WarmThroughputOut};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: UpdateStreamWarmThroughputInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let mibps = input
        .warm_throughput_mi_bps
        .unwrap_or_default()
        .min(i64::from(u32::MAX)) as u32;
    let warm = engine
        .update_warm_throughput(&name, mibps)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&UpdateStreamWarmThroughputOutput {
        stream_arn: engine.arn(&name),
        stream_name: name.to_string(),
        warm_throughput: WarmThroughputOut {
            target_mi_bps: warm.target_mibps,
            current_mi_bps: warm.current_mibps,
        },
    })
}
