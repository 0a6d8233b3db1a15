//! A delivery stream's intake: the records put to it, in a `rheo-log` log with one writer
//! thread and group commit (everything queued is appended with one fsync), so PutRecord and
//! PutRecordBatch answer only once their records are on disk.

use rheo_log::{Disk, LogConfig, LogReader, NewRecord};
use rheo_types::clock::Clock;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::{oneshot, watch};

/// The key and arrival time each record got.
pub type Appended = Result<Vec<(u64, i64)>, String>;

/// A record to append: its origin (empty for a record put directly) and its data.
pub type Frame = (bytes::Bytes, bytes::Bytes);

struct Append {
    records: Vec<Frame>,
    reply: oneshot::Sender<Appended>,
}

/// The write side (a channel to the writer thread) and the read side of one intake.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Append>,
    pub reader: LogReader,
    /// The last key committed; changes after every append.
    pub committed: watch::Receiver<u64>,
}

impl Intake {
    pub fn open(disk: Arc<dyn Disk>, dir: &Path, config: LogConfig, clock: Arc<dyn Clock>) -> std::io::Result<Intake> {
        let (mut writer, reader) = rheo_log::open(disk, dir, config).map_err(std::io::Error::other)?;
        let tail = reader.tail();
        let (done, committed) = watch::channel(tail.last_key.unwrap_or(0));
        let (tx, rx) = mpsc::channel::<Append>();
        let name = format!("firehose-intake-{}", dir.display());
        std::thread::Builder::new().name(name).spawn(move || {
            let (mut next, mut last_ms) = (tail.last_key.unwrap_or(0) + 1, tail.last_timestamp_ms.unwrap_or(0));
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                let now = clock.now_ms().max(last_ms);
                let mut frames = Vec::new();
                let mut assigned = Vec::new();
                for a in &batch {
                    let mut keys = Vec::with_capacity(a.records.len());
                    for (origin, data) in &a.records {
                        frames.push(NewRecord {
                            key: next,
                            timestamp_ms: now,
                            partition_key: origin,
                            data,
                        });
                        keys.push((next, now));
                        next += 1;
                    }
                    assigned.push(keys);
                }
                let result = writer.append(&frames).map_err(|e| e.to_string());
                drop(frames);
                match &result {
                    Ok(()) => {
                        last_ms = now;
                        let _ = done.send(next - 1);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "a delivery stream's intake append failed");
                        next = writer.reader().tail().last_key.unwrap_or(0) + 1;
                    }
                }
                for (a, keys) in batch.into_iter().zip(assigned) {
                    let _ = a.reply.send(result.clone().map(|()| keys));
                }
            }
        })?;
        Ok(Intake { tx, reader, committed })
    }

    /// Appends records durably; their keys and arrival time.
    pub async fn append(&self, records: Vec<Frame>) -> Appended {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Append { records, reply })
            .map_err(|_| "the intake is closed".to_owned())?;
        rx.await.map_err(|_| "the intake is closed".to_owned())?
    }
}
