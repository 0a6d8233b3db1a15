//! EnableEnhancedMonitoring (and, with `enable` false, DisableEnhancedMonitoring): the metrics
//! are recorded and reported; no metrics are published yet.

use super::{engine_error, json, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{EnhancedMonitoringInput, EnhancedMonitoringOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    change(engine, input, true).await
}

pub async fn change(engine: &Engine, input: Node<'_>, enable: bool) -> Reply {
    let input: EnhancedMonitoringInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let metrics = input.shard_level_metrics.unwrap_or_default();
    let change = engine
        .enhanced_monitoring(&name, &metrics, enable)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&EnhancedMonitoringOutput {
        stream_arn: engine.arn(&name),
        stream_name: name.to_string(),
        current_shard_level_metrics: change.current,
        desired_shard_level_metrics: change.desired,
    })
}
