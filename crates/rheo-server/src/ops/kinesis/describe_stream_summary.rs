//! DescribeStreamSummary.

use super::{encryption_type, engine_error, json, mode_out, monitoring, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{
    DescribeStreamSummaryInput, DescribeStreamSummaryOutput, StreamDescriptionSummary, WarmThroughputOut,
};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: DescribeStreamSummaryInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let view = engine
        .describe_stream_summary(&name)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_mode_details: mode_out(&view),
            stream_name: view.name.to_string(),
            stream_arn: view.arn,
            stream_status: view.status,
            retention_period_hours: view.retention_hours,
            stream_creation_timestamp: rheo_wire::timestamp(view.created_ms),
            enhanced_monitoring: monitoring(&view.metrics),
            encryption_type: encryption_type(&view.encryption_key),
            key_id: view.encryption_key.clone(),
            open_shard_count: view.open_shards,
            consumer_count: view.consumer_count,
            queue_count: view.queue_count,
            warm_throughput: view.warm_throughput.map(|w| WarmThroughputOut {
                target_mi_bps: w.target_mibps,
                current_mi_bps: w.current_mibps,
            }),
            max_record_size_in_kib: view.settings.max_record_kib.unwrap_or(1024),
            record_distribution_strategy: view.settings.distribution.as_str(),
        },
    })
}
