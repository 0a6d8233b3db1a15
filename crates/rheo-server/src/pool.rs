//! A small pool of the large buffers GetRecords encodes its responses into.
//!
//! Handing a 1.5 MiB buffer back to the allocator after every piece and asking for a new one
//! costs page faults and zeroing whenever glibc serves it with `mmap` or trims its heap, which
//! depends on what the process did before: a drain after heavy writes measured a third slower
//! than in a fresh process, and half as fast with `mmap` forced. Buffers return here when the
//! `Bytes` made from them is dropped (after hyper has written it), so a steady drain reuses the
//! same few buffers. At most [`KEEP`] are kept.

use bytes::Bytes;
use std::sync::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

/// KiB of response pieces that may wait to be written across the whole process: a reader that
/// stops reading holds its pieces (at most the two queued and the one being written) until its
/// connection's stall timeout, and past this budget further pieces wait for room instead of
/// growing memory.
pub const READ_BUDGET_KIB: usize = 256 * 1024;
static READ_BUDGET: Semaphore = Semaphore::const_new(READ_BUDGET_KIB);

/// Bytes of response pieces made and not yet written (dropped by the connection).
pub fn read_bytes_in_flight() -> usize {
    READ_BUDGET_KIB
        .saturating_sub(READ_BUDGET.available_permits())
        .saturating_mul(1024)
}

/// Capacity of a pooled buffer: a piece plus room for the record that overflows it.
pub const BUFFER_BYTES: usize = 1536 * 1024;
/// Buffers kept for reuse; more than this in use at once are allocated and freed as usual.
const KEEP: usize = 16;

static FREE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer with capacity [`BUFFER_BYTES`].
pub fn take() -> Vec<u8> {
    let reused = FREE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    reused.unwrap_or_else(|| Vec::with_capacity(BUFFER_BYTES))
}

/// Freezes a buffer from [`take`] into `Bytes` that give it back to the pool when dropped,
/// charged to the read budget (waiting for room; call from a blocking thread).
pub fn freeze(buf: Vec<u8>) -> Bytes {
    let kib = u32::try_from(buf.len() / 1024).unwrap_or(u32::MAX).max(1);
    let permit = tokio::runtime::Handle::try_current()
        .ok()
        .and_then(|h| h.block_on(READ_BUDGET.acquire_many(kib)).ok());
    Bytes::from_owner(Pooled(buf, permit))
}

struct Pooled(Vec<u8>, Option<SemaphorePermit<'static>>);

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.1.take();
        let mut buf = std::mem::take(&mut self.0);
        // A buffer that grew for a very large record goes back to the allocator.
        if buf.capacity() != BUFFER_BYTES {
            return;
        }
        buf.clear();
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < KEEP {
            free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_when_their_bytes_are_dropped() {
        let mut buf = take();
        buf.extend_from_slice(b"piece");
        let ptr = buf.as_ptr();
        let bytes = freeze(buf);
        let copy = bytes.clone();
        drop(bytes);
        assert_eq!(&copy[..], b"piece");
        drop(copy);
        // Other tests may take buffers concurrently; ours is among the free ones.
        let free = FREE.lock().unwrap();
        assert!(free.iter().any(|b| b.as_ptr() == ptr && b.is_empty()));
    }
}
