//! Kinesis queues' delivery state: which records of a stream a queue has taken, which are in
//! flight, how often each was received, and its dead letters. The visibility and dead-letter
//! machinery is SQS's own.
//!
//! Each Kinesis queue is two hidden standard queues in the tenant's SQS service (never named
//! by SQS's API): `kinesis.<id>` holds the records to deliver and `kinesis.<id>.dead-letter`
//! its dead letters, with a RedrivePolicy from the first to the second when dead letters are
//! BUILT_IN. A message does not copy its record: its body is the record's place in the stream
//! (`u32 shard, u64 position`, little-endian) and its id the RecordId, so a queue holds about
//! a hundred bytes per record and the data is read from the stream when the record is
//! delivered. A record the stream no longer holds (past retention) is dropped then.
//!
//! Records are taken from the stream as they are needed: before a receive, while fewer than
//! [`FILL_WINDOW`] messages are receivable, each shard's records after the queue's cursor
//! are added, and the cursor's new place is journaled after them (`journal`'s Cursor record);
//! a durable cursor therefore implies its records are durable, and none is taken twice.

use crate::attributes::Attributes;
use crate::catalog::QueueDef;
use crate::error::{QueueError, Result};
use crate::journal::Record;
use crate::message::Message;
use crate::queue::ReceiveLimits;
use crate::queue::Taken;
use crate::receipt::Receipt;
use crate::service::{Queue, Sqs, new_queue};
use bytes::Bytes;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Receivable messages a queue keeps taken from its stream, at most.
pub const FILL_WINDOW: usize = 1000;
/// Records in flight per queue, at most (AWS's quota).
pub const IN_FLIGHT_LIMIT: usize = 120_000;

/// A shard of the stream a queue reads.
#[derive(Debug, Clone)]
pub struct SourceShard {
    pub index: u32,
}

/// One record of the stream.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// Its position in its shard.
    pub key: u64,
    /// Stable across deliveries and queues: `[a-z0-9]`, at most 64 characters.
    pub record_id: String,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Bytes,
}

/// The stream a queue delivers, as the streams' engine offers it. Reads block.
pub trait RecordSource: Send + Sync {
    fn shards(&self) -> Vec<SourceShard>;
    /// The position of the first record that arrived at or after `ts`.
    fn position_at(&self, shard: u32, ts: i64) -> Result<u64>;
    /// Up to `max` records of `shard` from position `from`.
    fn read(&self, shard: u32, from: u64, max: usize) -> Result<Vec<SourceRecord>>;
    /// The record at `key`, if the stream still holds it.
    fn get(&self, shard: u32, key: u64) -> Result<Option<SourceRecord>>;
    /// Resolves when a shard may have new records.
    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// A Kinesis queue's settings, as its definition in the streams' catalog says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamQueueSpec {
    pub id: String,
    pub visibility_s: u32,
    /// BUILT_IN dead letters after this many receives; `None`: no dead letters.
    pub max_receive_count: Option<u32>,
    /// The stream's retention: no record is delivered longer than it is kept.
    pub retention_ms: i64,
    /// Records that arrived before this are not delivered (`None`: all retained ones).
    pub start_ms: Option<i64>,
}

/// A delivered record.
#[derive(Debug, Clone)]
pub struct QueueRecordOut {
    pub receipt_handle: String,
    pub record_id: String,
    pub partition_key: String,
    pub data: Bytes,
    pub arrival_ms: i64,
    pub first_receive_ms: i64,
    pub receive_count: u32,
}

/// Which side of a Kinesis queue an operation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Records,
    DeadLetters,
}

fn main_name(id: &str) -> String {
    format!("kinesis.{id}")
}

fn dead_name(id: &str) -> String {
    format!("kinesis.{id}.dead-letter")
}

fn encode_place(shard: u32, key: u64) -> Bytes {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&shard.to_le_bytes());
    b.extend_from_slice(&key.to_le_bytes());
    Bytes::from(b)
}

fn decode_place(body: &[u8]) -> Option<(u32, u64)> {
    let shard = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
    let key = u64::from_le_bytes(body.get(4..12)?.try_into().ok()?);
    Some((shard, key))
}

