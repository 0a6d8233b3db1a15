//! What the Kinesis queue actions share: finding a queue and the stream it reads, the
//! stream as its delivery reads it (`rheo_queues::stream_queue::RecordSource` over the
//! engine's feed), the long-polled receive, per-entry results, and AWS's names for the
//! queues' outcomes.

use super::engine_error;
use crate::auth::TenantState;
use crate::error::ApiError;
use base64::Engine as _;
use rheo_engine::Engine;
use rheo_engine::catalog::{QueueStart, QueueStatus};
use rheo_engine::kqueues::{DeadLetterConfig, QueueView};
use rheo_queues::QueueError;
use rheo_queues::stream_queue::{QueueRecordOut, RecordSource, Side, StreamQueueSpec};
use rheo_types::StreamName;
use rheo_wire::kinesis_queues as shapes;
use std::collections::HashSet;
use std::time::Duration;

/// ReceiveQueueRecords' WaitTimeSeconds when none is given.
const DEFAULT_WAIT_S: u32 = 9;
/// How often a dead-letter receive looks again while it waits (records become dead letters
/// when their visibility ends, which no signal announces).
const DEAD_LETTER_POLL: Duration = Duration::from_millis(200);

pub use rheo_connect::FeedSource;

/// A live queue the ARN names, with its stream; data-plane calls need it ACTIVE or UPDATING.
pub fn live_queue(engine: &Engine, arn: &str) -> Result<(StreamName, QueueView), ApiError> {
    let stream = engine.queue_stream(arn).map_err(|e| engine_error(engine, e))?;
    let view = engine.describe_queue(arn).map_err(|e| engine_error(engine, e))?;
    match view.status {
        QueueStatus::Active | QueueStatus::Updating => Ok((stream, view)),
        other => Err(ApiError::new(
            "ResourceNotFoundException",
            format!("Queue {arn} is {}, not ACTIVE.", other.as_str()),
        )),
    }
}

/// The queue's delivery state, made to match its definition; returns the spec and the feed.
pub fn open(
    tenant: &TenantState,
    stream: &StreamName,
    view: &QueueView,
) -> Result<(StreamQueueSpec, FeedSource), ApiError> {
    let engine = &tenant.engine;
    let feed = engine.feed(stream).map_err(|e| engine_error(engine, e))?;
    let spec = rheo_connect::queue_spec(&view.meta, feed.retention_ms);
    let sqs = tenant.sqs()?;
    sqs.ensure_stream_queue(&spec).map_err(|e| queue_error(&view.arn, e))?;
    Ok((spec, FeedSource(feed)))
}

/// ReceiveQueueRecords and ReceiveDeadLetterQueueRecords: waits up to WaitTimeSeconds for
/// the first record, woken by the stream's commits and by records becoming visible.
pub async fn receive(tenant: &TenantState, input: shapes::ReceiveInput, side: Side) -> Result<Vec<u8>, ApiError> {
    let (stream, view) = live_queue(&tenant.engine, &input.queue_arn)?;
    let (spec, mut source) = open(tenant, &stream, &view)?;
    let sqs = tenant.sqs()?;
    let max = input.limit.unwrap_or(10) as usize;
    let wait = Duration::from_secs(u64::from(input.wait_time_seconds.unwrap_or(DEFAULT_WAIT_S)));
    let deadline = tokio::time::Instant::now()
        .checked_add(wait)
        .unwrap_or_else(tokio::time::Instant::now);
    loop {
        let (records, next_at) = sqs
            .receive_records(&spec, &source, side, max, input.visibility_timeout_seconds)
            .await
            .map_err(|e| queue_error(&view.arn, e))?;
        let now = tokio::time::Instant::now();
        if !records.is_empty() || now >= deadline {
            return super::json(&shapes::ReceiveOutput {
                queue_records: records.into_iter().map(record_out).collect(),
            });
        }
        let mut until = deadline;
        if let Some(at) = next_at {
            let ms = at.saturating_sub(tenant.engine.now()).max(10) as u64;
            until = until.min(now.checked_add(Duration::from_millis(ms)).unwrap_or(deadline));
        }
        if side == Side::DeadLetters {
            until = until.min(now.checked_add(DEAD_LETTER_POLL).unwrap_or(deadline));
        }
        tokio::select! {
            () = source.changed(), if side == Side::Records => {}
            () = sqs.wait_records(&spec.id, side, until) => {}
        }
    }
}

