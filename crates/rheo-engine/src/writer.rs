//! The shard writer: the one task that appends to a shard's log.
//!
//! Requests queue on a channel; the task takes everything queued (up to a byte budget) as one
//! batch, assigns sequence numbers and arrival times with [`next_position`], appends the batch
//! with one sync (group commit), and only then answers each request.

use bytes::Bytes;
use rheo_log::{LogWriter, NewRecord};
use rheo_types::SequenceNumber;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::{mpsc, oneshot, watch};

use crate::Clock;

/// Most bytes taken into one group commit.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// A record waiting to be written.
#[derive(Debug, Clone)]
pub struct PendingRecord {
    pub partition_key: Bytes,
    pub data: Bytes,
}

/// Where a record landed (ordered by counter first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assigned {
    pub counter: u64,
    pub timestamp_ms: i64,
}

pub type AppendReply = Result<Vec<Assigned>, AppendError>;

#[derive(Debug)]
pub enum AppendError {
    /// The shard was closed by a reshard before this request reached its writer; the records
    /// (handed back) were not written and belong in one of its children.
    Closed(Vec<PendingRecord>),
    /// The append failed; the writer refuses further appends.
    Failed(String),
}

pub struct AppendRequest {
    pub records: Vec<PendingRecord>,
    /// The first record's counter must exceed this (SequenceNumberForOrdering).
    pub after_counter: Option<u64>,
    pub reply: oneshot::Sender<AppendReply>,
}

/// What a shard writer is asked to do.
pub enum Command {
    Append(AppendRequest),
    /// Stop appending: everything queued before this is written; the reply carries the last
    /// position assigned and the log writer. Later appends are answered [`AppendError::Closed`].
    /// The reply also resolves if the writer had already stopped (the sender is dropped).
    Close(oneshot::Sender<(Option<Assigned>, LogWriter)>),
}

/// The next record's counter and arrival time: counters strictly increase and follow the
/// clock; arrival times never go backwards. `None` when the counter space is exhausted (it
/// cannot be reached while ordering hints are bounded by [`SequenceNumber::ordering_ceiling`];
/// checked all the same, so no input can wrap a counter).
pub fn next_position(last: Option<Assigned>, now_ms: i64, after_counter: Option<u64>) -> Option<Assigned> {
    let mut counter = SequenceNumber::counter_at(now_ms);
    if let Some(l) = last {
        counter = counter.max(l.counter.checked_add(1)?);
    }
    if let Some(a) = after_counter {
        counter = counter.max(a.checked_add(1)?);
    }
    Some(Assigned {
        counter,
        timestamp_ms: last.map_or(now_ms, |l| l.timestamp_ms.max(now_ms)),
    })
}

/// What a writer tells the rest of the engine.
pub struct Signals {
    /// Marked changed after each durable append.
    pub commits: Arc<watch::Sender<()>>,
    /// Set while the last append failed.
    pub failing: Arc<AtomicBool>,
}

/// The threads the writers' appends (writes and fsyncs) run on: their own pool, so that
/// blocking reads on Tokio's pool (GetRecords, fan-out) can never queue a writer behind them.
static WRITER_POOL: LazyLock<Option<tokio::runtime::Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(512)
        .thread_name("rheo-writer")
        .build()
        .inspect_err(
            |e| tracing::error!(error = %e, "starting the writer pool failed; writers share the blocking pool"),
        )
        .ok()
});

/// Runs `f` on the writer pool (or Tokio's blocking pool if that could not start).
fn spawn_append<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> tokio::task::JoinHandle<R> {
    match &*WRITER_POOL {
        Some(pool) => pool.spawn_blocking(f),
        None => tokio::task::spawn_blocking(f),
    }
}

