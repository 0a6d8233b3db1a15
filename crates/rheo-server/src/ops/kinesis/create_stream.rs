//! CreateStream.

use super::{empty, engine_error, parse, stream_mode};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::catalog::StreamSettings;
use rheo_engine::control::CreateStream;
use rheo_types::StreamName;
use rheo_wire::model::Node;
use rheo_wire::shapes::CreateStreamInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: CreateStreamInput = parse(input)?;
    let mode = stream_mode(&input.stream_mode_details);
    let strategy = input.record_distribution_strategy.as_deref();
    let req = CreateStream {
        name: StreamName::parse(input.stream_name.as_deref().unwrap_or_default())
            .map_err(|_| super::ApiError::internal())?,
        shard_count: input.shard_count.map(|n| n.min(i64::from(u32::MAX)) as u32),
        mode,
        tags: input.tags.unwrap_or_default(),
        settings: StreamSettings {
            throughput_limits: None,
            max_record_kib: input.max_record_size_in_kib.map(|k| k as u32),
            distribution: super::distribution(strategy),
            warm_throughput_mibps: input.warm_throughput_mi_bps.map(|w| w.min(i64::from(u32::MAX)) as u32),
        },
    };
    engine.create_stream(req).await.map_err(|e| engine_error(engine, e))?;
    empty()
}