fn record_out(r: QueueRecordOut) -> shapes::QueueRecord {
    shapes::QueueRecord {
        receipt_handle: r.receipt_handle,
        record_id: r.record_id,
        partition_key: r.partition_key,
        data: base64::engine::general_purpose::STANDARD.encode(&r.data),
        approximate_arrival_timestamp: rheo_wire::timestamp(r.arrival_ms),
        first_receive_timestamp: rheo_wire::timestamp(r.first_receive_ms),
        receive_count: r.receive_count,
    }
}

/// The acknowledge, visibility and restore operations' response: one result per handle, in
/// the request's order.
pub fn entries_out(handles: &[String], results: Vec<Result<(), QueueError>>) -> Result<Vec<u8>, ApiError> {
    let mut out = shapes::EntriesOutput {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    for (h, r) in handles.iter().zip(results) {
        match r {
            Ok(()) => out.successful.push(shapes::HandleOk {
                receipt_handle: h.clone(),
            }),
            Err(e) => {
                let (code, message) = match e {
                    QueueError::Internal(_) => ("InternalFailureException", "Internal service failure.".to_owned()),
                    QueueError::QueueDoesNotExist => ("ResourceNotFoundException", e.to_string()),
                    other => ("InvalidArgumentException", other.to_string()),
                };
                out.failed.push(shapes::HandleFailed {
                    receipt_handle: h.clone(),
                    error_code: code,
                    error_message: message,
                });
            }
        }
    }
    super::json(&out)
}

/// The queue's outcomes as Kinesis names them.
pub fn queue_error(arn: &str, e: QueueError) -> ApiError {
    match e {
        QueueError::QueueDoesNotExist => ApiError::new("ResourceNotFoundException", format!("Queue {arn} not found.")),
        QueueError::OverLimit(m) => ApiError::new("ThrottlingException", m),
        QueueError::Internal(m) => {
            tracing::error!(error = %m, queue = arn, "a Kinesis queue operation failed");
            ApiError::internal()
        }
        other => ApiError::invalid_argument(other.to_string()),
    }
}

/// Drops the delivery state of queues that are being deleted or gone (a crash between a
/// DeleteQueue's catalog save and this clean-up leaves it for the next call).
pub fn forget_deleted(tenant: &TenantState) -> Result<(), ApiError> {
    let now = tenant.engine.now();
    let live: HashSet<String> = tenant
        .engine
        .all_queues()
        .into_iter()
        .filter(|(_, q)| q.status(now) != QueueStatus::Deleting)
        .map(|(_, q)| q.id)
        .collect();
    let sqs = tenant.sqs()?;
    sqs.forget_stream_queues(&live).map_err(|e| queue_error("", e))
}

/// A validated DeadLetterConfiguration.
pub fn dead_letter(d: &Option<shapes::DeadLetterConfiguration>) -> Option<DeadLetterConfig> {
    d.as_ref().map(|d| DeadLetterConfig {
        built_in: d.target_type == "BUILT_IN",
        max_receive_count: d.max_receive_count,
    })
}

/// The queue as Create, Describe and Update show it.
pub fn description(v: QueueView) -> shapes::QueueDescriptionOutput {
    let kind = match v.meta.start {
        QueueStart::TrimHorizon => "TRIM_HORIZON",
        QueueStart::Latest => "LATEST",
        QueueStart::AtTimestamp(_) => "AT_TIMESTAMP",
    };
    let dead_letter_configuration = match v.meta.max_receive_count {
        Some(n) => shapes::DeadLetterConfiguration {
            target_type: "BUILT_IN".into(),
            max_receive_count: Some(n),
        },
        None => shapes::DeadLetterConfiguration {
            target_type: "NONE".into(),
            max_receive_count: None,
        },
    };
    shapes::QueueDescriptionOutput {
        queue_description: shapes::QueueDescription {
            queue_name: v.meta.name.clone(),
            queue_arn: v.arn.clone(),
            queue_status: v.status.as_str(),
            queue_creation_timestamp: rheo_wire::timestamp(v.meta.created_ms),
            stream_configuration_list: vec![shapes::StreamConfigurationOut {
                stream_arn: v.stream_arn.clone(),
                starting_position: shapes::StartingPositionOut {
                    kind,
                    timestamp: v.start_timestamp_ms.map(rheo_wire::timestamp),
                },
            }],
            queue_attributes: shapes::QueueAttributesOut {
                visibility_timeout_seconds: v.meta.visibility_s,
                dead_letter_configuration,
            },
        },
    }
}
