//! DescribeStream.

use super::{encryption_type, engine_error, json, mode_out, monitoring, parse, resolve_target, shard_out};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{DescribeStreamInput, DescribeStreamOutput, StreamDescription};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: DescribeStreamInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let view = engine
        .describe_stream(
            &name,
            input.limit.map(|l| l as u32),
            input.exclusive_start_shard_id.as_deref(),
        )
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_mode_details: mode_out(&view),
            stream_name: view.name.to_string(),
            stream_arn: view.arn,
            stream_status: view.status,
            shards: view.shards.into_iter().map(shard_out).collect(),
            has_more_shards: view.has_more_shards,
            retention_period_hours: view.retention_hours,
            stream_creation_timestamp: rheo_wire::timestamp(view.created_ms),
            enhanced_monitoring: monitoring(&view.metrics),
            encryption_type: encryption_type(&view.encryption_key),
            key_id: view.encryption_key.clone(),
        },
    })
}