impl StreamQueueSpec {
    fn attributes(&self, dead_arn: &str) -> Attributes {
        let mut a = BTreeMap::from([
            ("VisibilityTimeout".to_owned(), self.visibility_s.to_string()),
            (
                "MessageRetentionPeriod".to_owned(),
                (self.retention_ms / 1000).to_string(),
            ),
            ("DelaySeconds".to_owned(), "0".to_owned()),
            ("ReceiveMessageWaitTimeSeconds".to_owned(), "0".to_owned()),
        ]);
        if let Some(max) = self.max_receive_count {
            a.insert(
                "RedrivePolicy".to_owned(),
                serde_json::json!({"deadLetterTargetArn": dead_arn, "maxReceiveCount": max}).to_string(),
            );
        }
        Attributes(a)
    }
}

impl Sqs {
    fn hidden(&self, name: &str) -> Option<Arc<Queue>> {
        self.inner
            .hidden
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    fn side(&self, id: &str, side: Side) -> Result<Arc<Queue>> {
        let name = match side {
            Side::Records => main_name(id),
            Side::DeadLetters => dead_name(id),
        };
        self.hidden(&name).ok_or(QueueError::QueueDoesNotExist)
    }

    /// Makes the hidden queues of a Kinesis queue exist with `spec`'s settings.
    pub fn ensure_stream_queue(&self, spec: &StreamQueueSpec) -> Result<()> {
        let dead_arn = self.queue_arn(&dead_name(&spec.id));
        let want_main = spec.attributes(&dead_arn);
        let want_dead = StreamQueueSpec {
            max_receive_count: None,
            ..spec.clone()
        }
        .attributes("");
        let wanted = [(dead_name(&spec.id), want_dead), (main_name(&spec.id), want_main)];
        let up_to_date = wanted
            .iter()
            .all(|(name, attrs)| self.hidden(name).is_some_and(|q| q.lock().def.attributes == *attrs));
        if up_to_date {
            return Ok(());
        }
        let now = self.now();
        let mut meta = self.meta();
        for (name, attrs) in wanted {
            if let Some(q) = self.hidden(&name) {
                let mut def = q.lock().def.clone();
                if def.attributes == attrs {
                    continue;
                }
                def.attributes = attrs;
                def.modified_ms = now;
                self.save_catalog(&meta, Some(&def), Some(q.id))?;
                q.lock().def = def;
                q.notify.notify_waiters();
                continue;
            }
            let def = QueueDef {
                id: meta.next_queue_id,
                name: name.clone(),
                fifo: false,
                created_ms: now,
                modified_ms: now,
                attributes: attrs,
                tags: BTreeMap::new(),
                internal: true,
            };
            meta.next_queue_id += 1;
            if let Err(e) = self.save_catalog(&meta, Some(&def), None) {
                meta.next_queue_id -= 1;
                return Err(e);
            }
            let q = Arc::new(new_queue(def, &self.inner.config, &self.inner.stored_bytes));
            self.inner
                .hidden
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name, q);
        }
        Ok(())
    }

