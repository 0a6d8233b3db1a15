//! Free space on the data disk against a watermark. Writes are refused while free space is
//! below it, so a write never meets a full disk in the ordinary course (ENOSPC is still
//! handled by the log: the failed batch is cut off and the shard heals once space is freed).
//! The filesystem is asked at most every [`CHECK_MS`]; puts read a flag.

use rheo_log::Disk;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Least time between two looks at the filesystem.
pub const CHECK_MS: i64 = 100;

pub(crate) struct Space {
    min_free: u64,
    free: AtomicU64,
    low: AtomicBool,
    checked_ms: AtomicI64,
}

impl Space {
    pub(crate) fn new(min_free: u64) -> Space {
        Space {
            min_free,
            free: AtomicU64::new(u64::MAX),
            low: AtomicBool::new(false),
            checked_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Looks at the filesystem again if the last look is older than [`CHECK_MS`].
    pub(crate) fn refresh(&self, disk: &dyn Disk, dir: &Path, now_ms: i64) {
        let last = self.checked_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < CHECK_MS && now_ms >= last {
            return;
        }
        if self
            .checked_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let free = match disk.free_bytes(dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "reading the free space failed");
                return;
            }
        };
        self.free.store(free, Ordering::Relaxed);
        let low = free < self.min_free;
        if self.low.swap(low, Ordering::Relaxed) != low {
            if low {
                tracing::error!(free, min_free = self.min_free, dir = %dir.display(), "the data disk is nearly full: refusing writes until space is freed");
            } else {
                tracing::warn!(free, dir = %dir.display(), "the data disk has room again: writes resume");
            }
        }
    }

    pub(crate) fn is_low(&self) -> bool {
        self.low.load(Ordering::Relaxed)
    }

    pub(crate) fn free_bytes(&self) -> u64 {
        self.free.load(Ordering::Relaxed)
    }

    /// The refusal a write gets while the disk is low.
    pub(crate) fn refusal(&self) -> String {
        format!(
            "Rate exceeded: the server's data disk has {} bytes free, below the {} it keeps in reserve (min-free-bytes). Writes resume when space is freed.",
            self.free_bytes(),
            self.min_free
        )
    }
}
