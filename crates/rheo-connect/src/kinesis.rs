//! A Kinesis stream as an event source: one worker per shard, reading through the engine's
//! in-process feed (woken by the shard's commits, so a record is handed over right after its
//! append is durable), in order, one batch at a time; a shard's children start once it is
//! finished. Each batch is retried by the mapping's settings (retries, record age, bisecting,
//! partial batch responses), then succeeds or is discarded with an invocation record to the
//! OnFailure destination; the checkpoint moves past a record only after that.

use crate::catalog::{Checkpoint, Checkpoints, MappingDef, Source, StartingPosition};
use crate::events::{self, BatchResponse, FailedBatch};
use crate::service::{Mappings, Result, off_worker};
use bytes::Bytes;
use rheo_engine::kqueues::{FeedRecord, FeedShard};
use rheo_functions::FunctionError;
use rheo_types::{ShardId, StreamName};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The largest event a function is sent (Lambda's synchronous payload limit).
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

pub(crate) fn stream_of(def: &MappingDef) -> Option<StreamName> {
    match &def.source {
        Source::Kinesis { stream } => StreamName::parse(stream).ok(),
        Source::Sqs { .. } | Source::KinesisQueue => None,
    }
}

/// The ARN of the mapping's stream (its source ARN without a consumer part).
pub(crate) fn stream_arn(def: &MappingDef) -> String {
    match def.source_arn.find("/consumer/") {
        Some(i) => def.source_arn.get(..i).unwrap_or(&def.source_arn).to_owned(),
        None => def.source_arn.clone(),
    }
}

/// Where a new mapping starts in each shard of its stream.
pub(crate) fn initial_checkpoints(m: &Mappings, def: &MappingDef) -> Result<Checkpoints> {
    let name = stream_of(def).ok_or_else(|| FunctionError::InvalidParameter("not a stream".into()))?;
    let feed = m
        .inner
        .engine
        .feed(&name)
        .map_err(|_| FunctionError::InvalidParameter(format!("Stream not found: {}", def.source_arn)))?;
    let mut shards = BTreeMap::new();
    for s in &feed.shards {
        let next = match def.starting_position {
            Some(StartingPosition::Latest) => s.end(),
            Some(StartingPosition::AtTimestamp(ts)) => {
                off_worker(|| s.position_at(ts)).map_err(|e| FunctionError::Service(e.to_string()))?
            }
            _ => 0,
        };
        shards.insert(s.id.0, Checkpoint { next, finished: false });
    }
    Ok(Checkpoints {
        incarnation: feed.incarnation,
        shards,
    })
}

/// The shared checkpoints of a running mapping, saved after each change.
pub(crate) struct State {
    pub(crate) m: Mappings,
    pub(crate) uuid: String,
    checkpoints: Mutex<Checkpoints>,
    /// Held while the checkpoints file is written: one save at a time, of the latest state
    /// (saves share the file's temporary name, and an older snapshot must not land last).
    saving: tokio::sync::Mutex<()>,
    /// Set while the mapping is being disabled: workers finish the batch they are running
    /// (and its checkpoint) and stop, so that enabling it again sends nothing twice.
    stopping: std::sync::atomic::AtomicBool,
    stop: tokio::sync::Notify,
}

impl State {
    pub(crate) fn get(&self, shard: u32) -> Checkpoint {
        self.checkpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .shards
            .get(&shard)
            .copied()
            .unwrap_or_default()
    }

    /// Records a shard's new position durably; retried until the disk takes it (a checkpoint
    /// that is not saved is not taken).
    pub(crate) async fn set(&self, shard: u32, c: Checkpoint) {
        self.checkpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .shards
            .insert(shard, c);
        let _saving = self.saving.lock().await;
        loop {
            let snapshot = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let (disk, dir) = (self.m.inner.disk.clone(), self.m.inner.config.data_dir.clone());
            let uuid = self.uuid.clone();
            let saved = tokio::task::spawn_blocking(move || snapshot.save(&*disk, &dir, &uuid)).await;
            match saved {
                Ok(Ok(())) => return,
                Ok(Err(e)) => tracing::warn!(error = %e, mapping = %self.uuid, "saving a checkpoint failed; retrying"),
                Err(e) => tracing::warn!(error = %e, mapping = %self.uuid, "saving a checkpoint failed; retrying"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The mapping's task: runs shard workers while the mapping is enabled, until it is deleted.
pub(crate) async fn run(m: Mappings, uuid: String, mut changes: watch::Receiver<u64>) {
    let Some(first) = m.def(&uuid) else { return };
    let Some(name) = stream_of(&first) else { return };
    // Checkpoints that cannot be read are not replaced by empty ones (that would replay the
    // stream): the mapping waits, reporting the problem.
    let loaded = loop {
        let (disk, dir) = (m.inner.disk.clone(), m.inner.config.data_dir.clone());
        let u = uuid.clone();
        match tokio::task::spawn_blocking(move || Checkpoints::load(&*disk, &dir, &u)).await {
            Ok(Ok(c)) => break c,
            Ok(Err(e)) => {
                tracing::error!(error = %e, mapping = %uuid, "reading the mapping's checkpoints failed");
                m.set_result(&uuid, &format!("PROBLEM: its checkpoints cannot be read: {e}"));
            }
            Err(e) => tracing::error!(error = %e, mapping = %uuid, "reading the mapping's checkpoints failed"),
        }
        if m.def(&uuid).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    let state = Arc::new(State {
        m: m.clone(),
        uuid: uuid.clone(),
        checkpoints: Mutex::new(loaded.unwrap_or_default()),
        saving: tokio::sync::Mutex::new(()),
        stopping: std::sync::atomic::AtomicBool::new(false),
        stop: tokio::sync::Notify::new(),
    });
    let mut workers: BTreeMap<u32, tokio::task::JoinHandle<()>> = BTreeMap::new();
    loop {
        let Some(def) = m.def(&uuid) else {
            workers.values().for_each(|w| w.abort());
            return;
        };
        workers.retain(|_, w| !w.is_finished());
        if !def.enabled {
            stop_workers(&state, std::mem::take(&mut workers)).await;
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        }
        state.stopping.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut feed = match m.inner.engine.feed(&name) {
            Ok(f) => f,
            Err(_) => {
                m.set_result(&uuid, "PROBLEM: Stream not found");
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
        };
        {
            let mut g = state.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
            if g.incarnation != feed.incarnation {
                // The stream was re-created: its shards start from their beginning, and the
                // old stream's workers stop (a late checkpoint of theirs would skip records).
                *g = Checkpoints {
                    incarnation: feed.incarnation,
                    shards: BTreeMap::new(),
                };
                workers.values().for_each(|w| w.abort());
                workers.clear();
            }
        }
        let present: HashSet<u32> = feed.shards.iter().map(|s| s.id.0).collect();
        let shards = std::mem::take(&mut feed.shards);
        for shard in shards {
            let id = shard.id.0;
            let c = state.get(id);
            let parents_done = shard
                .parents
                .iter()
                .all(|p| !present.contains(&p.0) || state.get(p.0).finished);
            if c.finished || !parents_done || workers.contains_key(&id) {
                continue;
            }
            let (st, u) = (state.clone(), uuid.clone());
            workers.insert(id, tokio::spawn(async move { shard_worker(st, u, shard).await }));
        }
        // New shards appear after a reshard, and children wait for their parents: look again
        // when a worker ends, the mapping changes, or a second passes.
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// How long a disabled mapping's workers get to finish the batch they are running before
/// they are stopped where they are (a batch still being retried then runs again later).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Stops workers at the end of their current batch (its checkpoint saved), or after
/// [`STOP_GRACE`].
async fn stop_workers(state: &State, workers: BTreeMap<u32, tokio::task::JoinHandle<()>>) {
    if workers.is_empty() {
        return;
    }
    state.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
    state.stop.notify_waiters();
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    for (_, mut w) in workers {
        if tokio::time::timeout_at(deadline, &mut w).await.is_err() {
            w.abort();
        }
    }
}

async fn shard_worker(state: Arc<State>, uuid: String, mut shard: FeedShard) {
    let m = state.m.clone();
    let id = shard.id;
    let shard_name = id.to_string();
    loop {
        if state.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let Some(def) = m.def(&uuid) else { return };
        if def.tumbling_window_s > 0 {
            return crate::windows::run(state, uuid, shard).await;
        }
        let c = state.get(id.0);
        let cutoff = stream_of(&def)
            .and_then(|n| m.inner.engine.feed(&n).ok())
            .map_or(i64::MIN, |f| f.cutoff_ms);
        // With ParallelizationFactor N, N batches' worth is read and run in N lanes.
        let lanes = def.parallelization_factor.clamp(1, 10) as usize;
        let max = (def.batch_size as usize).saturating_mul(lanes);
        let first_read = read(&shard, c.next, max, cutoff).await;
        let mut records = match first_read {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, mapping = %uuid, shard = %shard_name, "reading a shard failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if records.is_empty() {
            if shard.closed && c.next >= shard.end() {
                state
                    .set(
                        id.0,
                        Checkpoint {
                            next: c.next,
                            finished: true,
                        },
                    )
                    .await;
                return;
            }
            // A reshard closes the shard without a commit to wake on: look again each second.
            tokio::select! {
                () = shard.changed() => {}
                () = state.stop.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if let Some(fresh) = fresh_shard(&m, &def, id) {
                shard = fresh;
            }
            continue;
        }
        // A batching window: wait for more records until the batch is full or it passes.
        if records.len() < max && def.batching_window_s > 0 {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(def.batching_window_s));
            while records.len() < max && tokio::time::Instant::now() < deadline {
                tokio::select! {
                    () = shard.changed() => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
                if let Ok(r) = read(&shard, c.next, max, cutoff).await {
                    records = r;
                }
            }
        }
        let after = records.last().map_or(c.next, |r| r.key.saturating_add(1));
        let passing = events::filter_records(&def.filters, records);
        if lanes > 1 {
            run_lanes(&state, &def, &shard_name, id, passing, lanes).await;
        } else if !passing.is_empty() {
            process(&state, &def, &shard_name, id, passing, true).await;
        }
        state
            .set(
                id.0,
                Checkpoint {
                    next: after,
                    finished: false,
                },
            )
            .await;
    }
}

/// The shard as a new feed shows it (closed or not, with a live commit signal).
pub(crate) fn fresh_shard(m: &Mappings, def: &MappingDef, id: ShardId) -> Option<FeedShard> {
    let feed = m.inner.engine.feed(&stream_of(def)?).ok()?;
    feed.shards.into_iter().find(|s| s.id == id)
}

pub(crate) async fn read(
    shard: &FeedShard,
    from: u64,
    max: usize,
    cutoff: i64,
) -> std::result::Result<Vec<FeedRecord>, String> {
    // The shard's reader is shared with the engine; reading blocks.
    off_worker(|| shard.read(from, max, cutoff)).map_err(|e| e.to_string())
}

/// Runs one batch to its end: success, or discarded to the OnFailure destination. Splits it
/// first if it is over 6 MB as an event.
/// ParallelizationFactor: the records split into `n` lanes by partition key, each lane run in
/// order as batches of BatchSize, the lanes at once; the checkpoint moves past them all once
/// every lane is done, so order holds per partition key and nothing is skipped.
async fn run_lanes(state: &State, def: &MappingDef, shard: &str, id: ShardId, records: Vec<FeedRecord>, n: usize) {
    let mut lanes: Vec<Vec<FeedRecord>> = vec![Vec::new(); n];
    for r in records {
        let lane = lane_of(&r.partition_key, n);
        if let Some(l) = lanes.get_mut(lane) {
            l.push(r);
        }
    }
    let size = (def.batch_size as usize).max(1);
    let runs = lanes.into_iter().filter(|l| !l.is_empty()).map(|lane| async move {
        let mut lane = lane;
        while !lane.is_empty() {
            let rest = lane.split_off(size.min(lane.len()));
            process(state, def, shard, id, std::mem::replace(&mut lane, rest), false).await;
        }
    });
    join_all(runs.collect()).await;
}

/// A partition key's lane: FNV-1a of its bytes, modulo the lanes.
pub(crate) fn lane_of(key: &str, n: usize) -> usize {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % n.max(1) as u64) as usize
}

/// Runs futures together and waits for all.
async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        futures.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futures.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Runs records as batches (cut to the 6 MB event limit). `partial`: a partial batch response
/// may move the shard's checkpoint within the batch (not when lanes run side by side).
async fn process(state: &State, def: &MappingDef, shard: &str, id: ShardId, records: Vec<FeedRecord>, partial: bool) {
    let m = &state.m;
    let role = m
        .inner
        .functions
        .get(&def.function)
        .map(|f| f.def.role)
        .unwrap_or_default();
    // Records name their stream, also when the mapping reads through a consumer.
    let arn = stream_arn(def);
    let region = m.inner.config.region.clone();
    let encode = |rs: &[FeedRecord]| -> Vec<u8> {
        let list: Vec<serde_json::Value> = rs
            .iter()
            .map(|r| events::kinesis_record(r, shard, &arn, &region, &role))
            .collect();
        serde_json::json!({"Records": list}).to_string().into_bytes()
    };
    // Batches over the payload limit are cut (at least one record each). A batch is written
    // out to be measured only when its bound says it might not fit.
    let context = shard.len() + arn.len() + region.len() + role.len();
    let fits = |rs: &[FeedRecord]| {
        let bound: usize = rs.iter().map(|r| events::kinesis_record_bound(r, context)).sum();
        bound.saturating_add(16) <= MAX_EVENT_BYTES || encode(rs).len() <= MAX_EVENT_BYTES
    };
    let mut queue: Vec<Vec<FeedRecord>> = vec![records];
    while let Some(batch) = queue.pop() {
        if batch.len() > 1 && !fits(&batch) {
            let mut first = batch;
            let second = first.split_off(first.len() / 2);
            queue.push(second);
            queue.push(first);
            continue;
        }
        run_batch(state, def, shard, id, batch, &encode, partial).await;
    }
}

/// One batch, retried by the mapping's settings until it succeeds or is discarded.
async fn run_batch(
    state: &State,
    def: &MappingDef,
    shard: &str,
    id: ShardId,
    batch: Vec<FeedRecord>,
    encode: &(dyn Fn(&[FeedRecord]) -> Vec<u8> + Sync),
    partial: bool,
) {
    let m = &state.m;
    let request_id = rheo_functions::service::new_uuid();
    // Batches still to run: bisecting pushes halves, each with its own count of attempts.
    let mut pending: Vec<(Vec<FeedRecord>, u32)> = vec![(batch, 0)];
    while let Some((mut batch, mut attempts)) = pending.pop() {
        loop {
            if batch.is_empty() {
                break;
            }
            // Records older than MaximumRecordAgeInSeconds are discarded unrun.
            if def.maximum_record_age_s >= 0
                && let Some(first) = batch.first()
                && m.now() - first.arrival_ms > def.maximum_record_age_s * 1000
            {
                discard(
                    state,
                    def,
                    shard,
                    &batch,
                    &request_id,
                    "RecordAgeExceeded",
                    attempts.max(1),
                    None,
                )
                .await;
                break;
            }
            let payload = Bytes::from(encode(&batch));
            let Some(out) = m.invoke(def, payload).await else {
                // Throttled, not ready, or gone: not an attempt; try again shortly.
                tokio::time::sleep(Duration::from_millis(500)).await;
                if m.def(&def.uuid).is_none_or(|d| !d.enabled) {
                    return;
                }
                continue;
            };
            attempts = attempts.saturating_add(1);
            // What is left to retry, and the function error the record would show.
            let (retry_from, error): (Option<usize>, Option<Option<&str>>) = match &out.function_error {
                Some(_) => (Some(0), Some(Some("Unhandled"))),
                None if def.report_batch_item_failures => {
                    let ids: Vec<String> = batch.iter().map(|r| r.sequence_number.to_string()).collect();
                    match events::batch_response(&out.payload, &ids) {
                        BatchResponse::Success => (None, None),
                        BatchResponse::Failed(idx) => (idx.first().copied(), Some(None)),
                        BatchResponse::Invalid => (Some(0), Some(None)),
                    }
                }
                None => (None, None),
            };
            let Some(from) = retry_from else {
                m.set_result(&def.uuid, "OK");
                break;
            };
            m.set_result(&def.uuid, "PROBLEM: Function call failed");
            if from > 0 {
                // The records before the first reported failure are done (checkpointed, unless
                // lanes run side by side).
                if partial {
                    let done = batch.get(from.saturating_sub(1)).map_or(0, |r| r.key.saturating_add(1));
                    state
                        .set(
                            id.0,
                            Checkpoint {
                                next: done,
                                finished: false,
                            },
                        )
                        .await;
                }
                batch.drain(..from);
            }
            if def.bisect && batch.len() > 1 && out.function_error.is_some() {
                let second = batch.split_off(batch.len() / 2);
                pending.push((second, 0));
                pending.push((batch, 0));
                break;
            }
            let exhausted = def.maximum_retry_attempts >= 0 && i64::from(attempts) > def.maximum_retry_attempts;
            if exhausted {
                discard(
                    state,
                    def,
                    shard,
                    &batch,
                    &request_id,
                    "RetryAttemptsExhausted",
                    attempts,
                    error,
                )
                .await;
                break;
            }
            let backoff = 100u64.saturating_mul(1 << attempts.min(6));
            tokio::time::sleep(Duration::from_millis(backoff)).await;
            if m.def(&def.uuid).is_none() {
                return;
            }
        }
    }
}

/// Sends a discarded batch's invocation record to the OnFailure destination (retrying until
/// it is taken: the checkpoint must not pass records that went nowhere).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn discard(
    state: &State,
    def: &MappingDef,
    shard: &str,
    batch: &[FeedRecord],
    request_id: &str,
    condition: &str,
    attempts: u32,
    error: Option<Option<&str>>,
) {
    let m = &state.m;
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return;
    };
    tracing::info!(mapping = %def.uuid, shard, condition, records = batch.len(), "discarding a batch");
    let Some(target) = def.on_failure.clone() else { return };
    let record = events::on_failure_record(
        request_id,
        &m.inner.functions.function_arn(&def.function),
        condition,
        attempts,
        error,
        &FailedBatch {
            shard,
            first,
            last,
            size: batch.len(),
            stream_arn: &stream_arn(def),
        },
        m.now(),
    );
    loop {
        match m.inner.destinations.deliver(target.clone(), record.to_string()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, destination = %target, "an on-failure record could not be delivered; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                if m.def(&def.uuid).is_none() {
                    return;
                }
            }
        }
    }
}
