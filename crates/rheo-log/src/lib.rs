//! A durable, segmented, append-only log: one per shard.
//!
//! # On-disk format
//!
//! A log is a directory of segment files named `{first_key:020}.log`, where `first_key` is the
//! key of the first record the segment may hold. Keys are strictly increasing `u64`s chosen by
//! the caller (Rheo uses the sequence number counter). Each segment is a run of frames:
//!
//! ```text
//! u32 LE  body_len   bytes in the body (18 + partition key + data), at most MAX_BODY
//! u32 LE  crc        CRC32C of the body
//! body:
//!   u64 LE  key           strictly greater than the previous frame's key
//!   i64 LE  timestamp_ms  arrival time, never less than the previous frame's
//!   u16 LE  pk_len        length of the partition key
//!   [u8]    partition key (UTF-8)
//!   [u8]    data          (the rest of the body)
//! ```
//!
//! # Rules
//!
//! - Only the writer appends, with positional writes at the committed end of the last segment.
//! - In [`Durability::Fsync`] mode an append returns only after `fdatasync`; a batch of records
//!   shares one sync (group commit). A new segment's directory entry is synced before use.
//! - Readers see only committed frames (written, and synced in Fsync mode).
//! - Recovery scans every segment; the first frame that is short, too long, fails its CRC or
//!   breaks key order ends that segment: the file is truncated there and the truncation synced.
//!   Every fully written frame before it is kept.
//! - A sparse index (key, timestamp, position) is kept in memory per segment, one entry per
//!   [`INDEX_INTERVAL`] bytes, rebuilt by the recovery scan. Keys and timestamps are both
//!   monotonic, so it serves lookups by either.
//! - Trimming deletes whole segments, never the last one.

#![forbid(unsafe_code)]

pub mod disk;
mod frame;
mod log;

pub use disk::{Disk, DiskFile, RealDisk};
pub use frame::{FRAME_HEADER, MAX_BODY, NewRecord, ReadRecord, RecordRef};
pub use log::{Durability, LogConfig, LogReader, LogWriter, ReadLimits, Tail, open};

/// Bytes between two sparse index entries.
pub const INDEX_INTERVAL: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("accessing {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("record too large: {0} bytes")]
    TooLarge(usize),
    #[error("key {key} is not above the last key {last}")]
    KeyOrder { key: u64, last: u64 },
    #[error("timestamp {timestamp_ms} is below the last timestamp {last}")]
    TimeOrder { timestamp_ms: i64, last: i64 },
    #[error("the log writer failed earlier and refuses further appends")]
    Poisoned,
}
