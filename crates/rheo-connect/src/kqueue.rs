//! A Kinesis queue as an event source: a Rheo extension (AWS's Lambda model of 2026 does not
//! list Kinesis queues among its event sources), built on the queue's own delivery state as
//! ReceiveQueueRecords uses it. Pollers receive records (answered the moment the stream
//! commits one), invoke the function with them in Kinesis's record shape (`kinesis.data`,
//! `partitionKey`, `sequenceNumber`, which is also the queue's RecordId, plus the queue's
//! `receiveCount`), and acknowledge those that succeeded. The others become visible again when
//! the queue's visibility timeout ends and, after its MaxReceiveCount receives, become the
//! queue's dead letters. With ReportBatchItemFailures, `itemIdentifier` is the RecordId.

use crate::feed::FeedSource;
use crate::pollers::{self, Epoch};
use crate::service::Mappings;
use base64::Engine as _;
use rheo_engine::catalog::QueueStatus;
use rheo_queues::stream_queue::{QueueRecordOut, RecordSource, Side, StreamQueueSpec};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::watch;

/// The mapping's task: its pollers (`pollers::run`).
pub(crate) async fn run(m: Mappings, uuid: String, changes: watch::Receiver<u64>) {
    pollers::run(m, uuid, changes, |m, uuid, epoch| {
        tokio::spawn(async move { poll(m, uuid, epoch).await });
    })
    .await;
}

/// The queue's delivery state and the stream it reads, if the queue is live.
fn open(m: &Mappings, arn: &str) -> Result<(StreamQueueSpec, FeedSource), String> {
    let engine = &m.inner.engine;
    let stream = engine.queue_stream(arn).map_err(|e| e.to_string())?;
    let view = engine.describe_queue(arn).map_err(|e| e.to_string())?;
    if !matches!(view.status, QueueStatus::Active | QueueStatus::Updating) {
        return Err(format!("Queue {arn} is {}, not ACTIVE.", view.status.as_str()));
    }
    let feed = engine.feed(&stream).map_err(|e| e.to_string())?;
    let spec = crate::feed::queue_spec(&view.meta, feed.retention_ms);
    m.inner.sqs.ensure_stream_queue(&spec).map_err(|e| e.to_string())?;
    Ok((spec, FeedSource(feed)))
}

async fn poll(m: Mappings, uuid: String, epoch: Epoch) {
    while epoch.live() {
        let Some(def) = m.def(&uuid) else { return };
        let (spec, mut source) = match open(&m, &def.source_arn) {
            Ok(o) => o,
            Err(e) => {
                m.set_result(&uuid, &format!("PROBLEM: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let max = (def.batch_size as usize).clamp(1, 1000);
        let got = m
            .inner
            .sqs
            .receive_records(&spec, &source, Side::Records, max, None)
            .await;
        let (records, next_at) = match got {
            Ok(r) => r,
            Err(e) => {
                m.set_result(&uuid, &format!("PROBLEM: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if records.is_empty() {
            // Woken by the stream's commits, or when a record's visibility ends.
            let now = tokio::time::Instant::now();
            let mut until = now + Duration::from_secs(1);
            if let Some(at) = next_at {
                let ms = at.saturating_sub(m.now()).clamp(10, 1000) as u64;
                until = until.min(now + Duration::from_millis(ms));
            }
            tokio::select! {
                () = source.changed() => {}
                () = m.inner.sqs.wait_records(&spec.id, Side::Records, until) => {}
            }
            continue;
        }
        handle(&m, &def, &spec, records).await;
    }
}

async fn handle(m: &Mappings, def: &crate::catalog::MappingDef, spec: &StreamQueueSpec, records: Vec<QueueRecordOut>) {
    let role = m
        .inner
        .functions
        .get(&def.function)
        .map(|f| f.def.role)
        .unwrap_or_default();
    let region = m.inner.config.region.clone();
    let list: Vec<String> = records
        .iter()
        .map(|r| record(r, &def.source_arn, &region, &role).to_string())
        .collect();
    let Some(done) = pollers::invoke(m, def, &list, records, |r| r.record_id.clone()).await else {
        return;
    };
    let handles: Vec<String> = done.iter().map(|r| r.receipt_handle.clone()).collect();
    if !handles.is_empty()
        && let Err(e) = m.inner.sqs.ack_records(&spec.id, Side::Records, &handles).await
    {
        tracing::warn!(error = %e, mapping = %def.uuid, "acknowledging processed records failed; they will be delivered again");
    }
    // Reported once the batch is settled (its successes acknowledged).
    m.set_result(&def.uuid, "OK");
}

/// A queue record in Kinesis's record shape, with the queue's delivery fields.
fn record(r: &QueueRecordOut, queue_arn: &str, region: &str, role: &str) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key,
            "sequenceNumber": r.record_id,
            "data": base64::engine::general_purpose::STANDARD.encode(&r.data),
            "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
            "receiveCount": r.receive_count,
            "firstReceiveTimestamp": r.first_receive_ms as f64 / 1000.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": r.record_id,
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role,
        "awsRegion": region,
        "eventSourceARN": queue_arn,
    })
}
