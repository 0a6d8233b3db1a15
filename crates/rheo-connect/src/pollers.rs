//! What the queue sources (SQS queues, Kinesis queues) share: a set of pollers restarted on
//! each change of their mapping (the old ones finish their batch first), and the invocation of
//! a batch with the answer read as the messages or records to settle.

use crate::catalog::MappingDef;
use crate::events::{self, BatchResponse};
use crate::service::Mappings;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// A poller's stop signal: it runs while the epoch is the one it was started in.
#[derive(Clone)]
pub(crate) struct Epoch {
    current: Arc<AtomicU64>,
    mine: u64,
}

impl Epoch {
    pub(crate) fn live(&self) -> bool {
        self.current.load(Ordering::SeqCst) == self.mine
    }
}

/// Runs `MaximumConcurrency` pollers (2 by default, at most 5) while the mapping is enabled;
/// a change starts new ones and ends the epoch of the old, which stop after their batch.
pub(crate) async fn run(
    m: Mappings,
    uuid: String,
    mut changes: watch::Receiver<u64>,
    start: fn(Mappings, String, Epoch),
) {
    let current = Arc::new(AtomicU64::new(0));
    loop {
        let Some(def) = m.def(&uuid) else { return };
        let mine = current.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        if def.enabled {
            for _ in 0..def.maximum_concurrency.unwrap_or(2).clamp(1, 5) {
                start(
                    m.clone(),
                    uuid.clone(),
                    Epoch {
                        current: current.clone(),
                        mine,
                    },
                );
            }
        }
        if changes.changed().await.is_err() {
            current.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

/// Invokes the function with `records` (the event's items, as JSON texts) and returns the items to settle
/// (delete or acknowledge): all on success; with ReportBatchItemFailures all but those it
/// reported (none for a malformed answer). `None` when it failed or did not run: nothing is
/// settled, and the items come back after their visibility timeout. `id` names an item as
/// `itemIdentifier` does.
pub(crate) async fn invoke<T>(
    m: &Mappings,
    def: &MappingDef,
    records: &[String],
    items: Vec<T>,
    id: impl Fn(&T) -> String,
) -> Option<Vec<T>> {
    let payload = Bytes::from(format!(r#"{{"Records":[{}]}}"#, records.join(",")));
    let out = m.invoke(def, payload).await?;
    if out.function_error.is_some() {
        m.set_result(&def.uuid, "PROBLEM: Function call failed");
        return None;
    }
    if !def.report_batch_item_failures {
        return Some(items);
    }
    let ids: Vec<String> = items.iter().map(&id).collect();
    Some(match events::batch_response(&out.payload, &ids) {
        BatchResponse::Success => items,
        BatchResponse::Failed(failed) => items
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !failed.contains(i))
            .map(|(_, r)| r)
            .collect(),
        BatchResponse::Invalid => Vec::new(),
    })
}
