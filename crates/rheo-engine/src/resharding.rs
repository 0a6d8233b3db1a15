//! SplitShard, MergeShards and UpdateShardCount on a running stream.
//!
//! A request is checked against the shard map and stored as `Updating { ready_ms, op }`; the
//! stream serves reads and writes as before. Once `ready_ms` has passed (a timer, or the
//! background tick after a restart), the reshard is applied:
//!
//! 1. The writers of the shards that close are told to stop. Each writes everything queued
//!    before, hands back its log writer and last position, and from then on answers appends
//!    with `Closed`, handing the records back; the put path routes them again on the new map.
//! 2. The closing counter is chosen above every record of those shards; the new map is
//!    computed by [`reshard::apply`] and the children's logs are opened.
//! 3. One catalog save replaces map and status together (a crash before it leaves the old map
//!    and the reshard pending; after it, the new map). Then the new runtime is installed.
//!
//! If the save fails, the closed shards' writers are restarted and the reshard stays pending.

use crate::catalog::{StoredStatus, StreamMeta, StreamMode};
use crate::reshard::{self, Reshard, ReshardError};
use crate::runtime::{ShardRuntime, runtime_for};
use crate::writer::{self, Command};
use crate::{Engine, Error};
use rheo_types::limits::MAX_SHARDS_PER_STREAM;
use rheo_types::{SequenceNumber, StreamName};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

impl Engine {
    /// Accepts a reshard asked for by a client: checks it, marks the stream UPDATING and
    /// schedules it. Returns the number of open shards before it. On-demand streams scale
    /// themselves and refuse it.
    pub async fn reshard(&self, name: &StreamName, op: Reshard) -> Result<u32, Error> {
        self.begin_reshard(name, op, false)
    }

