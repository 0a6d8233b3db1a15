//! Record operations: PutRecord(s), GetShardIterator, GetRecords.

use crate::catalog::{Distribution, StreamMode};
use crate::iterator::{self, IteratorError, IteratorPos};
use crate::runtime::{ChildShard, ShardMeter, ShardRuntime, StreamRuntime};
use crate::throttle::ShardLimits;
use crate::writer::{AppendError, AppendReply, AppendRequest, Command, PendingRecord};
use crate::{Engine, Error};
use bytes::Bytes;
use rheo_log::{LogReader, ReadLimits};
use rheo_types::{HashKey, SequenceNumber, ShardId, StreamName, hash_key_for_partition_key};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Records of one request bound for one shard: the shard, each record's place in the request
/// and hash key, and the records.
type ShardGroup = (u32, Vec<(usize, HashKey)>, Vec<PendingRecord>);

/// How long a put waits for a closed shard's children before giving up on its records.
const RESHARD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The error code of a record refused by the throughput limits.
pub const THROTTLED: &str = "ProvisionedThroughputExceededException";

/// One record to put, already validated.
#[derive(Debug, Clone)]
pub struct PutEntry {
    pub partition_key: Bytes,
    pub explicit_hash_key: Option<HashKey>,
    pub data: Bytes,
}

impl PutEntry {
    fn hash_key(&self) -> HashKey {
        self.explicit_hash_key
            .unwrap_or_else(|| hash_key_for_partition_key(std::str::from_utf8(&self.partition_key).unwrap_or_default()))
    }
}

/// Why one record of a PutRecords call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    pub code: &'static str,
    pub message: String,
}

pub type PutOutcome = Result<(ShardId, SequenceNumber), RecordFailure>;

/// How GetShardIterator positions the iterator.
#[derive(Debug, Clone)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtSequenceNumber(String),
    AfterSequenceNumber(String),
    AtTimestamp(i64),
}

/// A record being read, borrowed from the log's read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: &'a [u8],
    pub data: &'a [u8],
}

impl Engine {
    /// The stream's runtime, if it exists and accepts reads and writes now.
    fn active(&self, name: &StreamName) -> Result<Arc<StreamRuntime>, Error> {
        let now = self.now();
        // The published view, not the state lock: a control-plane call's catalog fsync does
        // not stall puts and gets.
        self.inner
            .published(name, now)
            .filter(|p| p.meta.serves_data(now))
            .and_then(|p| p.runtime.clone())
            .ok_or_else(|| Error::StreamNotFound(name.clone()))
    }

    pub async fn put_record(
        &self,
        name: &StreamName,
        entry: PutEntry,
        ordering: Option<SequenceNumber>,
    ) -> Result<(ShardId, SequenceNumber), Error> {
        if let Some(o) = ordering
            && o.counter > SequenceNumber::ordering_ceiling(self.now())
        {
            return Err(Error::InvalidArgument(format!(
                "ExclusiveMinimumSequenceNumber {o} used in PutRecord on stream {name} under account {} is invalid.",
                self.inner.config.account
            )));
        }
        let outcome = self
            .append(name, vec![entry], ordering.map(|s| s.counter))
            .await?
            .pop()
            .unwrap_or_else(|| Err(internal_failure()));
        outcome.map_err(|f| match f.code {
            THROTTLED => Error::Throttled(f.message),
            _ => Error::Internal(f.message),
        })
    }

    /// Puts records; each outcome is in request order, and a failed record is a value.
    pub async fn put_records(&self, name: &StreamName, entries: Vec<PutEntry>) -> Result<Vec<PutOutcome>, Error> {
        self.append(name, entries, None).await
    }

