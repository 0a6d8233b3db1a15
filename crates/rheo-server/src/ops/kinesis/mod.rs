//! One module per Kinesis action, plus the helpers they share: decoding the body, checking the
//! members that name a stream, and turning engine views into response shapes.

pub mod acknowledge_dead_letter_queue_records;
pub mod acknowledge_queue_records;
pub mod add_tags_to_stream;
pub mod channels;
pub mod create_queue;
pub mod create_stream;
pub mod decrease_stream_retention_period;
pub mod delete_queue;
pub mod delete_resource_policy;
pub mod delete_stream;
pub mod deregister_stream_consumer;
pub mod describe_account_settings;
pub mod describe_limits;
pub mod describe_queue;
pub mod describe_stream;
pub mod describe_stream_consumer;
pub mod describe_stream_summary;
pub mod disable_enhanced_monitoring;
pub mod enable_enhanced_monitoring;
pub mod get_records;
pub mod get_resource_policy;
pub mod get_shard_iterator;
pub mod increase_stream_retention_period;
pub mod list_queues;
pub mod list_shards;
pub mod list_stream_consumers;
pub mod list_streams;
pub mod list_tags_for_resource;
pub mod list_tags_for_stream;
pub mod merge_shards;
pub mod put_record;
pub mod put_records;
pub mod put_resource_policy;
pub mod queues;
pub mod receive_dead_letter_queue_records;
pub mod receive_queue_records;
pub mod register_stream_consumer;
pub mod remove_tags_from_stream;
pub mod restore_dead_letter_queue_records;
pub mod split_shard;
pub mod start_stream_encryption;
pub mod stop_stream_encryption;
pub mod subscribe_to_shard;
pub mod tag_resource;
pub mod untag_resource;
pub mod update_account_settings;
pub mod update_dead_letter_queue_records_visibility;
pub mod update_max_record_size;
pub mod update_queue;
pub mod update_queue_records_visibility;
pub mod update_shard_count;
pub mod update_stream_mode;
pub mod update_stream_record_distribution_strategy;
pub mod update_stream_warm_throughput;

use crate::error::ApiError;
use crate::router::Reply;
use rheo_engine::catalog::StreamMode;
use rheo_engine::consumers::{ConsumerRef, ConsumerView};
use rheo_engine::control::{ShardView, StreamView};
use rheo_engine::data::StartingPosition;
use rheo_engine::{Engine, Error};
use rheo_types::{Arn, ConsumerArn, ShardId, StreamName};
use rheo_wire::shapes::{self, StreamTarget};
use rheo_wire::validate::Violations;

pub use crate::ops::{Node, empty, json, parse};

/// Ends a hand-written check (a rule the model does not state): a ValidationException if any
/// constraint failed.
pub fn check(v: Violations) -> Result<(), ApiError> {
    v.message().map_or(Ok(()), |m| Err(ApiError::validation(m)))
}

/// The stream a validated request names.
pub fn resolve(engine: &Engine, name: Option<&str>, arn: Option<&str>) -> Result<StreamName, ApiError> {
    let name = name.and_then(|n| StreamName::parse(n).ok());
    let arn = arn.and_then(|a| Arn::parse(a).ok());
    engine.resolve(name, arn).map_err(|e| engine_error(engine, e))
}

pub fn resolve_target(engine: &Engine, t: &StreamTarget) -> Result<StreamName, ApiError> {
    resolve(engine, t.stream_name.as_deref(), t.stream_arn.as_deref())
}

/// A shard id named in a request; one that is not in Rheo's form names no shard of the stream.
pub fn parse_shard_id(engine: &Engine, stream: &StreamName, id: &str) -> Result<ShardId, ApiError> {
    ShardId::parse(id).map_err(|_| {
        ApiError::new(
            "ResourceNotFoundException",
            format!(
                "Could not find shard {id} in stream {stream} under account {}.",
                engine.config().account
            ),
        )
    })
}

/// The mode `StreamModeDetails` names (checked against the model); PROVISIONED when absent.
pub fn stream_mode(details: &Option<shapes::StreamModeDetails>) -> StreamMode {
    match details.as_ref().and_then(|d| d.stream_mode.as_deref()) {
        Some("ON_DEMAND") => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    }
}

/// A validated RecordDistributionStrategy (absent means the default).
pub fn distribution(strategy: Option<&str>) -> rheo_engine::catalog::Distribution {
    match strategy {
        Some("AUTO") => rheo_engine::catalog::Distribution::Auto,
        _ => rheo_engine::catalog::Distribution::UserPartitionKey,
    }
}

pub fn engine_error(engine: &Engine, e: Error) -> ApiError {
    ApiError::from_engine(e, &engine.config().account)
}

