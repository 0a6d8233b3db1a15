//! Picks the action from `X-Amz-Target` and runs its handler.

use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::faults::FaultRule;
use crate::ops;
use crate::protocol::Protocol;
use rheo_engine::Engine;

pub const TARGET_PREFIX: &str = "Kinesis_20131202.";

/// A successful response body (JSON).
pub type Reply = Result<Vec<u8>, ApiError>;

/// Whether a fault rule fails records of `action` one by one (PutRecords with a record-level
/// error code) rather than whole calls.
pub fn fails_per_record(action: &str, rule: &FaultRule) -> bool {
    action == "PutRecords"
        && matches!(
            rule.error_name(action),
            "ProvisionedThroughputExceededException" | "InternalFailure"
        )
}

/// Runs the action; `fault` is the fault injection rule for it, if any.
pub async fn dispatch(
    engine: &Engine,
    target: &str,
    body: &[u8],
    fault: Option<&FaultRule>,
    protocol: Protocol,
) -> Result<ResponseBody, ApiError> {
    let Some(action) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(ApiError::unknown_operation());
    };
    if action == "GetRecords" {
        return ops::get_records::handle(engine, body).await;
    }
    if action == "SubscribeToShard" {
        return ops::subscribe_to_shard::handle(engine, body, protocol).await;
    }
    if action == "PutRecords" {
        let fault = fault.filter(|f| fails_per_record(action, f));
        return ops::put_records::handle(engine, body, fault)
            .await
            .map(ResponseBody::full);
    }
    dispatch_whole(engine, action, body).await.map(ResponseBody::full)
}

/// The actions whose responses are built whole.
async fn dispatch_whole(engine: &Engine, action: &str, body: &[u8]) -> Reply {
    match action {
        "CreateStream" => ops::create_stream::handle(engine, body).await,
        "DeleteStream" => ops::delete_stream::handle(engine, body).await,
        "DescribeStream" => ops::describe_stream::handle(engine, body).await,
        "DescribeStreamSummary" => ops::describe_stream_summary::handle(engine, body).await,
        "ListStreams" => ops::list_streams::handle(engine, body).await,
        "ListShards" => ops::list_shards::handle(engine, body).await,
        "DescribeLimits" => ops::describe_limits::handle(engine, body).await,
        "PutRecord" => ops::put_record::handle(engine, body).await,
        "GetShardIterator" => ops::get_shard_iterator::handle(engine, body).await,
        "IncreaseStreamRetentionPeriod" => ops::increase_stream_retention_period::handle(engine, body).await,
        "DecreaseStreamRetentionPeriod" => ops::decrease_stream_retention_period::handle(engine, body).await,
        "AddTagsToStream" => ops::add_tags_to_stream::handle(engine, body).await,
        "RemoveTagsFromStream" => ops::remove_tags_from_stream::handle(engine, body).await,
        "SplitShard" => ops::split_shard::handle(engine, body).await,
        "MergeShards" => ops::merge_shards::handle(engine, body).await,
        "UpdateShardCount" => ops::update_shard_count::handle(engine, body).await,
        "UpdateStreamMode" => ops::update_stream_mode::handle(engine, body).await,
        "UpdateMaxRecordSize" => ops::update_max_record_size::handle(engine, body).await,
        "UpdateStreamWarmThroughput" => ops::update_stream_warm_throughput::handle(engine, body).await,
        "UpdateStreamRecordDistributionStrategy" => {
            ops::update_stream_record_distribution_strategy::handle(engine, body).await
        }
        "RegisterStreamConsumer" => ops::register_stream_consumer::handle(engine, body).await,
        "DescribeStreamConsumer" => ops::describe_stream_consumer::handle(engine, body).await,
        "ListStreamConsumers" => ops::list_stream_consumers::handle(engine, body).await,
        "DeregisterStreamConsumer" => ops::deregister_stream_consumer::handle(engine, body).await,
        "ListTagsForStream" => ops::list_tags_for_stream::handle(engine, body).await,
        "TagResource" => ops::tag_resource::handle(engine, body).await,
        "UntagResource" => ops::untag_resource::handle(engine, body).await,
        "ListTagsForResource" => ops::list_tags_for_resource::handle(engine, body).await,
        _ => Err(ApiError::unknown_operation()),
    }
}
