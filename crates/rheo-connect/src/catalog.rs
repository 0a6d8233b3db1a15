//! Event source mappings and their checkpoints on disk, under `<tenant>/connect/`:
//!
//! - `mappings.json`: every mapping's definition ([`MappingDef`]), replaced whole on each change
//!   (temporary file, fsync, rename, fsync of the directory);
//! - `checkpoints/<uuid>.json`: a Kinesis mapping's position in each shard (the position of the
//!   next record to hand to the function), replaced the same way after each batch that
//!   succeeded or was discarded, before the next batch is read. A record is therefore handed
//!   over at least once: a crash between an invocation and its checkpoint repeats the batch.

use rheo_log::Disk;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = "mappings.json";

/// Where a mapping reads from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Source {
    /// A Kinesis stream (by name), as its ARN names it.
    Kinesis { stream: String },
    /// An SQS queue of the tenant, by name.
    Sqs { queue: String },
    /// A Kinesis queue, by its ARN (a Rheo extension).
    KinesisQueue,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(i64),
}

/// A mapping as created and last updated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MappingDef {
    pub uuid: String,
    pub function: String,
    pub source_arn: String,
    pub source: Source,
    pub batch_size: u32,
    pub batching_window_s: u32,
    pub starting_position: Option<StartingPosition>,
    /// −1: until the records expire.
    pub maximum_retry_attempts: i64,
    /// −1: no limit.
    pub maximum_record_age_s: i64,
    pub bisect: bool,
    pub report_batch_item_failures: bool,
    pub parallelization_factor: u32,
    pub tumbling_window_s: u32,
    /// FilterCriteria patterns, as given (JSON strings).
    pub filters: Vec<String>,
    pub on_failure: Option<String>,
    pub enabled: bool,
    pub maximum_concurrency: Option<u32>,
    pub last_modified_ms: i64,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct MappingsFile {
    pub version: u32,
    pub mappings: BTreeMap<String, MappingDef>,
}

impl MappingsFile {
    pub fn load(disk: &dyn Disk, dir: &Path) -> std::io::Result<MappingsFile> {
        match rheo_log::disk::read_all(disk, &dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(MappingsFile {
                version: 1,
                mappings: BTreeMap::new(),
            }),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn Disk, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(FILE), &bytes)
    }
}

/// A Kinesis mapping's positions: per shard id, the next position to process, and whether
/// the shard is finished (closed and processed to its end).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// The stream incarnation they belong to: a re-created stream starts afresh.
    pub incarnation: u64,
    pub shards: BTreeMap<u32, Checkpoint>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub next: u64,
    pub finished: bool,
}

impl Checkpoints {
    pub fn load(disk: &dyn Disk, dir: &Path, uuid: &str) -> std::io::Result<Option<Checkpoints>> {
        match rheo_log::disk::read_all(disk, &dir.join("checkpoints").join(format!("{uuid}.json"))) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn Disk, dir: &Path, uuid: &str) -> std::io::Result<()> {
        let dir = dir.join("checkpoints");
        disk.create_dir_all(&dir)?;
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(format!("{uuid}.json")), &bytes)
    }

    pub fn remove(disk: &dyn Disk, dir: &Path, uuid: &str) {
        let _ = disk.remove_file(&dir.join("checkpoints").join(format!("{uuid}.json")));
    }
}