    /// Accepts a reshard; `by_scaler` is the on-demand scaler's own.
    pub(crate) fn begin_reshard(&self, name: &StreamName, op: Reshard, by_scaler: bool) -> Result<u32, Error> {
        let delay = self.inner.config.transition_delay_ms;
        let account = self.inner.config.account.clone();
        let region = self.inner.config.region.clone();
        let limit = self.inner.config.shard_limit;
        let open_before = self.update_meta(name, |meta, c| {
            if meta.mode == StreamMode::OnDemand && !by_scaler {
                return Err(Error::Validation(format!(
                    "Request is invalid. Stream {name} under account {account} is in On-Demand mode."
                )));
            }
            crate::control::require_active(meta, c.now)?;
            let open = meta.open_shard_count();
            reshard::check(&meta.shards, &op).map_err(|e| reshard_error(e, name, &account))?;
            let added = match op {
                Reshard::Split { .. } => 1,
                Reshard::Merge { .. } => 0,
                Reshard::Uniform { target } => {
                    if target > MAX_SHARDS_PER_STREAM && target > open {
                        return Err(Error::LimitExceeded(format!(
                            "UpdateShardCount cannot scale stream {name} under account {account} above {MAX_SHARDS_PER_STREAM} shards."
                        )));
                    }
                    target.saturating_sub(open)
                }
            };
            let total_open = c.open_shards;
            if added > 0 && u64::from(total_open) + u64::from(added) > u64::from(limit) {
                return Err(Error::LimitExceeded(format!(
                    "This request would exceed the shard limit for the account {account} in {region}. Current shard count for the account: {total_open}. Limit: {limit}. Number of additional shards that would have resulted from this request: {added}. Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits."
                )));
            }
            meta.status = StoredStatus::Updating {
                ready_ms: c.now + delay,
                op,
            };
            Ok(open)
        })?;
        let (engine, name) = (self.clone(), name.clone());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay.max(0) as u64)).await;
            if let Err(e) = engine.apply_reshard(&name).await {
                tracing::warn!(stream = %name, error = %e, "applying a reshard failed; it stays pending");
            }
        });
        Ok(open_before)
    }

    /// Applies the stream's pending reshard if it is due; does nothing otherwise.
    pub(crate) async fn apply_reshard(&self, name: &StreamName) -> Result<(), Error> {
        let _one_at_a_time = self.inner.reshard_lock.lock().await;
        let now = self.now();
        let (op, closing, rt) = {
            // The published view: the state lock is taken only for the switch below.
            let Some(p) = self.inner.published(name, now) else {
                return Ok(());
            };
            let meta = &p.meta;
            let StoredStatus::Updating { ready_ms, op } = &meta.status else {
                return Ok(());
            };
            let Some(rt) = p.runtime.clone() else {
                return Ok(());
            };
            if now < *ready_ms {
                return Ok(());
            }
            (op.clone(), reshard::closing(&meta.shards, op), rt)
        };
        // 1. Stop the closing shards' writers; collect their logs and last positions.
        let mut close = SequenceNumber::counter_at(now);
        let mut stopped = Vec::new();
        for &id in &closing {
            let Some(shard) = rt.shard(id) else { continue };
            if let Some(last) = shard.reader.tail().last_key {
                close = close.max(last.saturating_add(1));
            }
            let Some(tx) = &shard.tx else { continue };
            let (reply, rx) = oneshot::channel();
            let _ = tx.send(Command::Close(reply)).await;
            if let Ok((last, log)) = rx.await {
                if let Some(last) = last {
                    close = close.max(last.counter.saturating_add(1));
                }
                stopped.push((id, log));
            }
        }
        crate::runtime::off_worker(|| {
            // 2. The new map, and the children's logs.
            let mut st = self.inner.lock();
            let now = self.now().max(now);
            let Some(meta) = st.catalog.get_live(name, now).cloned() else {
                return Ok(());
            };
            if !matches!(meta.status, StoredStatus::Updating { .. }) || meta.incarnation != rt.incarnation {
                // Deleted (or re-created) meanwhile: its writers go with its old runtime.
                return Ok(());
            }
            let mut next: StreamMeta = meta.clone();
            for id in &closing {
                close = close.max(next.shards[id.0 as usize].starting_counter);
            }
            let old_len = next.shards.len();
            reshard::apply(&mut next.shards, &op, now, close);
            next.status = StoredStatus::Active;
            let mut shards: Vec<Option<ShardRuntime>> = rt.shards.clone();
            let opened: Result<Vec<ShardRuntime>, Error> = next.shards[old_len..]
                .iter()
                .map(|s| self.inner.open_shard(&next, s))
                .collect();
            // 3. One save switches map and status.
            let saved = opened.and_then(|children| {
                st.catalog.streams.insert(name.clone(), next.clone());
                match self.inner.save(&st) {
                    Ok(()) => Ok(children),
                    Err(e) => {
                        st.catalog.streams.insert(name.clone(), meta.clone());
                        Err(e)
                    }
                }
            });
            match saved {
                Ok(children) => {
                    for &id in &closing {
                        if let Some(Some(s)) = shards.get_mut(id.0 as usize) {
                            s.tx = None;
                            s.children = Some(Arc::new(crate::runtime::children_of(&next, id)));
                        }
                    }
                    shards.extend(children.into_iter().map(Some));
                    let closed: Vec<_> = closing
                        .iter()
                        .filter_map(|id| shards.get(id.0 as usize)?.as_ref().map(|s| s.commits.clone()))
                        .collect();
                    st.runtimes
                        .insert(next.incarnation, Arc::new(runtime_for(&next, shards)));
                    // Subscribers of the closed shards find their children in the new runtime.
                    for commits in closed {
                        commits.send_replace(());
                    }
                    tracing::info!(stream = %name, ?op, "reshard applied");
                    Ok(())
                }
                Err(e) => {
                    // Put the closed writers back to work on the old map; the reshard stays pending.
                    for (id, log) in stopped {
                        if let Some(Some(s)) = shards.get_mut(id.0 as usize) {
                            let (tx, rx) = mpsc::channel(1024);
                            let signals = writer::Signals {
                                commits: s.commits.clone(),
                                failing: s.failing.clone(),
                            };
                            tokio::spawn(writer::run(log, rx, self.inner.clock.clone(), None, signals));
                            s.tx = Some(tx);
                        }
                    }
                    st.runtimes
                        .insert(meta.incarnation, Arc::new(runtime_for(&meta, shards)));
                    Err(e)
                }
            }
        })
    }

    /// Applies every pending reshard that is due (after a restart, or with a manual clock).
    pub(crate) async fn apply_due_reshards(&self) {
        let now = self.now();
        let due: Vec<StreamName> = {
            let snapshot = self.inner.snapshot();
            snapshot
                .values()
                .map(|p| &p.meta)
                .filter(|m| matches!(m.status, StoredStatus::Updating { ready_ms, .. } if ready_ms <= now))
                .map(|m| m.name.clone())
                .collect()
        };
        for name in due {
            if let Err(e) = self.apply_reshard(&name).await {
                tracing::warn!(stream = %name, error = %e, "applying a reshard failed; it stays pending");
            }
        }
    }
}

fn reshard_error(e: ReshardError, stream: &StreamName, account: &str) -> Error {
    match e {
        ReshardError::ShardNotFound(id) => Error::NotFound(format!(
            "Could not find shard {id} in stream {stream} under account {account}."
        )),
        ReshardError::NotOpen(id) => Error::InvalidArgument(format!(
            "Shard {id} in stream {stream} under account {account} has already been merged or split, and thus is not eligible for merging or splitting."
        )),
        ReshardError::SplitOutOfRange { shard, at, range } => Error::InvalidArgument(format!(
            "NewStartingHashKey {at} used in SplitShard() on shard {shard} in stream {stream} under account {account} is not both greater than one plus the shard's StartingHashKey {} and less than the shard's EndingHashKey {}.",
            range.start, range.end
        )),
        ReshardError::NotAdjacent(a, b) => Error::InvalidArgument(format!(
            "Shards {a} and {b} in stream {stream} under account {account} are not an adjacent pair of shards eligible for merging"
        )),
        ReshardError::TargetOutOfBounds { target, open } => Error::LimitExceeded(format!(
            "UpdateShardCount to {target} shards is not allowed for stream {stream} under account {account}: the target must be between half ({}) and double ({}) the current open shard count of {open}.",
            open.div_ceil(2),
            u64::from(open) * 2
        )),
    }
}
