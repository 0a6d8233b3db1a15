//! ChangeMessageVisibilityBatch: a result per entry; 200 even when some fail.

use super::{Ctx, Node, api_error, check_batch, id_results, parse, queue_name, required};
use crate::router::Reply;
use rheo_wire::sqs::HandleBatchInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: HandleBatchInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let entries = required(input.entries, "Entries")?;
    let ids: Vec<String> = entries.iter().map(|e| e.id.clone().unwrap_or_default()).collect();
    check_batch(
        ids.iter().map(String::as_str),
        "ChangeMessageVisibilityBatchRequestEntry",
    )?;
    let changes: Vec<(String, i64)> = entries
        .into_iter()
        .map(|e| {
            (
                e.receipt_handle.unwrap_or_default(),
                e.visibility_timeout.unwrap_or_default(),
            )
        })
        .collect();
    let results = ctx.sqs.change_visibility(&name, &changes).await.map_err(api_error)?;
    id_results(ids, results)
}
