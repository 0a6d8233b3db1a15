//! Picks the service and action of a request and runs its handler. Services that speak AWS
//! JSON are told apart by the `X-Amz-Target` prefix their model names (`Kinesis_20131202.`,
//! `AmazonSQS.`, `Firehose_20150804.`, `AWSGlue.`); the signature's scope must then name the same service.

use crate::auth::TenantState;
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::faults::FaultRule;
use crate::ops;
use crate::protocol::Protocol;
use rheo_engine::Engine;
use rheo_wire::model::{FIREHOSE, GLUE, KINESIS, LOGS, Model, Node, Operation, Rejection, SQS, check_input};

/// The services one port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Kinesis,
    Sqs,
    Logs,
    Firehose,
    Glue,
}

impl Service {
    pub fn model(self) -> &'static Model {
        match self {
            Service::Kinesis => &KINESIS,
            Service::Sqs => &SQS,
            Service::Logs => &LOGS,
            Service::Firehose => &FIREHOSE,
            Service::Glue => &GLUE,
        }
    }

    /// The name a SigV4 credential scope must carry.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::Sqs => "sqs",
            Service::Logs => "logs",
            Service::Firehose => "firehose",
            Service::Glue => "glue",
        }
    }
}

/// A request's service and operation.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub service: Service,
    pub op: &'static Operation,
}

/// The service and operation `target` names, if it names an operation of a served model.
/// AWS answers any other target with UnknownOperationException before it looks at the
/// signature.
pub fn route(target: &str) -> Option<Route> {
    let (prefix, action) = target.split_once('.')?;
    [
        Service::Kinesis,
        Service::Sqs,
        Service::Logs,
        Service::Firehose,
        Service::Glue,
    ]
    .into_iter()
    .find_map(|service| {
        let model = service.model();
        (model.target_prefix.as_deref() == Some(prefix))
            .then(|| model.operation(action))
            .flatten()
            .map(|op| Route { service, op })
    })
}

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

/// Runs a Kinesis action; `fault` is the fault injection rule for it, if any.
pub async fn dispatch(
    tenant: &TenantState,
    op: &Operation,
    body: &[u8],
    fault: Option<&FaultRule>,
    protocol: Protocol,
) -> Result<ResponseBody, ApiError> {
    let engine = &tenant.engine;
    let action = op.name.as_str();
    let input = checked_input(&KINESIS, op, body)?;
    let input = match dispatch_queues(tenant, action, input).await {
        Ok(reply) => return reply.map(ResponseBody::full),
        Err(input) => input,
    };
    if action == "GetRecords" {
        return ops::kinesis::get_records::handle(engine, input).await;
    }
    if action == "SubscribeToShard" {
        return ops::kinesis::subscribe_to_shard::handle(engine, input, protocol).await;
    }
    if action == "PutRecords" {
        let fault = fault.filter(|f| fails_per_record(action, f));
        return ops::kinesis::put_records::handle(engine, input, fault)
            .await
            .map(ResponseBody::full);
    }
    dispatch_whole(engine, action, input).await.map(ResponseBody::full)
}

/// The body parsed and checked against the operation's input shape in the model: what AWS's
/// front end refuses before any handler runs (SerializationException, ValidationException).
pub fn checked_input<'a>(model: &Model, op: &Operation, body: &'a [u8]) -> Result<Node<'a>, ApiError> {
    // AWS reads no body as no request at all (the SDKs send `{}` for an empty input).
    if body.is_empty() {
        return Err(ApiError::serialization_without_message());
    }
    let input = Node::parse(body).map_err(|e| {
        tracing::debug!(error = %e, "request body is not JSON");
        ApiError::serialization_without_message()
    })?;
    check_node(model, op, input)
}

/// A request tree (from JSON, or read from a query form) checked against the operation's
/// input shape.
pub fn check_node<'a>(model: &Model, op: &Operation, mut input: Node<'a>) -> Result<Node<'a>, ApiError> {
    if let Some(shape) = op.input {
        check_input(model, shape, &mut input).map_err(|r| match r {
            Rejection::Serialization(m) => ApiError::serialization(m),
            Rejection::Validation(m) => ApiError::validation(m),
        })?;
    }
    Ok(input)
}

