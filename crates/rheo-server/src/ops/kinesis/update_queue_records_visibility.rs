//! UpdateQueueRecordsVisibility: each record becomes receivable VisibilityTimeoutSeconds from the call (0: now).

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
    let changes: Vec<(String, i64)> = input
        .entries
        .into_iter()
        .map(|e| {
            (
                e.receipt_handle,
                i64::from(e.visibility_timeout_seconds.unwrap_or_default()),
            )
        })
        .collect();
    let results = tenant
        .sqs()?
        .records_visibility(&spec.id, Side::Records, &changes)
        .await
        .map_err(|e| queue_error(&view.arn, e))?;
    let handles: Vec<String> = changes.into_iter().map(|(h, _)| h).collect();
    entries_out(&handles, results)
}
