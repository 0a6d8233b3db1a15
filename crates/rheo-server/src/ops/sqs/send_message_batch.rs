//! SendMessageBatch: up to 10 messages in one durable write, with a result per entry.

use super::send_message::{entry_in, sent_out};
use super::{Ctx, Node, api_error, check_batch, error::entry_failure, json, parse, queue_name, required};
use crate::router::Reply;
use rheo_wire::sqs::{BatchOutput, BatchSendEntry, SendMessageBatchInput};

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SendMessageBatchInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let entries = required(input.entries, "Entries")?;
    let ids: Vec<String> = entries.iter().map(|e| e.id.clone().unwrap_or_default()).collect();
    check_batch(ids.iter().map(String::as_str), "SendMessageBatchRequestEntry")?;
    let entries = entries
        .into_iter()
        .map(|e| entry_in(ctx, e))
        .collect::<Result<Vec<_>, _>>()?;
    let results = ctx
        .sqs
        .send(&name, entries, &ctx.sender, true)
        .await
        .map_err(api_error)?;
    let mut out = BatchOutput::default();
    for (id, r) in ids.into_iter().zip(results) {
        match r {
            Ok(sent) => out.successful.push(BatchSendEntry {
                id,
                sent: sent_out(sent),
            }),
            Err(e) => out.failed.push(entry_failure(id, e)),
        }
    }
    json(&out)
}
