//! A Kinesis stream as a delivery stream's source (`KinesisStreamAsSource`): a pump reads each
//! shard through the engine's in-process feed (woken by the shard's commits), in order, a
//! shard's children once its parents are finished, and appends what it read to the delivery
//! stream's intake; the delivery worker takes it from there.
//!
//! Exactly once into the intake: each intake frame carries its source position in its
//! partition-key field (`<shard>|<key>|<sequence number>|<partition key>`), and the pump's
//! checkpoint (`<incarnation>/source.json`: per shard the next position and whether it is
//! finished, and the intake key it covers) is saved after every append. At start the frames
//! after that intake key move the positions past what was already appended, so a crash between
//! an append and its checkpoint repeats nothing. The worker trims the intake only below the
//! pump's saved key (see `Worker`), so those frames are still there.

use crate::intake::Intake;
use rheo_engine::Engine;
use rheo_log::Disk;
use rheo_types::StreamName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct ShardPos {
    pub next: u64,
    pub finished: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct SourceCheckpoint {
    /// The stream incarnation the positions belong to.
    pub incarnation: u64,
    /// The last intake key the positions account for.
    pub intake_key: u64,
    pub shards: BTreeMap<u32, ShardPos>,
}

const FILE: &str = "source.json";

impl SourceCheckpoint {
    pub fn load(disk: &dyn Disk, dir: &std::path::Path) -> std::io::Result<Option<SourceCheckpoint>> {
        match rheo_log::disk::read_all(disk, &dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn Disk, dir: &std::path::Path) -> std::io::Result<()> {
        disk.create_dir_all(dir)?;
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(FILE), &bytes)
    }
}

/// Where a Kinesis record came from, as an intake frame's partition-key field holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub shard: u32,
    pub key: u64,
    /// Its place among the user records of a KPL-aggregated record.
    pub subsequence: u32,
    /// When Kinesis took it (milliseconds).
    pub arrival_ms: i64,
    pub sequence_number: String,
    pub partition_key: String,
}

impl Origin {
    pub fn encode(&self) -> Vec<u8> {
        let Origin {
            shard,
            key,
            subsequence,
            arrival_ms,
            sequence_number,
            partition_key,
        } = self;
        format!("{shard}|{key}|{subsequence}|{arrival_ms}|{sequence_number}|{partition_key}").into_bytes()
    }

    pub fn decode(b: &[u8]) -> Option<Origin> {
        let s = std::str::from_utf8(b).ok()?;
        let mut it = s.splitn(6, '|');
        Some(Origin {
            shard: it.next()?.parse().ok()?,
            key: it.next()?.parse().ok()?,
            subsequence: it.next()?.parse().ok()?,
            arrival_ms: it.next()?.parse().ok()?,
            sequence_number: it.next()?.to_owned(),
            partition_key: it.next()?.to_owned(),
        })
    }

    /// When a frame's record arrived: at Kinesis for a Kinesis source, else at the intake.
    pub fn arrival(origin: &[u8], intake_ms: i64) -> i64 {
        if origin.is_empty() {
            return intake_ms;
        }
        Origin::decode(origin).map_or(intake_ms, |o| o.arrival_ms)
    }
}

/// A Kinesis record's intake frames: its user records if the KPL aggregated it, else itself.
fn frames_of(shard: u32, r: &rheo_engine::kqueues::FeedRecord) -> Vec<crate::intake::Frame> {
    let origin = |subsequence: usize, partition_key: &str| {
        let o = Origin {
            shard,
            key: r.key,
            subsequence: u32::try_from(subsequence).unwrap_or(u32::MAX),
            arrival_ms: r.arrival_ms,
            sequence_number: r.sequence_number.to_string(),
            partition_key: partition_key.to_owned(),
        };
        bytes::Bytes::from(o.encode())
    };
    match crate::kpl::deaggregate(&r.data) {
        Some(users) => users
            .into_iter()
            .enumerate()
            .map(|(i, (pk, data))| (origin(i, &pk), bytes::Bytes::from(data)))
            .collect(),
        None => vec![(origin(0, &r.partition_key), r.data.clone())],
    }
}

/// The positions a new delivery stream starts from: the end of every shard (LATEST, as
/// Firehose reads a stream from when the delivery stream is created).
pub fn latest(engine: &Engine, stream: &StreamName) -> Result<SourceCheckpoint, String> {
    let feed = engine.feed(stream).map_err(|_| format!("Stream {stream} not found."))?;
    let shards = feed
        .shards
        .iter()
        .map(|s| {
            let pos = ShardPos {
                next: s.end(),
                finished: false,
            };
            (s.id.0, pos)
        })
        .collect();
    Ok(SourceCheckpoint {
        incarnation: feed.incarnation,
        intake_key: 0,
        shards,
    })
}

pub(crate) struct Pump {
    pub engine: Engine,
    pub stream: StreamName,
    pub intake: Intake,
    pub dir: PathBuf,
    pub disk: Arc<dyn Disk>,
    pub stop: watch::Receiver<bool>,
    /// The intake key the saved checkpoint covers (the worker trims below it).
    pub saved: Arc<AtomicU64>,
}

