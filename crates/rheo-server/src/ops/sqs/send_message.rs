//! SendMessage.

use super::{Ctx, Node, api_error, attributes_in, json, parse, queue_name};
use crate::error::ApiError;
use crate::router::Reply;
use rheo_queues::{QueueError, SendEntry, Sent};
use rheo_wire::sqs::{SendEntryInput, SendMessageInput, SendMessageOutput};

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SendMessageInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let entry = entry_in(ctx, input.entry)?;
    let mut results = ctx
        .sqs
        .send(&name, vec![entry], &ctx.sender, false)
        .await
        .map_err(api_error)?;
    let sent = results.pop().ok_or_else(ApiError::internal)?.map_err(api_error)?;
    json(&sent_out(sent))
}

/// A message to send from its request shape. A missing body is an empty one (which SQS
/// refuses as a missing parameter); `X-Amzn-Trace-Id` is the AWSTraceHeader unless the
/// message sets one.
pub fn entry_in(ctx: &Ctx, e: SendEntryInput) -> Result<SendEntry, ApiError> {
    let mut trace_header = ctx.trace_header.clone();
    for (name, v) in e.message_system_attributes.unwrap_or_default() {
        if name != "AWSTraceHeader" {
            return Err(api_error(QueueError::InvalidParameterValue(format!(
                "Message system attribute name '{name}' is invalid."
            ))));
        }
        trace_header = v.string_value;
    }
    Ok(SendEntry {
        body: e.message_body.unwrap_or_default(),
        delay_s: e.delay_seconds,
        attributes: attributes_in(e.message_attributes)?,
        trace_header,
        group: e.message_group_id,
        dedup_id: e.message_deduplication_id,
    })
}

pub fn sent_out(s: Sent) -> SendMessageOutput {
    SendMessageOutput {
        md5_of_message_body: s.md5_of_body,
        md5_of_message_attributes: s.md5_of_attributes,
        md5_of_message_system_attributes: s.md5_of_system_attributes,
        message_id: s.message_id,
        sequence_number: s.sequence_number,
    }
}