    /// Deletes the hidden queues of every Kinesis queue not in `live` (deleted ones).
    pub fn forget_stream_queues(&self, live: &HashSet<String>) -> Result<()> {
        let gone: Vec<Arc<Queue>> = self
            .inner
            .hidden
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|q| {
                let id = q.name.trim_start_matches("kinesis.").trim_end_matches(".dead-letter");
                !live.contains(id)
            })
            .cloned()
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let meta = self.meta();
        for q in gone {
            self.save_catalog(&meta, None, Some(q.id))?;
            self.inner
                .hidden
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&q.name);
            {
                let mut g = q.lock();
                g.deleted = true;
                g.state.clear();
            }
            q.notify.notify_waiters();
        }
        Ok(())
    }

    /// Ids of the Kinesis queues that have hidden queues.
    pub fn stream_queue_ids(&self) -> Vec<String> {
        let hidden = self.inner.hidden.read().unwrap_or_else(|p| p.into_inner());
        hidden
            .keys()
            .filter(|n| !n.ends_with(".dead-letter"))
            .map(|n| n.trim_start_matches("kinesis.").to_owned())
            .collect()
    }

    /// Takes records from the stream while fewer than [`FILL_WINDOW`] are receivable; their
    /// journal records are queued (the caller commits).
    fn take_from_stream(&self, q: &Arc<Queue>, spec: &StreamQueueSpec, source: &dyn RecordSource) -> Result<()> {
        let Ok(_filling) = q.filling.try_lock() else {
            // Another receive is taking records for this queue.
            return Ok(());
        };
        let now = self.now();
        let (mut need, cursors) = {
            let g = q.lock();
            (
                FILL_WINDOW.saturating_sub(g.state.visible_count(now, FILL_WINDOW)),
                g.cursors.clone(),
            )
        };
        for shard in source.shards() {
            if need == 0 {
                break;
            }
            let from = match cursors.get(&shard.index) {
                Some((next, _)) => *next,
                None => match spec.start_ms {
                    Some(ts) => source.position_at(shard.index, ts)?,
                    None => 0,
                },
            };
            let records = source.read(shard.index, from, need)?;
            let next = records.last().map_or(from, |r| r.key.saturating_add(1));
            if next == from && cursors.contains_key(&shard.index) {
                continue;
            }
            need = need.saturating_sub(records.len());
            let mut g = q.lock();
            if g.deleted {
                return Err(QueueError::QueueDoesNotExist);
            }
            for r in records {
                let m = self.journal().push_put(q.id, now, |key| Message {
                    no: key,
                    id: r.record_id.clone(),
                    body: encode_place(shard.index, r.key),
                    attributes: Vec::new(),
                    trace_header: None,
                    sent_ms: r.arrival_ms,
                    visible_at_ms: now,
                    receive_count: 0,
                    first_receive_ms: None,
                    group: None,
                    dedup_id: None,
                    sequence: None,
                    dead_letter_source: None,
                    sender: String::new(),
                    journal_key: key,
                });
                g.state.insert(m);
            }
            let key = self.journal().push(
                &Record::Cursor {
                    queue: q.id,
                    shard: shard.index,
                    next,
                },
                now,
            );
            g.cursors.insert(shard.index, (next, key));
        }
        Ok(())
    }

    /// Moves the records received `max_receive_count` times whose visibility has ended to
    /// the dead letters (a receive of the records does it too).
    fn sweep_dead_letters(&self, q: &Arc<Queue>, dead: &Arc<Queue>) {
        let now = self.now();
        let mut moved = Vec::new();
        {
            let mut g = q.lock();
            let Some(max) = g.def.attributes.redrive().map(|r| r.max_receive_count) else {
                return;
            };
            for no in g.state.exhausted(now, max) {
                let Some(m) = g.state.remove(no) else { continue };
                moved.push(self.push_moved(dead, m, Some(q.arn.clone()), now));
                self.journal().push(&Record::Delete { queue: q.id, no }, now);
            }
        }
        for m in moved {
            self.insert_moved(dead, m);
        }
    }

    /// ReceiveQueueRecords (`Side::Records`) and ReceiveDeadLetterQueueRecords: one attempt,
    /// with no wait. Returns the records and when the next becomes receivable.
    pub async fn receive_records(
        &self,
        spec: &StreamQueueSpec,
        source: &dyn RecordSource,
        side: Side,
        max: usize,
        visibility_s: Option<u32>,
    ) -> Result<(Vec<QueueRecordOut>, Option<i64>)> {
        let main = self.side(&spec.id, Side::Records)?;
        let dead = self.side(&spec.id, Side::DeadLetters)?;
        let q = match side {
            Side::Records => {
                crate::service::off_worker(|| self.take_from_stream(&main, spec, source))?;
                main.clone()
            }
            Side::DeadLetters => {
                self.sweep_dead_letters(&main, &dead);
                dead.clone()
            }
        };
        let now = self.now();
        let mut taken = Vec::new();
        let mut moved = Vec::new();
        let next_at;
        {
            let mut g = q.lock();
            if g.deleted {
                return Err(QueueError::QueueDoesNotExist);
            }
            if g.state.in_flight(now) >= IN_FLIGHT_LIMIT {
                return Err(QueueError::OverLimit(format!(
                    "The queue has reached its limit of {IN_FLIGHT_LIMIT} records in flight."
                )));
            }
            let attrs = g.def.attributes.clone();
            let limits = ReceiveLimits {
                max,
                visibility_ms: i64::from(visibility_s.unwrap_or(spec.visibility_s)) * 1000,
                max_receive_count: attrs.redrive().map(|r| r.max_receive_count),
                retention_ms: attrs.retention_s() * 1000,
            };
            for t in g.state.receive(now, limits) {
                match t {
                    Taken::Received(m) => {
                        self.journal().push(
                            &Record::Seen {
                                queue: q.id,
                                no: m.no,
                                visible_at_ms: m.visible_at_ms,
                                receive_count: m.receive_count,
                                first_receive_ms: m.first_receive_ms,
                            },
                            now,
                        );
                        taken.push(m);
                    }
                    Taken::DeadLetter(m) => {
                        let no = m.no;
                        moved.push(self.push_moved(&dead, m, Some(q.arn.clone()), now));
                        self.journal().push(&Record::Delete { queue: q.id, no }, now);
                    }
                }
            }
            next_at = g.state.next_visible_at();
        }
        for m in moved {
            self.insert_moved(&dead, m);
        }
        let reads: Vec<(Message, Option<SourceRecord>)> = crate::service::off_worker(|| {
            taken
                .into_iter()
                .map(|m| {
                    let record = decode_place(&m.body)
                        .map(|(shard, key)| source.get(shard, key))
                        .transpose()?
                        .flatten();
                    Ok((m, record))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut out = Vec::with_capacity(reads.len());
        {
            let mut g = q.lock();
            for (m, record) in reads {
                let Some(r) = record else {
                    // Past the stream's retention: the record is no longer delivered.
                    if g.state.remove(m.no).is_some() {
                        self.journal().push(&Record::Delete { queue: q.id, no: m.no }, now);
                    }
                    continue;
                };
                out.push(QueueRecordOut {
                    receipt_handle: Receipt {
                        queue: q.id,
                        no: m.no,
                        receive_count: m.receive_count,
                    }
                    .encode(self.key()),
                    record_id: m.id,
                    partition_key: r.partition_key,
                    data: r.data,
                    arrival_ms: r.arrival_ms,
                    first_receive_ms: m.first_receive_ms.unwrap_or(now),
                    receive_count: m.receive_count,
                });
            }
        }
        self.commit().await?;
        Ok((out, next_at))
    }

    /// Waits until a record of the side may have become receivable (a visibility change, a
    /// restored record), or `until`.
    pub async fn wait_records(&self, id: &str, side: Side, until: tokio::time::Instant) {
        let Ok(q) = self.side(id, side) else { return };
        let notified = q.notify.notified();
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep_until(until) => {}
        }
    }

    /// AcknowledgeQueueRecords and AcknowledgeDeadLetterQueueRecords: one result per handle.
    pub async fn ack_records(&self, id: &str, side: Side, handles: &[String]) -> Result<Vec<Result<()>>> {
        let q = self.side(id, side)?;
        self.delete_in(&q, handles).await
    }

    /// UpdateQueueRecordsVisibility and UpdateDeadLetterQueueRecordsVisibility: each record
    /// becomes receivable `seconds` from now.
    pub async fn records_visibility(&self, id: &str, side: Side, changes: &[(String, i64)]) -> Result<Vec<Result<()>>> {
        let q = self.side(id, side)?;
        self.change_visibility_in(&q, changes, false).await
    }

    /// RestoreDeadLetterQueueRecords: each dead letter goes back to the records, receivable
    /// at once with its receive count reset.
    pub async fn restore_records(&self, id: &str, handles: &[String]) -> Result<Vec<Result<()>>> {
        let main = self.side(id, Side::Records)?;
        let dead = self.side(id, Side::DeadLetters)?;
        let now = self.now();
        let mut moved = Vec::new();
        let out = {
            let mut g = dead.lock();
            handles
                .iter()
                .map(|h| {
                    let r = Receipt::decode(h, self.key())
                        .filter(|r| r.queue == dead.id)
                        .ok_or_else(|| {
                            QueueError::ReceiptHandleIsInvalid(format!(
                                "The receipt handle \"{h}\" is not a valid receipt handle."
                            ))
                        })?;
                    let Some(m) = g.state.remove(r.no) else {
                        return Err(QueueError::InvalidParameterValue(format!(
                            "The dead-letter record of receipt handle \"{h}\" does not exist."
                        )));
                    };
                    let fresh = Message {
                        receive_count: 0,
                        first_receive_ms: None,
                        ..m
                    };
                    // The copy is journaled before the removal, as for a dead letter.
                    moved.push(self.push_moved(&main, fresh, None, now));
                    self.journal().push(
                        &Record::Delete {
                            queue: dead.id,
                            no: r.no,
                        },
                        now,
                    );
                    Ok(())
                })
                .collect::<Vec<_>>()
        };
        for m in moved {
            self.insert_moved(&main, m);
        }
        self.commit().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_round_trip() {
        let b = encode_place(7, 1 << 50);
        assert_eq!(decode_place(&b), Some((7, 1 << 50)));
        assert_eq!(decode_place(&b[..11]), None);
    }
}