/// Records read per shard per append, and their bytes at most (past the first record).
const BATCH: usize = 1000;
const BATCH_BYTES: usize = 8 * 1024 * 1024;

impl Pump {
    pub async fn run(mut self) {
        let mut cp = match self.recover().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, stream = %self.stream, "a delivery stream's source checkpoint cannot be read");
                return;
            }
        };
        while !*self.stop.borrow() && self.stop.has_changed().is_ok() {
            let mut feed = match self.engine.feed(&self.stream) {
                Ok(f) => f,
                Err(_) => {
                    self.sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if feed.incarnation != cp.incarnation {
                // The stream was deleted and another made under its name: that is not this
                // source (AWS refuses to delete a stream a channel reads). Nothing more is read.
                tracing::error!(stream = %self.stream, "a delivery stream's source stream was re-created; it is no longer read");
                tokio::select! {
                    _ = self.stop.changed() => {}
                    () = std::future::pending::<()>() => {}
                }
                return;
            }
            let present: Vec<u32> = feed.shards.iter().map(|s| s.id.0).collect();
            let mut progress = false;
            for shard in &feed.shards {
                let id = shard.id.0;
                let pos = cp.shards.get(&id).copied().unwrap_or_default();
                let parents_done = shard
                    .parents
                    .iter()
                    .all(|p| !present.contains(&p.0) || cp.shards.get(&p.0).is_some_and(|x| x.finished));
                if pos.finished || !parents_done {
                    continue;
                }
                let read = {
                    let (cutoff, from) = (feed.cutoff_ms, pos.next);
                    off_worker(|| shard.read_upto(from, BATCH, BATCH_BYTES, cutoff))
                };
                let records = match read {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, stream = %self.stream, "reading a source shard failed");
                        continue;
                    }
                };
                if let Some(last) = records.last().map(|r| r.key) {
                    let frames = records.iter().flat_map(|r| frames_of(id, r)).collect();
                    let keys = match self.intake.append(frames).await {
                        Ok(k) => k,
                        Err(e) => {
                            tracing::warn!(error = %e, stream = %self.stream, "appending source records failed");
                            self.sleep(Duration::from_secs(1)).await;
                            break;
                        }
                    };
                    cp.intake_key = keys.last().map_or(cp.intake_key, |k| k.0);
                    cp.shards.insert(
                        id,
                        ShardPos {
                            next: last + 1,
                            finished: false,
                        },
                    );
                    progress = true;
                } else if shard.closed && pos.next >= shard.end() {
                    cp.shards.insert(
                        id,
                        ShardPos {
                            next: pos.next,
                            finished: true,
                        },
                    );
                    progress = true;
                } else {
                    continue;
                }
                self.save(&cp).await;
            }
            if !progress {
                tokio::select! {
                    () = feed.changed() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = self.stop.changed() => {}
                }
            }
        }
    }

    async fn sleep(&mut self, d: Duration) {
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            _ = self.stop.changed() => {}
        }
    }

    /// Saved before the next read, retried until the disk takes it (or the stream is deleted).
    async fn save(&self, cp: &SourceCheckpoint) {
        loop {
            if *self.stop.borrow() || self.stop.has_changed().is_err() {
                return;
            }
            let (disk, dir, c) = (self.disk.clone(), self.dir.clone(), cp.clone());
            match tokio::task::spawn_blocking(move || c.save(&*disk, &dir)).await {
                Ok(Ok(())) => {
                    self.saved.store(cp.intake_key, Ordering::SeqCst);
                    return;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "saving a source checkpoint failed; retrying"),
                Err(e) => tracing::warn!(error = %e, "saving a source checkpoint failed; retrying"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The saved checkpoint, moved past the frames appended after it.
    async fn recover(&self) -> std::io::Result<SourceCheckpoint> {
        let (disk, dir, reader) = (self.disk.clone(), self.dir.clone(), self.intake.reader.clone());
        let cp = tokio::task::spawn_blocking(move || -> std::io::Result<SourceCheckpoint> {
            let mut cp = SourceCheckpoint::load(&*disk, &dir)?.unwrap_or_default();
            let limits = rheo_log::ReadLimits {
                from_key: cp.intake_key + 1,
                max_records: usize::MAX,
                max_bytes: usize::MAX,
                min_timestamp_ms: i64::MIN,
            };
            let mut after = Vec::new();
            reader
                .read_each(limits, |r| {
                    after.push((r.key, Origin::decode(r.partition_key)));
                    true
                })
                .map_err(std::io::Error::other)?;
            for (key, origin) in after {
                if let Some(o) = origin {
                    cp.shards.insert(
                        o.shard,
                        ShardPos {
                            next: o.key + 1,
                            finished: false,
                        },
                    );
                }
                cp.intake_key = key;
            }
            Ok(cp)
        })
        .await
        .map_err(std::io::Error::other)??;
        // Published once on disk: the intake is trimmed below it.
        self.save(&cp).await;
        Ok(cp)
    }
}

/// Runs blocking work in place on a multi-threaded runtime (moving other tasks off this
/// thread), or directly on a single-threaded one.
fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
