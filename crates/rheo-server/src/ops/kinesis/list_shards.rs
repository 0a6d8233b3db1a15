//! ListShards.

use super::{ApiError, engine_error, json, millis, parse, resolve, shard_out};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::control::{ListShards, ShardFilter};
use rheo_wire::model::Node;
use rheo_wire::shapes::{ListShardsInput, ListShardsOutput, ShardFilterInput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ListShardsInput = parse(input)?;
    let t = &input.target;
    let stream = match (&t.stream_name, &t.stream_arn) {
        (None, None) => None,
        (name, arn) => Some(resolve(engine, name.as_deref(), arn.as_deref())?),
    };
    let req = ListShards {
        stream,
        next_token: input.next_token,
        exclusive_start: input.exclusive_start_shard_id,
        max_results: input.max_results.map(|m| m as u32),
        created_ms: input.stream_creation_timestamp.map(millis),
        filter: input.shard_filter.as_ref().map(filter).transpose()?,
    };
    let (shards, next_token) = engine.list_shards(req).await.map_err(|e| engine_error(engine, e))?;
    json(&ListShardsOutput {
        shards: shards.into_iter().map(shard_out).collect(),
        next_token,
    })
}

fn filter(f: &ShardFilterInput) -> Result<ShardFilter, ApiError> {
    let need_ts = |kind: &str| {
        f.timestamp.map(millis).ok_or_else(|| {
            ApiError::invalid_argument(format!("Timestamp must be specified for ShardFilter type {kind}."))
        })
    };
    Ok(match f.kind.as_deref().unwrap_or_default() {
        "AFTER_SHARD_ID" => ShardFilter::AfterShardId(f.shard_id.clone().ok_or_else(|| {
            ApiError::invalid_argument("ShardId must be specified for ShardFilter type AFTER_SHARD_ID.")
        })?),
        "AT_TRIM_HORIZON" => ShardFilter::AtTrimHorizon,
        "FROM_TRIM_HORIZON" => ShardFilter::FromTrimHorizon,
        "AT_LATEST" => ShardFilter::AtLatest,
        "AT_TIMESTAMP" => ShardFilter::AtTimestamp(need_ts("AT_TIMESTAMP")?),
        _ => ShardFilter::FromTimestamp(need_ts("FROM_TIMESTAMP")?),
    })
}
