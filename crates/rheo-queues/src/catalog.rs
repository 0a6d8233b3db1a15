//! The queues' catalog: each queue's definition (name, incarnation id, attributes, tags), the
//! names deleted in the last minute, the message move tasks (the last 10 of each source,
//! with their progress as of the last tick that moved messages), and the token key, in one
//! JSON file
//! (`<data>/sqs/catalog.json`) replaced whole on every change: written to a temporary file,
//! fsynced, renamed over the old one, and the directory fsynced.

use crate::attributes::Attributes;
use crate::moves::MoveTask;
use rheo_log::Disk;
use rheo_types::mac::MacKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueDef {
    /// Never reused: records in the journal name queues by it.
    pub id: u64,
    pub name: String,
    pub fifo: bool,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
    /// Set for the queues behind a Kinesis queue (`stream_queue`): never named by SQS's API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogFile {
    pub version: u32,
    pub token_key: MacKey,
    pub next_queue_id: u64,
    pub queues: Vec<QueueDef>,
    /// Names deleted recently, with when: a name cannot be reused for 60 seconds.
    #[serde(default)]
    pub deleted: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub move_tasks: Vec<MoveTask>,
}

pub const FILE: &str = "catalog.json";

impl CatalogFile {
    pub fn new() -> std::io::Result<CatalogFile> {
        Ok(CatalogFile {
            version: 1,
            token_key: MacKey::generate()?,
            next_queue_id: 1,
            queues: Vec::new(),
            deleted: BTreeMap::new(),
            move_tasks: Vec::new(),
        })
    }

    /// The catalog in `dir`, or `None` if there is none yet.
    pub fn load(disk: &dyn Disk, dir: &Path) -> std::io::Result<Option<CatalogFile>> {
        let path = dir.join(FILE);
        match rheo_log::disk::read_all(disk, &path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn Disk, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(FILE), &bytes)
    }
}
