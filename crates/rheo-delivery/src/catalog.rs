//! Delivery streams on disk, under `<tenant>/firehose/`:
//!
//! - `streams.json`: every delivery stream's definition ([`StreamDef`]), replaced whole on
//!   each change (temporary file, fsync, rename, fsync of the directory);
//! - `<incarnation>/records/`: the stream's intake, a `rheo-log` segmented log: one frame per
//!   record put (key: a counter from 1, timestamp: its arrival in milliseconds, data: its
//!   bytes), trimmed below the checkpoint;
//! - `<incarnation>/checkpoint.json` ([`Checkpoint`]): the key of the next record to deliver,
//!   and the object being delivered, if any: its records (`from..=to`) and object keys are
//!   saved before it is written, so a retry after a crash writes the same keys (and a
//!   conditional create finds an object already written).

use rheo_log::Disk;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = "streams.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamDef {
    pub name: String,
    /// Never reused: names the stream's data directory.
    pub incarnation: u64,
    pub kind: String,
    pub create_ms: i64,
    pub update_ms: i64,
    pub version: u64,
    /// The ExtendedS3 destination as given and updated.
    pub destination: crate::spec::Spec,
    pub tags: BTreeMap<String, String>,
    /// Server-side encryption: the key type and ARN, when started.
    pub encryption: Option<(String, Option<String>)>,
    #[serde(default)]
    pub direct_put: Option<serde_json::Value>,
    /// A Kinesis stream source: its ARN, the role given, and when reading started.
    #[serde(default)]
    pub source: Option<KinesisSource>,
    /// A Kinesis channel this stream runs.
    #[serde(default)]
    pub channel: Option<crate::channel::ChannelDef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KinesisSource {
    pub stream_arn: String,
    pub role_arn: String,
    pub start_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CatalogFile {
    pub next_incarnation: u64,
    pub streams: BTreeMap<String, StreamDef>,
}

impl CatalogFile {
    pub fn load(disk: &dyn Disk, dir: &Path) -> std::io::Result<CatalogFile> {
        match rheo_log::disk::read_all(disk, &dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CatalogFile {
                next_incarnation: 1,
                streams: BTreeMap::new(),
            }),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn Disk, dir: &Path) -> std::io::Result<()> {
        disk.create_dir_all(dir)?;
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(FILE), &bytes)
    }
}

/// An object being delivered: its records and keys, decided before it is written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pending {
    pub from: u64,
    pub to: u64,
    /// The arrival time of its oldest record, which names it.
    pub oldest_ms: i64,
    pub key: String,
    /// Where its failed records go, if any fail.
    pub error_key: String,
    /// Its id (the last part of its name, and its ZIP entry's name).
    #[serde(default)]
    pub id: String,
    /// The destination it was planned under: a retry writes it there, the same way.
    #[serde(default)]
    pub spec: Option<crate::spec::Spec>,
    /// `<stream>-<version>-<time>-<id>`: what follows each object's prefix.
    #[serde(default)]
    pub suffix: String,
    /// Where records format conversion failed on go (`format-conversion-failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_error_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Checkpoint {
    pub next: u64,
    pub pending: Option<Pending>,
}

impl Checkpoint {
    pub fn load(disk: &dyn Disk, dir: &Path) -> std::io::Result<Checkpoint> {
        match rheo_log::disk::read_all(disk, &dir.join("checkpoint.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint { next: 1, pending: None }),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn Disk, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join("checkpoint.json"), &bytes)
    }
}