/// Runs until every sender is gone. `floor` is a position every new record must follow (the
/// end of a new shard's parents); the log's own last record counts too.
pub async fn run(
    mut log: LogWriter,
    mut rx: mpsc::Receiver<Command>,
    clock: Arc<dyn Clock>,
    floor: Option<Assigned>,
    signals: Signals,
) {
    let tail = log.reader().tail();
    let mut last = tail
        .last_key
        .zip(tail.last_timestamp_ms)
        .map(|(counter, timestamp_ms)| Assigned { counter, timestamp_ms })
        .max(floor);
    let mut closing = None;
    while let Some(command) = rx.recv().await {
        let first = match command {
            Command::Append(req) => req,
            Command::Close(reply) => {
                closing = Some(reply);
                break;
            }
        };
        let mut bytes = size(&first);
        let mut batch = vec![first];
        let mut kept = Vec::new();
        while bytes < BATCH_BYTES {
            match rx.try_recv() {
                Ok(Command::Append(next)) => {
                    bytes += size(&next);
                    batch.push(next);
                }
                Ok(Command::Close(reply)) => {
                    closing = Some(reply);
                    break;
                }
                Err(_) => break,
            }
        }
        let now = clock.now_ms();
        let mut positions = Vec::with_capacity(batch.len());
        let mut exhausted = Vec::new();
        for req in batch.drain(..) {
            let mut assigned = Vec::with_capacity(req.records.len());
            let mut next = last;
            for i in 0..req.records.len() {
                let Some(a) = next_position(next, now, if i == 0 { req.after_counter } else { None }) else {
                    break;
                };
                next = Some(a);
                assigned.push(a);
            }
            if assigned.len() < req.records.len() {
                exhausted.push(req);
                continue;
            }
            last = next;
            positions.push(assigned);
            kept.push(req);
        }
        std::mem::swap(&mut batch, &mut kept);
        for req in exhausted {
            tracing::error!("a shard's sequence counter is exhausted; the append is refused");
            let _ = req
                .reply
                .send(Err(AppendError::Failed("sequence counter exhausted".into())));
        }
        if batch.is_empty() {
            continue;
        }
        let joined = spawn_append(move || {
            let result = append(&mut log, &batch, &positions);
            (log, batch, positions, result)
        })
        .await;
        let Ok((returned, batch, positions, result)) = joined else {
            tracing::error!("a shard writer's append panicked; the shard stops accepting writes");
            return;
        };
        log = returned;
        signals.failing.store(result.is_err(), Ordering::Relaxed);
        if result.is_ok() {
            signals.commits.send_replace(());
        }
        for (req, assigned) in batch.into_iter().zip(positions) {
            let reply = match &result {
                Ok(()) => Ok(assigned),
                Err(e) => Err(AppendError::Failed(e.clone())),
            };
            let _ = req.reply.send(reply);
        }
        if closing.is_some() {
            break;
        }
    }
    let Some(reply) = closing else { return };
    let _ = reply.send((last, log));
    while let Some(command) = rx.recv().await {
        if let Command::Append(req) = command {
            let _ = req.reply.send(Err(AppendError::Closed(req.records)));
        }
    }
}

fn size(req: &AppendRequest) -> usize {
    req.records
        .iter()
        .map(|r| r.data.len() + r.partition_key.len() + 32)
        .sum()
}

fn append(log: &mut LogWriter, batch: &[AppendRequest], positions: &[Vec<Assigned>]) -> Result<(), String> {
    let records: Vec<NewRecord<'_>> = batch
        .iter()
        .zip(positions)
        .flat_map(|(req, assigned)| {
            req.records.iter().zip(assigned).map(|(r, a)| NewRecord {
                key: a.counter,
                timestamp_ms: a.timestamp_ms,
                partition_key: &r.partition_key,
                data: &r.data,
            })
        })
        .collect();
    log.append(&records).map_err(|e| {
        tracing::error!(error = %e, "appending to a shard log failed");
        e.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_increase_and_times_never_go_back() {
        let a = next_position(None, 1000, None).unwrap();
        assert_eq!(
            a,
            Assigned {
                counter: 1000 << 20,
                timestamp_ms: 1000
            }
        );
        let b = next_position(Some(a), 1000, None).unwrap();
        assert_eq!(b.counter, a.counter + 1);
        // The clock stepped back: the arrival time holds, the counter still grows.
        let c = next_position(Some(b), 900, None).unwrap();
        assert_eq!(
            c,
            Assigned {
                counter: b.counter + 1,
                timestamp_ms: 1000
            }
        );
        // The clock moved on: the counter jumps to it.
        let d = next_position(Some(c), 2000, None).unwrap();
        assert_eq!(d.counter, 2000 << 20);
        // SequenceNumberForOrdering from the future pushes the counter past it.
        let e = next_position(Some(d), 2000, Some(5000 << 20)).unwrap();
        assert_eq!(e.counter, (5000 << 20) + 1);
        // The top of the counter space is refused, never wrapped.
        let top = Assigned {
            counter: u64::MAX,
            timestamp_ms: 2000,
        };
        assert_eq!(next_position(Some(top), 2000, None), None);
        assert_eq!(next_position(None, 2000, Some(u64::MAX)), None);
    }
}
