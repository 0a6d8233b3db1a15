//! Picks the action from `X-Amz-Target` and runs its handler.

use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::faults::FaultRule;
use crate::ops;
use crate::protocol::Protocol;
use rheo_engine::Engine;
use rheo_wire::model::{KINESIS, Node, Operation, Rejection, check_input};

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

/// Whether `target` names an operation of the Kinesis model: AWS answers any other target with
/// UnknownOperationException before it looks at the signature.
pub fn known_target(target: &str) -> bool {
    target
        .strip_prefix(TARGET_PREFIX)
        .is_some_and(|action| KINESIS.operation(action).is_some())
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
    let Some(op) = KINESIS.operation(action) else {
        return Err(ApiError::unknown_operation());
    };
    let input = checked_input(op, body)?;
    if action == "GetRecords" {
        return ops::get_records::handle(engine, input).await;
    }
    if action == "SubscribeToShard" {
        return ops::subscribe_to_shard::handle(engine, input, protocol).await;
    }
    if action == "PutRecords" {
        let fault = fault.filter(|f| fails_per_record(action, f));
        return ops::put_records::handle(engine, input, fault)
            .await
            .map(ResponseBody::full);
    }
    dispatch_whole(engine, action, input).await.map(ResponseBody::full)
}

/// The body parsed and checked against the operation's input shape in the model: what AWS's
/// front end refuses before any handler runs (SerializationException, ValidationException).
fn checked_input<'a>(op: &Operation, body: &'a [u8]) -> Result<Node<'a>, ApiError> {
    // AWS reads no body as no request at all (the SDKs send `{}` for an empty input).
    if body.is_empty() {
        return Err(ApiError::serialization_without_message());
    }
    let mut input = Node::parse(body).map_err(|e| {
        tracing::debug!(error = %e, "request body is not JSON");
        ApiError::serialization_without_message()
    })?;
    if let Some(shape) = op.input {
        check_input(&KINESIS, shape, &mut input).map_err(|r| match r {
            Rejection::Serialization(m) => ApiError::serialization(m),
            Rejection::Validation(m) => ApiError::validation(m),
        })?;
    }
    Ok(input)
}

/// The actions whose responses are built whole.
async fn dispatch_whole(engine: &Engine, action: &str, input: Node<'_>) -> Reply {
    match action {
        "CreateStream" => ops::create_stream::handle(engine, input).await,
        "DeleteStream" => ops::delete_stream::handle(engine, input).await,
        "DescribeStream" => ops::describe_stream::handle(engine, input).await,
        "DescribeStreamSummary" => ops::describe_stream_summary::handle(engine, input).await,
        "ListStreams" => ops::list_streams::handle(engine, input).await,
        "ListShards" => ops::list_shards::handle(engine, input).await,
        "DescribeLimits" => ops::describe_limits::handle(engine, input).await,
        "PutRecord" => ops::put_record::handle(engine, input).await,
        "GetShardIterator" => ops::get_shard_iterator::handle(engine, input).await,
        "IncreaseStreamRetentionPeriod" => ops::increase_stream_retention_period::handle(engine, input).await,
        "DecreaseStreamRetentionPeriod" => ops::decrease_stream_retention_period::handle(engine, input).await,
        "AddTagsToStream" => ops::add_tags_to_stream::handle(engine, input).await,
        "RemoveTagsFromStream" => ops::remove_tags_from_stream::handle(engine, input).await,
        "SplitShard" => ops::split_shard::handle(engine, input).await,
        "MergeShards" => ops::merge_shards::handle(engine, input).await,
        "UpdateShardCount" => ops::update_shard_count::handle(engine, input).await,
        "UpdateStreamMode" => ops::update_stream_mode::handle(engine, input).await,
        "UpdateMaxRecordSize" => ops::update_max_record_size::handle(engine, input).await,
        "UpdateStreamWarmThroughput" => ops::update_stream_warm_throughput::handle(engine, input).await,
        "UpdateStreamRecordDistributionStrategy" => {
            ops::update_stream_record_distribution_strategy::handle(engine, input).await
        }
        "RegisterStreamConsumer" => ops::register_stream_consumer::handle(engine, input).await,
        "DescribeStreamConsumer" => ops::describe_stream_consumer::handle(engine, input).await,
        "ListStreamConsumers" => ops::list_stream_consumers::handle(engine, input).await,
        "DeregisterStreamConsumer" => ops::deregister_stream_consumer::handle(engine, input).await,
        "ListTagsForStream" => ops::list_tags_for_stream::handle(engine, input).await,
        "TagResource" => ops::tag_resource::handle(engine, input).await,
        "UntagResource" => ops::untag_resource::handle(engine, input).await,
        "ListTagsForResource" => ops::list_tags_for_resource::handle(engine, input).await,
        "StartStreamEncryption" => ops::start_stream_encryption::handle(engine, input).await,
        "StopStreamEncryption" => ops::stop_stream_encryption::handle(engine, input).await,
        "EnableEnhancedMonitoring" => ops::enable_enhanced_monitoring::handle(engine, input).await,
        "DisableEnhancedMonitoring" => ops::disable_enhanced_monitoring::handle(engine, input).await,
        "PutResourcePolicy" => ops::put_resource_policy::handle(engine, input).await,
        "GetResourcePolicy" => ops::get_resource_policy::handle(engine, input).await,
        "DeleteResourcePolicy" => ops::delete_resource_policy::handle(engine, input).await,
        "DescribeAccountSettings" => ops::describe_account_settings::handle(engine, input).await,
        "UpdateAccountSettings" => ops::update_account_settings::handle(engine, input).await,
        _ => Err(ApiError::unknown_operation()),
    }
}
