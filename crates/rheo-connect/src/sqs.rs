//! An SQS queue as an event source: pollers long-poll the queue (answered the moment a message
//! arrives), gather a batch (up to BatchSize within the batching window), invoke the function,
//! and delete what succeeded. What failed stays in the queue, invisible until its visibility
//! timeout ends, and comes back, or goes to the queue's dead-letter queue by its own
//! RedrivePolicy. With ReportBatchItemFailures only the reported messages stay.

use crate::catalog::{MappingDef, Source};
use crate::events;
use crate::pollers::{self, Epoch};
use crate::service::Mappings;
use rheo_queues::{ReceiveRequest, Received};
use std::time::Duration;
use tokio::sync::watch;

/// The mapping's task: its pollers (`pollers::run`).
pub(crate) async fn run(m: Mappings, uuid: String, changes: watch::Receiver<u64>) {
    pollers::run(m, uuid, changes, |m, uuid, epoch| {
        tokio::spawn(async move { poll(m, uuid, epoch).await });
    })
    .await;
}

async fn poll(m: Mappings, uuid: String, epoch: Epoch) {
    while epoch.live() {
        let Some(def) = m.def(&uuid) else { return };
        let Source::Sqs { queue } = &def.source else { return };
        let batch = match gather(&m, &def, queue).await {
            Ok(b) => b,
            Err(e) => {
                m.set_result(&uuid, &format!("PROBLEM: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        handle(&m, &def, queue, batch).await;
    }
}

/// Up to BatchSize messages: the first long poll waits up to 20 s; more are taken until the
/// batch is full or the batching window passes.
async fn gather(m: &Mappings, def: &MappingDef, queue: &str) -> Result<Vec<Received>, String> {
    let mut batch: Vec<Received> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(def.batching_window_s));
    loop {
        let want = (def.batch_size as usize).saturating_sub(batch.len()).min(10);
        if want == 0 {
            return Ok(batch);
        }
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs();
        let wait = if batch.is_empty() { 20 } else { left.min(20) as i64 };
        let got = m
            .inner
            .sqs
            .receive(
                queue,
                ReceiveRequest {
                    max: Some(want as i64),
                    visibility_s: None,
                    wait_s: Some(wait),
                    attempt_id: None,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let empty = got.is_empty();
        for r in got {
            // A message whose visibility ended while the batch was gathered comes again: the
            // newer receipt handle replaces the older.
            match batch.iter_mut().find(|b| b.message.id == r.message.id) {
                Some(b) => *b = r,
                None => batch.push(r),
            }
        }
        if (empty && !batch.is_empty()) || tokio::time::Instant::now() >= deadline {
            return Ok(batch);
        }
    }
}

async fn handle(m: &Mappings, def: &MappingDef, queue: &str, batch: Vec<Received>) {
    let region = m.inner.config.region.clone();
    let filters: Vec<serde_json::Value> = def
        .filters
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect();
    // Each message's event record is made once: filtered on, measured, and sent as written.
    let mut passing: Vec<(Received, String)> = Vec::new();
    let mut dropped: Vec<Received> = Vec::new();
    for r in batch {
        let record = events::sqs_record(&r, &def.source_arn, &region);
        if events::passes(&filters, &events::sqs_filter_doc(&record)) {
            passing.push((r, record.to_string()));
        } else {
            dropped.push(r);
        }
    }
    // Messages no filter matches are deleted unprocessed, as Lambda does.
    delete(m, queue, &dropped).await;
    // Batches over the 6 MB synchronous payload are run in parts, one after the other.
    let mut part: Vec<(Received, String)> = Vec::new();
    let mut size = 0usize;
    for (r, record) in passing {
        let len = record.len() + 1;
        if !part.is_empty() && size + len > MAX_EVENT_BYTES {
            invoke(m, def, queue, std::mem::take(&mut part)).await;
            size = 0;
        }
        size += len;
        part.push((r, record));
    }
    if !part.is_empty() {
        invoke(m, def, queue, part).await;
    }
}

/// The largest event a function is sent (Lambda's synchronous payload limit, less room for
/// the envelope).
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024 - 64;

async fn invoke(m: &Mappings, def: &MappingDef, queue: &str, part: Vec<(Received, String)>) {
    let (passing, records): (Vec<Received>, Vec<String>) = part.into_iter().unzip();
    let Some(done) = pollers::invoke(m, def, &records, passing, |r| r.message.id.clone()).await else {
        return;
    };
    delete(m, queue, &done).await;
    m.set_result(&def.uuid, "OK");
}

async fn delete(m: &Mappings, queue: &str, done: &[Received]) {
    if done.is_empty() {
        return;
    }
    let handles: Vec<String> = done.iter().map(|r| r.receipt_handle.clone()).collect();
    if let Err(e) = m.inner.sqs.delete(queue, &handles).await {
        tracing::warn!(error = %e, queue, "deleting processed messages failed; they will be delivered again");
    }
}
