//! DescribeLimits.

use super::{json, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{DescribeLimitsInput, DescribeLimitsOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let _: DescribeLimitsInput = parse(input)?;
    let l = engine.describe_limits().await;
    json(&DescribeLimitsOutput {
        shard_limit: l.shard_limit,
        open_shard_count: l.open_shards,
        on_demand_stream_count: l.on_demand_streams,
        on_demand_stream_count_limit: l.on_demand_stream_limit,
    })
}
