//! Asynchronous invocations waiting to run, durable: each is a file
//! `<tenant>/lambda/async/<request id>.json` (the function, the payload, when it was queued,
//! the attempts made), written (temporary file, fsync, rename, fsync of the directory) before
//! Invoke answers 202, rewritten after each attempt, and removed once the invocation succeeded
//! or its result went to its destination. At open every file left is queued again, so an
//! acknowledged event is run at least once across crashes.

use rheo_log::Disk;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingEvent {
    pub request_id: String,
    pub function: String,
    /// The payload (JSON text).
    pub payload: String,
    pub queued_ms: i64,
    pub attempts: u32,
}

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("async")
}

fn path(data_dir: &Path, request_id: &str) -> PathBuf {
    dir(data_dir).join(format!("{request_id}.json"))
}

/// Saves (or replaces) a pending event durably.
pub fn save(disk: &dyn Disk, data_dir: &Path, e: &PendingEvent) -> std::io::Result<()> {
    disk.create_dir_all(&dir(data_dir))?;
    let bytes = serde_json::to_vec(e).map_err(std::io::Error::other)?;
    rheo_log::disk::replace_file(disk, &path(data_dir, &e.request_id), &bytes)
}

/// Removes a finished event.
pub fn remove(disk: &dyn Disk, data_dir: &Path, request_id: &str) -> std::io::Result<()> {
    disk.remove_file(&path(data_dir, request_id))?;
    disk.sync_dir(&dir(data_dir))
}

/// Every pending event left (unreadable files are reported and left in place).
pub fn load_all(disk: &dyn Disk, data_dir: &Path) -> Vec<PendingEvent> {
    let Ok(files) = disk.list(&dir(data_dir)) else {
        return Vec::new();
    };
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|x| x == "json"))
        .filter_map(|f| match rheo_log::disk::read_all(disk, &f).map(|b| serde_json::from_slice::<PendingEvent>(&b)) {
            Ok(Ok(e)) => Some(e),
            other => {
                tracing::error!(file = %f.display(), error = ?other.err(), "a pending asynchronous invocation cannot be read");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_events_survive_a_power_cut_once_saved() {
        let disk = rheo_log::disk::SimDisk::default();
        let data = Path::new("/lambda");
        disk.create_dir_all(data).unwrap();
        let e = PendingEvent {
            request_id: "r1".into(),
            function: "f".into(),
            payload: "{}".into(),
            queued_ms: 5,
            attempts: 0,
        };
        save(&disk, data, &e).unwrap();
        disk.power_cut(|_, _| 0);
        assert_eq!(load_all(&disk, data), std::slice::from_ref(&e));
        remove(&disk, data, "r1").unwrap();
        disk.power_cut(|_, _| 0);
        assert!(load_all(&disk, data).is_empty());
    }
}