pub fn shard_out(s: ShardView) -> shapes::Shard {
    shapes::Shard {
        shard_id: s.id,
        parent_shard_id: s.parent,
        adjacent_parent_shard_id: s.adjacent_parent,
        hash_key_range: shapes::HashKeyRange {
            starting_hash_key: s.starting_hash_key,
            ending_hash_key: s.ending_hash_key,
        },
        sequence_number_range: shapes::SequenceNumberRange {
            starting_sequence_number: s.starting_sequence,
            ending_sequence_number: s.ending_sequence,
        },
    }
}

pub fn mode_out(v: &StreamView) -> shapes::StreamModeDetailsOut {
    shapes::StreamModeDetailsOut {
        stream_mode: v.mode.as_str(),
    }
}

pub fn monitoring(metrics: &[String]) -> Vec<shapes::EnhancedMetrics> {
    vec![shapes::EnhancedMetrics {
        shard_level_metrics: metrics.to_vec(),
    }]
}

pub fn encryption_type(key: &Option<String>) -> &'static str {
    if key.is_some() { "KMS" } else { "NONE" }
}

/// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod, which differ only in
/// the direction they allow.
pub async fn change_retention(
    engine: &Engine,
    input: Node<'_>,
    change: rheo_engine::control::RetentionChange,
) -> Reply {
    let input: shapes::RetentionInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let hours = input.retention_period_hours.unwrap_or_default();
    engine
        .change_retention(&name, hours, change)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}

/// The stream a resource policy's ARN belongs to (a stream ARN, or a consumer ARN of it).
pub fn policy_stream(engine: &Engine, arn: &str) -> Result<StreamName, ApiError> {
    if let Ok(c) = ConsumerArn::parse(arn) {
        return engine
            .resolve(None, Some(c.stream))
            .map_err(|e| engine_error(engine, e));
    }
    resolve(engine, None, Some(arn))
}

/// DescribeAccountSettings' and UpdateAccountSettings' output.
pub fn account_settings_out(c: Option<rheo_engine::catalog::Commitment>) -> shapes::AccountSettingsOutput {
    shapes::AccountSettingsOutput {
        minimum_throughput_billing_commitment: c.map(|c| shapes::CommitmentOutput {
            status: if c.enabled { "ENABLED" } else { "DISABLED" },
            started_at: c.started_ms.map(rheo_wire::timestamp),
            ended_at: c.ended_ms.map(rheo_wire::timestamp),
        }),
    }
}

/// Epoch seconds (as AWS JSON sends timestamps) to milliseconds.
pub fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// A validated starting position type with its sequence number or timestamp.
pub fn starting_position(kind: &str, seq: Option<String>, ts: Option<f64>) -> Result<StartingPosition, ApiError> {
    Ok(match (kind, seq, ts) {
        ("AT_SEQUENCE_NUMBER", Some(s), _) => StartingPosition::AtSequenceNumber(s),
        ("AFTER_SEQUENCE_NUMBER", Some(s), _) => StartingPosition::AfterSequenceNumber(s),
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None, _) => {
            return Err(ApiError::invalid_argument(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and no StartingSequenceNumber."
            )));
        }
        ("AT_TIMESTAMP", _, Some(ts)) => StartingPosition::AtTimestamp(millis(ts)),
        ("AT_TIMESTAMP", _, None) => {
            return Err(ApiError::invalid_argument(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.",
            ));
        }
        (_, Some(_), _) => {
            return Err(ApiError::invalid_argument(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and also a StartingSequenceNumber."
            )));
        }
        ("TRIM_HORIZON", None, _) => StartingPosition::TrimHorizon,
        _ => StartingPosition::Latest,
    })
}

/// Checks a ConsumerARN, or a StreamARN and ConsumerName, and returns the consumer they name.
pub fn consumer_ref(engine: &Engine, t: &shapes::ConsumerTarget) -> Result<ConsumerRef, ApiError> {
    match (&t.consumer_arn, &t.stream_arn, &t.consumer_name) {
        (Some(arn), None, None) => Ok(ConsumerRef::Arn(
            ConsumerArn::parse(arn).map_err(|_| ApiError::invalid_argument("Invalid ConsumerARN."))?,
        )),
        (None, Some(_), Some(name)) => Ok(ConsumerRef::Name {
            stream: resolve(engine, None, t.stream_arn.as_deref())?,
            name: name.clone(),
        }),
        _ => Err(ApiError::invalid_argument(
            "Either ConsumerARN or both ConsumerName and StreamARN must be provided.",
        )),
    }
}

pub fn consumer_out(c: ConsumerView) -> shapes::Consumer {
    shapes::Consumer {
        consumer_name: c.name,
        consumer_arn: c.arn,
        consumer_status: c.status,
        consumer_creation_timestamp: rheo_wire::timestamp(c.created_ms),
    }
}