/// The Kinesis queue actions, which use the tenant's queues as well as its streams.
/// Hands the input back for any other action.
async fn dispatch_queues<'a>(tenant: &TenantState, action: &str, input: Node<'a>) -> Result<Reply, Node<'a>> {
    use ops::kinesis as k;
    Ok(match action {
        "CreateQueue" => k::create_queue::handle(tenant, input).await,
        "DescribeQueue" => k::describe_queue::handle(tenant, input).await,
        "ListQueues" => k::list_queues::handle(tenant, input).await,
        "UpdateQueue" => k::update_queue::handle(tenant, input).await,
        "DeleteQueue" => k::delete_queue::handle(tenant, input).await,
        "ReceiveQueueRecords" => k::receive_queue_records::handle(tenant, input).await,
        "AcknowledgeQueueRecords" => k::acknowledge_queue_records::handle(tenant, input).await,
        "UpdateQueueRecordsVisibility" => k::update_queue_records_visibility::handle(tenant, input).await,
        "ReceiveDeadLetterQueueRecords" => k::receive_dead_letter_queue_records::handle(tenant, input).await,
        "AcknowledgeDeadLetterQueueRecords" => k::acknowledge_dead_letter_queue_records::handle(tenant, input).await,
        "UpdateDeadLetterQueueRecordsVisibility" => {
            k::update_dead_letter_queue_records_visibility::handle(tenant, input).await
        }
        "RestoreDeadLetterQueueRecords" => k::restore_dead_letter_queue_records::handle(tenant, input).await,
        _ => return Err(input),
    })
}

/// The actions whose responses are built whole.
async fn dispatch_whole(engine: &Engine, action: &str, input: Node<'_>) -> Reply {
    match action {
        "CreateStream" => ops::kinesis::create_stream::handle(engine, input).await,
        "DeleteStream" => ops::kinesis::delete_stream::handle(engine, input).await,
        "DescribeStream" => ops::kinesis::describe_stream::handle(engine, input).await,
        "DescribeStreamSummary" => ops::kinesis::describe_stream_summary::handle(engine, input).await,
        "ListStreams" => ops::kinesis::list_streams::handle(engine, input).await,
        "ListShards" => ops::kinesis::list_shards::handle(engine, input).await,
        "DescribeLimits" => ops::kinesis::describe_limits::handle(engine, input).await,
        "PutRecord" => ops::kinesis::put_record::handle(engine, input).await,
        "GetShardIterator" => ops::kinesis::get_shard_iterator::handle(engine, input).await,
        "IncreaseStreamRetentionPeriod" => ops::kinesis::increase_stream_retention_period::handle(engine, input).await,
        "DecreaseStreamRetentionPeriod" => ops::kinesis::decrease_stream_retention_period::handle(engine, input).await,
        "AddTagsToStream" => ops::kinesis::add_tags_to_stream::handle(engine, input).await,
        "RemoveTagsFromStream" => ops::kinesis::remove_tags_from_stream::handle(engine, input).await,
        "SplitShard" => ops::kinesis::split_shard::handle(engine, input).await,
        "MergeShards" => ops::kinesis::merge_shards::handle(engine, input).await,
        "UpdateShardCount" => ops::kinesis::update_shard_count::handle(engine, input).await,
        "UpdateStreamMode" => ops::kinesis::update_stream_mode::handle(engine, input).await,
        "UpdateMaxRecordSize" => ops::kinesis::update_max_record_size::handle(engine, input).await,
        "UpdateStreamWarmThroughput" => ops::kinesis::update_stream_warm_throughput::handle(engine, input).await,
        "UpdateStreamRecordDistributionStrategy" => {
            ops::kinesis::update_stream_record_distribution_strategy::handle(engine, input).await
        }
        "RegisterStreamConsumer" => ops::kinesis::register_stream_consumer::handle(engine, input).await,
        "DescribeStreamConsumer" => ops::kinesis::describe_stream_consumer::handle(engine, input).await,
        "ListStreamConsumers" => ops::kinesis::list_stream_consumers::handle(engine, input).await,
        "DeregisterStreamConsumer" => ops::kinesis::deregister_stream_consumer::handle(engine, input).await,
        "ListTagsForStream" => ops::kinesis::list_tags_for_stream::handle(engine, input).await,
        "TagResource" => ops::kinesis::tag_resource::handle(engine, input).await,
        "UntagResource" => ops::kinesis::untag_resource::handle(engine, input).await,
        "ListTagsForResource" => ops::kinesis::list_tags_for_resource::handle(engine, input).await,
        "StartStreamEncryption" => ops::kinesis::start_stream_encryption::handle(engine, input).await,
        "StopStreamEncryption" => ops::kinesis::stop_stream_encryption::handle(engine, input).await,
        "EnableEnhancedMonitoring" => ops::kinesis::enable_enhanced_monitoring::handle(engine, input).await,
        "DisableEnhancedMonitoring" => ops::kinesis::disable_enhanced_monitoring::handle(engine, input).await,
        "PutResourcePolicy" => ops::kinesis::put_resource_policy::handle(engine, input).await,
        "GetResourcePolicy" => ops::kinesis::get_resource_policy::handle(engine, input).await,
        "DeleteResourcePolicy" => ops::kinesis::delete_resource_policy::handle(engine, input).await,
        "DescribeAccountSettings" => ops::kinesis::describe_account_settings::handle(engine, input).await,
        "UpdateAccountSettings" => ops::kinesis::update_account_settings::handle(engine, input).await,
        _ => Err(ApiError::unknown_operation()),
    }
}