    /// Routes records to their shards and appends them, one request per shard. Records whose
    /// shard was closed by a reshard before its writer reached them were not written; they are
    /// routed again on the new shard map, so writes carry on through a reshard.
    async fn append(
        &self,
        name: &StreamName,
        entries: Vec<PutEntry>,
        after_counter: Option<u64>,
    ) -> Result<Vec<PutOutcome>, Error> {
        let inner = &self.inner;
        inner.space.refresh(&*inner.disk, &inner.config.data_dir, self.now());
        if inner.space.is_low() {
            return Err(Error::Throttled(inner.space.refusal()));
        }
        let mut outcomes: Vec<Option<PutOutcome>> = vec![None; entries.len()];
        let mut pending: Vec<(usize, HashKey, PendingRecord)> = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let key = e.hash_key();
                let record = PendingRecord {
                    partition_key: e.partition_key,
                    data: e.data,
                };
                (i, key, record)
            })
            .collect();
        let deadline = tokio::time::Instant::now() + RESHARD_WAIT;
        let mut rt = self.active(name)?;
        if rt.settings.distribution == Distribution::Auto {
            // Partition keys and explicit hash keys are ignored: records go round the shards.
            for (_, key, _) in &mut pending {
                *key = rt.spread();
            }
        }
        while !pending.is_empty() {
            // Group by shard, remembering each record's place in the request.
            let mut groups: Vec<ShardGroup> = Vec::new();
            for (i, key, record) in pending.drain(..) {
                let Some(shard) = rt.route(key) else {
                    outcomes[i] = Some(Err(internal_failure()));
                    continue;
                };
                let g = match groups.iter().position(|g| g.0 == shard) {
                    Some(g) => g,
                    None => {
                        groups.push((shard, Vec::new(), Vec::new()));
                        groups.len() - 1
                    }
                };
                groups[g].1.push((i, key));
                groups[g].2.push(record);
            }
            self.meter_writes(&rt, &mut groups, &mut outcomes);
            let mut waits = Vec::with_capacity(groups.len());
            for (shard, idx, records) in groups {
                if records.is_empty() {
                    continue;
                }
                waits.push((shard, idx, send(&rt, shard, records, after_counter).await));
            }
            for (shard, idx, rx) in waits {
                match rx.await {
                    Ok(Ok(assigned)) => {
                        let epoch_s = rt.shard(ShardId(shard)).map_or(0, |s| s.epoch_s);
                        for ((i, _), a) in idx.into_iter().zip(assigned) {
                            let seq = SequenceNumber {
                                counter: a.counter,
                                shard,
                                epoch_s,
                            };
                            outcomes[i] = Some(Ok((ShardId(shard), seq)));
                        }
                    }
                    Ok(Err(AppendError::Closed(records))) => {
                        pending.extend(idx.into_iter().zip(records).map(|((i, key), r)| (i, key, r)));
                    }
                    Ok(Err(AppendError::Failed(_))) | Err(_) => {
                        for (i, _) in idx {
                            outcomes[i] = Some(Err(internal_failure()));
                        }
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            // The reshard that closed the shard installs the new map right after closing it.
            let fresh = self.active(name)?;
            if Arc::ptr_eq(&fresh, &rt) {
                if tokio::time::Instant::now() > deadline {
                    tracing::error!(stream = %name, "a closed shard's children did not appear in time");
                    for (i, _, _) in pending.drain(..) {
                        outcomes[i] = Some(Err(internal_failure()));
                    }
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            rt = fresh;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(internal_failure())))
            .collect())
    }

    /// Applies the stream's throughput limits to records about to be written, turning the
    /// throttled ones into failures, and counts the admitted ones for on-demand scaling.
    fn meter_writes(&self, rt: &StreamRuntime, groups: &mut [ShardGroup], outcomes: &mut [Option<PutOutcome>]) {
        let limits = self.limits_for(rt);
        let observe = rt.mode == StreamMode::OnDemand;
        if limits.is_none() && !observe {
            return;
        }
        let now = self.now();
        for (shard, idx, records) in groups.iter_mut() {
            let Some(s) = rt.shard(ShardId(*shard)) else { continue };
            let mut meter = s.meter.lock().unwrap_or_else(|p| p.into_inner());
            let (mut bytes, mut count) = (0u64, 0u64);
            let mut kept = 0;
            for n in 0..records.len() {
                let size = records[n].partition_key.len() + records[n].data.len();
                let admitted = limits
                    .as_ref()
                    .is_none_or(|l| meter.throttle(l, now).admit_write(l, now, size));
                if admitted {
                    bytes += size as u64;
                    count += 1;
                    idx.swap(kept, n);
                    records.swap(kept, n);
                    kept += 1;
                } else {
                    outcomes[idx[n].0] = Some(Err(RecordFailure {
                        code: THROTTLED,
                        message: self.rate_exceeded(&rt.name, ShardId(*shard)),
                    }));
                }
            }
            idx.truncate(kept);
            records.truncate(kept);
            if observe {
                meter.writes.record(now, bytes, count);
            }
        }
    }

    pub(crate) fn rate_exceeded(&self, stream: &StreamName, shard: ShardId) -> String {
        format!(
            "Rate exceeded for shard {shard} in stream {stream} under account {}.",
            self.inner.config.account
        )
    }

    pub async fn get_shard_iterator(
        &self,
        name: &StreamName,
        shard_id: &str,
        start: StartingPosition,
    ) -> Result<String, Error> {
        let rt = self.active(name)?;
        let shard = ShardId::parse(shard_id)
            .ok()
            .and_then(|id| rt.shard(id))
            .ok_or_else(|| Error::ShardNotFound {
                stream: name.clone(),
                shard: shard_id.to_owned(),
            })?;
        let position = self.position_of(name, shard, start, "GetShardIterator").await?;
        Ok(self.mint(&rt, shard.id, position))
    }

    /// Where `start` points in the shard: the key of the first record to read. `op` names the
    /// operation in error messages.
    pub(crate) async fn position_of(
        &self,
        name: &StreamName,
        shard: &ShardRuntime,
        start: StartingPosition,
        op: &str,
    ) -> Result<u64, Error> {
        let account = &self.inner.config.account;
        let tail = shard.reader.tail();
        let end = tail.last_key.map_or(0, |k| k.saturating_add(1));
        let parse_seq = |s: &str| -> Result<u64, Error> {
            let seq = SequenceNumber::parse(s).map_err(|_| match SequenceNumber::older_aws_shard(s) {
                // An older AWS format (kinesalite's tests against AWS): another shard's is named,
                // and one of this shard is an InternalFailure, as AWS answers it.
                Some(other) if i64::from(other) != i64::from(shard.id.0) => Error::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes shardId-{other:012}, while it was used in a call to a shard with {}",
                    shard.id
                )),
                Some(_) => Error::Internal(format!("{op} with the older-format sequence number {s}")),
                None => Error::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in {op} on shard {} in stream {name} under account {account} is invalid.",
                    shard.id
                )),
            })?;
            if seq.shard != shard.id.0 {
                return Err(Error::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes shardId-{:012}, while it was used in a call to a shard with {}",
                    // AWS reads the field as a signed 32-bit number (`shardId--02147483648`).
                    seq.shard as i32,
                    shard.id
                )));
            }
            if !seq.from_epoch(shard.epoch_s) {
                // The right shard number, but of another stream (or an earlier one of this name).
                return Err(Error::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in {op} on shard {} in stream {name} under account {account} is invalid because it did not come from this stream.",
                    shard.id
                )));
            }
            Ok(seq.counter)
        };
        Ok(match start {
            StartingPosition::TrimHorizon => 0,
            StartingPosition::Latest => end,
            StartingPosition::AtSequenceNumber(s) => parse_seq(&s)?,
            StartingPosition::AfterSequenceNumber(s) => parse_seq(&s)?.saturating_add(1),
            StartingPosition::AtTimestamp(ts) => {
                let now = self.now();
                if ts > now {
                    return Err(Error::InvalidArgument(format!(
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {ts}, currentTimestampInMillis: {now}"
                    )));
                }
                let reader = shard.reader.clone();
                let found = tokio::task::spawn_blocking(move || reader.first_key_at_or_after(ts))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))??;
                found.unwrap_or_else(|| end.max(SequenceNumber::counter_at(ts)))
            }
        })
    }

    fn mint(&self, rt: &StreamRuntime, shard: ShardId, position: u64) -> String {
        let pos = IteratorPos {
            stream: rt.name.clone(),
            incarnation: rt.incarnation,
            shard: shard.0,
            position,
            minted_ms: self.now(),
        };
        iterator::encode(&pos, &self.inner.token_key)
    }

    /// Checks a GetRecords request: the iterator, its stream and shard. The read itself is
    /// [`RecordsRead::run`], which blocks and so belongs on a blocking thread.
    pub fn prepare_get_records(
        &self,
        token: &str,
        limit: Option<u32>,
        stream: Option<&StreamName>,
    ) -> Result<RecordsRead, Error> {
        let now = self.now();
        let pos = iterator::decode(token, &self.inner.token_key, now).map_err(|e| match e {
            IteratorError::Invalid => Error::InvalidArgument("Invalid ShardIterator.".into()),
            IteratorError::Expired { minted_ms } => Error::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {minted_ms} while right now it is {now} which is further in the future than the tolerated delay of 300000 milliseconds."
            )),
        })?;
        if let Some(s) = stream.filter(|s| **s != pos.stream) {
            return Err(Error::InvalidArgument(format!(
                "ShardIterator does not belong to stream {s}."
            )));
        }
        let shard_missing = || Error::ShardNotFound {
            stream: pos.stream.clone(),
            shard: ShardId(pos.shard).to_string(),
        };
        let rt = self.active(&pos.stream).map_err(|_| shard_missing())?;
        if rt.incarnation != pos.incarnation {
            return Err(shard_missing());
        }
        let shard = rt.shard(ShardId(pos.shard)).ok_or_else(shard_missing)?;
        let charge = self.limits_for(&rt).map(|l| (shard.meter.clone(), l));
        if let Some((meter, l)) = &charge {
            let mut meter = meter.lock().unwrap_or_else(|p| p.into_inner());
            if !meter.throttle(l, now).admit_read(l, now) {
                return Err(Error::Throttled(self.rate_exceeded(&pos.stream, shard.id)));
            }
        }
        let max_records = limit.map_or(rheo_types::limits::GET_RECORDS_MAX_RECORDS, |l| l as usize);
        let max_bytes = rheo_types::limits::GET_RECORDS_MAX_BYTES;
        Ok(self.records_read(&rt, shard, pos.position, max_records, max_bytes, charge))
    }

    /// A read of `shard` from `from_key`.
    pub(crate) fn records_read(
        &self,
        rt: &Arc<StreamRuntime>,
        shard: &ShardRuntime,
        from_key: u64,
        max_records: usize,
        max_bytes: usize,
        charge: Option<(Arc<Mutex<ShardMeter>>, ShardLimits)>,
    ) -> RecordsRead {
        RecordsRead {
            engine: self.clone(),
            rt: rt.clone(),
            shard: shard.id,
            epoch_s: shard.epoch_s,
            reader: shard.reader.clone(),
            limits: ReadLimits {
                from_key,
                max_records,
                max_bytes,
                min_timestamp_ms: rt.cutoff_ms(self.now()),
            },
            children: shard.children.clone(),
            charge,
        }
    }
}

