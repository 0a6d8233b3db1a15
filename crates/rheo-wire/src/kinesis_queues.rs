//! Kinesis queues' request and response shapes (CreateQueue … RestoreDeadLetterQueueRecords),
//! decoded from the model-checked tree; timestamps are epoch seconds, `Data` is base64.

use crate::shapes::TagMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartingPosition {
    #[serde(rename = "Type")]
    pub kind: String,
    pub timestamp: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamConfiguration {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub starting_position: Option<StartingPosition>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfiguration {
    pub target_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_receive_count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueAttributesIn {
    pub visibility_timeout_seconds: Option<u32>,
    pub dead_letter_configuration: Option<DeadLetterConfiguration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueInput {
    pub queue_name: String,
    pub stream_configuration_list: Vec<StreamConfiguration>,
    pub queue_attributes: Option<QueueAttributesIn>,
    pub tags: Option<TagMap>,
}

/// DescribeQueue and DeleteQueue.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueTarget {
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateQueueInput {
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    pub queue_attributes: QueueAttributesIn,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamFilter {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_creation_timestamp: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesInput {
    pub max_results: Option<u32>,
    pub next_token: Option<String>,
    pub stream_filter: Option<Vec<StreamFilter>>,
}

/// ReceiveQueueRecords and ReceiveDeadLetterQueueRecords.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveInput {
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    pub limit: Option<u32>,
    pub wait_time_seconds: Option<u32>,
    pub visibility_timeout_seconds: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleEntry {
    pub receipt_handle: String,
    /// Only in the visibility operations, where the model requires it.
    pub visibility_timeout_seconds: Option<u32>,
}

/// The acknowledge, visibility and restore operations.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntriesInput {
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    pub entries: Vec<HandleEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartingPositionOut {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamConfigurationOut {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub starting_position: StartingPositionOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueAttributesOut {
    pub visibility_timeout_seconds: u32,
    pub dead_letter_configuration: DeadLetterConfiguration,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDescription {
    pub queue_name: String,
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    pub queue_status: &'static str,
    pub queue_creation_timestamp: f64,
    pub stream_configuration_list: Vec<StreamConfigurationOut>,
    pub queue_attributes: QueueAttributesOut,
}

/// CreateQueue, DescribeQueue and UpdateQueue.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDescriptionOutput {
    pub queue_description: QueueDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamIdentifier {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_creation_timestamp: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueSummary {
    pub queue_name: String,
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    pub queue_status: &'static str,
    pub queue_creation_timestamp: f64,
    pub streams: Vec<StreamIdentifier>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    pub queue_summaries: Vec<QueueSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueRecord {
    pub receipt_handle: String,
    pub record_id: String,
    pub partition_key: String,
    /// Base64.
    pub data: String,
    pub approximate_arrival_timestamp: f64,
    pub first_receive_timestamp: f64,
    pub receive_count: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveOutput {
    pub queue_records: Vec<QueueRecord>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleOk {
    pub receipt_handle: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleFailed {
    pub receipt_handle: String,
    pub error_code: &'static str,
    pub error_message: String,
}

/// The acknowledge, visibility and restore operations: per-entry results.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntriesOutput {
    pub successful: Vec<HandleOk>,
    pub failed: Vec<HandleFailed>,
}
