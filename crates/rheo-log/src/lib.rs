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
//! - Recovery scans every segment. In the last segment, the first frame that is short, too
//!   long, fails its CRC or breaks key order ends it: a torn write of an unacknowledged batch,
//!   truncated there (synced). Anywhere else such a frame is corruption of acknowledged
//!   records: the log refuses to open, naming the file, unless told to move the segment aside
//!   ([`OnCorruption`]). (In [`Durability::Relaxed`] mode every segment's unsynced tail may be
//!   torn by a power cut, so every segment's tail is truncated.) An empty file among sealed
//!   segments never held a record (a roll that failed after creating its file) and is removed.
//! - A failed write or sync cuts the batch's bytes off the segment (synced) before the error is
//!   returned, so records reported as failed never reappear. If the cut fails too, appends are
//!   refused until a retry of it succeeds (with back-off), without a restart.
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
pub use log::OnCorruption;
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
    #[error("an append failed earlier and its bytes could not be cut off yet; retrying shortly")]
    Poisoned,
    #[error(
        "segment {path} is corrupt at byte {offset} of {len}: it is not the last segment, so this is not a torn write but lost acknowledged records. Restore the file, or start with --on-corruption quarantine to move it aside and serve the rest"
    )]
    Corrupt {
        path: std::path::PathBuf,
        offset: u64,
        len: u64,
    },
}