/// A checked GetRecords request, ready to read.
pub struct RecordsRead {
    engine: Engine,
    rt: Arc<StreamRuntime>,
    shard: ShardId,
    epoch_s: u64,
    reader: LogReader,
    limits: ReadLimits,
    /// Set when the shard is closed: its children.
    children: Option<Arc<Vec<ChildShard>>>,
    /// With throughput limits on: where the bytes read are charged.
    charge: Option<(Arc<Mutex<ShardMeter>>, ShardLimits)>,
}

/// What follows the records in a GetRecords response.
#[derive(Debug, Clone)]
pub struct ReadSummary {
    /// `None` once the read has reached the end of a closed shard.
    pub next_iterator: Option<String>,
    pub millis_behind_latest: i64,
    /// At the end of a closed shard: its children, where reading goes on.
    pub child_shards: Option<Arc<Vec<ChildShard>>>,
    /// The key the next read starts at.
    pub next_key: u64,
    /// Record bytes read (data and partition keys).
    pub bytes: usize,
}

impl RecordsRead {
    /// Whether records were committed at or after the read's position when asked (more may
    /// arrive at any moment).
    pub fn has_records(&self) -> bool {
        self.reader
            .tail()
            .last_key
            .is_some_and(|last| last >= self.limits.from_key)
    }

