//! A stream as a Kinesis queue's delivery reads it: `rheo_queues::stream_queue::RecordSource`
//! over the engine's in-process feed (used by ReceiveQueueRecords and by mappings from queues).

use rheo_engine::Error;
use rheo_engine::catalog::QueueMeta;
use rheo_engine::kqueues::{Feed, FeedRecord, FeedShard};
use rheo_queues::QueueError;
use rheo_queues::stream_queue::{RecordSource, SourceRecord, SourceShard, StreamQueueSpec};
use std::future::Future;
use std::pin::Pin;

/// A Kinesis queue's delivery settings, from its definition and its stream's retention.
pub fn queue_spec(q: &QueueMeta, retention_ms: i64) -> StreamQueueSpec {
    StreamQueueSpec {
        id: q.id.clone(),
        visibility_s: q.visibility_s,
        max_receive_count: q.max_receive_count,
        retention_ms,
        start_ms: q.start_ms(),
    }
}

/// The stream as a queue's delivery reads it.
pub struct FeedSource(pub Feed);

fn from_engine(e: Error) -> QueueError {
    QueueError::Internal(e.to_string())
}

impl RecordSource for FeedSource {
    fn shards(&self) -> Vec<SourceShard> {
        self.0.shards.iter().map(|s| SourceShard { index: s.id.0 }).collect()
    }
    fn position_at(&self, shard: u32, ts: i64) -> Result<u64, QueueError> {
        self.shard(shard)?.position_at(ts).map_err(from_engine)
    }
    fn read(&self, shard: u32, from: u64, max: usize) -> Result<Vec<SourceRecord>, QueueError> {
        let records = self
            .shard(shard)?
            .read(from, max, self.0.cutoff_ms)
            .map_err(from_engine)?;
        Ok(records.into_iter().map(source_record).collect())
    }
    fn get(&self, shard: u32, key: u64) -> Result<Option<SourceRecord>, QueueError> {
        // A shard whose records have all expired is gone from the feed: so is the record.
        let Ok(s) = self.shard(shard) else { return Ok(None) };
        Ok(s.get(key, self.0.cutoff_ms).map_err(from_engine)?.map(source_record))
    }
    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.changed())
    }
}

impl FeedSource {
    fn shard(&self, index: u32) -> Result<&FeedShard, QueueError> {
        self.0
            .shards
            .iter()
            .find(|s| s.id.0 == index)
            .ok_or_else(|| QueueError::Internal(format!("shard {index} is not in the feed")))
    }
}

/// A record's RecordId is its sequence number.
fn source_record(r: FeedRecord) -> SourceRecord {
    SourceRecord {
        key: r.key,
        record_id: r.sequence_number.to_string(),
        arrival_ms: r.arrival_ms,
        partition_key: r.partition_key,
        data: r.data,
    }
}
