//! AcknowledgeQueueRecords: per-entry results; an acknowledged record is not delivered again.

use super::parse;
use super::queues::{entries_out, live_queue, open, queue_error};
use crate::auth::TenantState;
use crate::router::Reply;
use rheo_queues::stream_queue::Side;
use rheo_wire::kinesis_queues::EntriesInput;
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let input: EntriesInput = parse(input)?;
    let (stream, view) = live_queue(&tenant.engine, &input.queue_arn)?;
    let (spec, _) = open(tenant, &stream, &view)?;
    let handles: Vec<String> = input.entries.into_iter().map(|e| e.receipt_handle).collect();
    let results = tenant
        .sqs()?
        .ack_records(&spec.id, Side::Records, &handles)
        .await
        .map_err(|e| queue_error(&view.arn, e))?;
    entries_out(&handles, results)
}