    /// Reads the records (blocking), handing each to `each` as the log is scanned; stops early
    /// if `each` returns false.
    pub fn run(self, mut each: impl FnMut(Record<'_>) -> bool) -> Result<ReadSummary, Error> {
        let (shard, epoch_s) = (self.shard.0, self.epoch_s);
        let mut bytes = 0;
        let last = self.reader.read_each(self.limits, |r| {
            bytes += r.partition_key.len() + r.data.len();
            each(Record {
                sequence_number: SequenceNumber {
                    counter: r.key,
                    shard,
                    epoch_s,
                },
                arrival_ms: r.timestamp_ms,
                partition_key: r.partition_key,
                data: r.data,
            })
        })?;
        if let Some((meter, l)) = &self.charge {
            let now = self.engine.now();
            let mut meter = meter.lock().unwrap_or_else(|p| p.into_inner());
            meter.throttle(l, now).charge_read(l, now, bytes);
        }
        let next = last.map_or(self.limits.from_key, |(key, _)| key.saturating_add(1));
        let caught_up = self.reader.tail().last_key.is_none_or(|k| next > k);
        let millis_behind_latest = match last {
            Some((_, ts)) if !caught_up => (self.engine.now() - ts).max(0),
            _ => 0,
        };
        // A closed shard's log no longer grows: caught up means at its end.
        let at_end = caught_up && self.children.is_some();
        Ok(ReadSummary {
            next_iterator: (!at_end).then(|| self.engine.mint(&self.rt, self.shard, next)),
            millis_behind_latest,
            child_shards: if at_end { self.children } else { None },
            next_key: next,
            bytes,
        })
    }
}

fn internal_failure() -> RecordFailure {
    RecordFailure {
        code: "InternalFailure",
        message: "Internal service failure.".into(),
    }
}

async fn send(
    rt: &StreamRuntime,
    shard: u32,
    records: Vec<PendingRecord>,
    after_counter: Option<u64>,
) -> oneshot::Receiver<AppendReply> {
    let (reply, rx) = oneshot::channel();
    if let Some(tx) = rt.shard(ShardId(shard)).and_then(|s| s.tx.as_ref()) {
        // A send error drops `reply`, which the caller sees as a failed append.
        let request = AppendRequest {
            records,
            after_counter,
            reply,
        };
        let _ = tx.send(Command::Append(request)).await;
    }
    rx
}
