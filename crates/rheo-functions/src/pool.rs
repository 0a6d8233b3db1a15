//! A function's execution environments: processes started on demand, one invocation each at
//! a time, reused while warm and stopped when idle, at most `limit` at once. A pool belongs to
//! one revision of its function: an update replaces the pool, and the old one's processes stop
//! when their invocations end.

use crate::instance::{Failure, Instance, Spawn};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a process may take to start and poll for its first invocation (Lambda's init
/// phase limit).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Pool {
    pub revision: String,
    idle: Mutex<Vec<(Arc<Instance>, Instant)>>,
    permits: Arc<Semaphore>,
    /// Reserved concurrency: past it, invocations are throttled rather than queued.
    pub reserved: Option<u32>,
}

/// An environment taken for one invocation; given back with [`Pool::give_back`].
pub struct Lease {
    pub instance: Arc<Instance>,
    /// Whether it was started for this invocation (a cold start), and how long that took.
    pub init: Option<Duration>,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    pub fn new(revision: String, limit: usize, reserved: Option<u32>) -> Pool {
        let limit = reserved.map_or(limit, |r| r as usize);
        Pool {
            revision,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(limit)),
            reserved,
        }
    }

    /// A free environment: a warm one, or a new process from `spawn`. With reserved
    /// concurrency in use up to its limit, `None` (the caller throttles); otherwise waits.
    pub async fn take(&self, spawn: impl FnOnce() -> Spawn) -> Option<Result<Lease, Failure>> {
        let permit = if self.reserved.is_some() {
            self.permits.clone().try_acquire_owned().ok()?
        } else {
            self.permits.clone().acquire_owned().await.ok()?
        };
        let warm = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|(i, _)| i.alive());
            idle.pop().map(|(i, _)| i)
        };
        if let Some(instance) = warm {
            return Some(Ok(Lease {
                instance,
                init: None,
                _permit: permit,
            }));
        }
        let started = Instant::now();
        Some(Instance::start(spawn(), INIT_TIMEOUT).await.map(|i| Lease {
            instance: Arc::new(i),
            init: Some(started.elapsed()),
            _permit: permit,
        }))
    }

    /// Returns an environment after its invocation, if its process still runs.
    pub fn give_back(&self, lease: Lease) {
        if lease.instance.alive() {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((lease.instance, Instant::now()));
        }
    }

    /// Stops the environments idle for longer than `idle`.
    pub fn reap(&self, idle: Duration) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(i, since)| i.alive() && since.elapsed() < idle);
    }

    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
