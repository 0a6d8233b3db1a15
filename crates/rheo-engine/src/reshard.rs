//! Resharding as pure functions of a stream's shard map: checking a SplitShard, MergeShards or
//! UpdateShardCount request, and applying it.
//!
//! A reshard closes parent shards and creates children. Sequence numbers of children must sort
//! after every record of their parents, so the caller picks a closing counter `close` above
//! every record already written to a shard that closes; each closed parent ends at `close`, and
//! each child starts one above the highest end of its parents. UpdateShardCount is carried out
//! as AWS describes it, with splits and merges of individual shards: every open shard is split
//! at each boundary of the target's even ranges that falls inside it, then the pieces inside
//! each target range are merged left to right. The short-lived shards in between are created
//! closed, with no records (their range of sequence numbers is a single counter).

use crate::catalog::ShardMeta;
use rheo_types::{HashKeyRange, ShardId, split_evenly};
use serde::{Deserialize, Serialize};

/// A reshard request, as stored while the stream is UPDATING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reshard {
    Split { shard: ShardId, new_start: u128 },
    Merge { shard: ShardId, adjacent: ShardId },
    Uniform { target: u32 },
}

/// Why a reshard cannot be done; the engine turns each into AWS's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReshardError {
    ShardNotFound(ShardId),
    /// The shard has been split or merged already.
    NotOpen(ShardId),
    /// The new starting hash key is not strictly inside the shard's range.
    SplitOutOfRange {
        shard: ShardId,
        at: u128,
        range: HashKeyRange,
    },
    NotAdjacent(ShardId, ShardId),
    /// UpdateShardCount's target is more than double or less than half the open shards.
    TargetOutOfBounds {
        target: u32,
        open: u32,
    },
}

/// Open shards, by the start of their hash key range.
pub fn open_shards(shards: &[ShardMeta]) -> Vec<&ShardMeta> {
    let mut open: Vec<&ShardMeta> = shards.iter().filter(|s| s.is_open()).collect();
    open.sort_by_key(|s| s.range.start);
    open
}

fn find(shards: &[ShardMeta], id: ShardId) -> Result<&ShardMeta, ReshardError> {
    let s = shards
        .get(id.0 as usize)
        .filter(|s| s.id == id)
        .ok_or(ReshardError::ShardNotFound(id))?;
    if s.is_open() {
        Ok(s)
    } else {
        Err(ReshardError::NotOpen(id))
    }
}

/// Checks a request against the shard map.
pub fn check(shards: &[ShardMeta], op: &Reshard) -> Result<(), ReshardError> {
    match *op {
        Reshard::Split { shard, new_start } => {
            let s = find(shards, shard)?;
            // As AWS words it and enforces it (kinesalite test/splitShard.js against AWS: one
            // plus the start, and the end itself, are refused).
            if new_start <= s.range.start.saturating_add(1) || new_start >= s.range.end {
                return Err(ReshardError::SplitOutOfRange {
                    shard,
                    at: new_start,
                    range: s.range,
                });
            }
            Ok(())
        }
        Reshard::Merge { shard, adjacent } => {
            let (a, b) = (find(shards, shard)?, find(shards, adjacent)?);
            // ShardToMerge's range must come first: AWS refuses the pair the other way round
            // (kinesalite test/mergeShards.js, "adjacency is inverted", against AWS).
            if a.range.end.checked_add(1) != Some(b.range.start) {
                return Err(ReshardError::NotAdjacent(shard, adjacent));
            }
            Ok(())
        }
        Reshard::Uniform { target } => {
            let open = open_shards(shards).len() as u32;
            if target == 0 || u64::from(target) > 2 * u64::from(open) || 2 * u64::from(target) < u64::from(open) {
                return Err(ReshardError::TargetOutOfBounds { target, open });
            }
            Ok(())
        }
    }
}

/// The open shards a reshard closes (before it is applied).
pub fn closing(shards: &[ShardMeta], op: &Reshard) -> Vec<ShardId> {
    let mut trial = shards.to_vec();
    let before: Vec<ShardId> = open_shards(shards).iter().map(|s| s.id).collect();
    apply(&mut trial, op, 0, 0);
    before
        .into_iter()
        .filter(|id| !trial[id.0 as usize].is_open())
        .collect()
}

/// Applies a checked reshard at `now_ms`: parents close at counter `close`, which must exceed
/// every record in them. Returns the shards it created that stay open.
pub fn apply(shards: &mut Vec<ShardMeta>, op: &Reshard, now_ms: i64, close: u64) -> Vec<ShardId> {
    let mut m = Map {
        shards,
        now_ms,
        close,
        first_new: None,
    };
    match *op {
        Reshard::Split { shard, new_start } => {
            m.split(shard, new_start);
        }
        Reshard::Merge { shard, adjacent } => {
            m.merge(shard, adjacent);
        }
        Reshard::Uniform { target } => {
            let bounds: Vec<u128> = split_evenly(target).iter().skip(1).map(|r| r.start).collect();
            for id in open_shards(m.shards).iter().map(|s| s.id).collect::<Vec<_>>() {
                let mut cur = id;
                for &b in &bounds {
                    let r = m.shards[cur.0 as usize].range;
                    if r.start < b && b <= r.end {
                        cur = m.split(cur, b).1;
                    }
                }
            }
            for t in split_evenly(target) {
                let inside: Vec<ShardId> = open_shards(m.shards)
                    .iter()
                    .filter(|s| t.start <= s.range.start && s.range.end <= t.end)
                    .map(|s| s.id)
                    .collect();
                if let Some((&first, rest)) = inside.split_first() {
                    rest.iter().fold(first, |acc, &next| m.merge(acc, next));
                }
            }
        }
    }
    let first_new = m.first_new.unwrap_or(shards.len() as u32);
    shards
        .iter()
        .filter(|s| s.id.0 >= first_new && s.is_open())
        .map(|s| s.id)
        .collect()
}

struct Map<'a> {
    shards: &'a mut Vec<ShardMeta>,
    now_ms: i64,
    close: u64,
    first_new: Option<u32>,
}

impl Map<'_> {
    /// Closes a shard: one that existed before this reshard ends at the closing counter, one
    /// created by it (short-lived) ends where it starts.
    fn close(&mut self, id: ShardId) -> u64 {
        let created_here = self.first_new.is_some_and(|f| id.0 >= f);
        let s = &mut self.shards[id.0 as usize];
        let end = if created_here { s.starting_counter } else { self.close };
        s.ending_counter = Some(end);
        s.closed_ms = Some(self.now_ms);
        end
    }

    fn create(&mut self, range: HashKeyRange, parent: ShardId, adjacent: Option<ShardId>, after: u64) -> ShardId {
        let id = ShardId(self.shards.len() as u32);
        self.first_new.get_or_insert(id.0);
        // A child's creation second is after its parents' (AWS's children start a second after
        // their parents end): sequence numbers lead with it, so every child's numbers are
        // greater than its parents'.
        let after_parent = |p: ShardId| (self.shards[p.0 as usize].created_ms.div_euclid(1000) + 1) * 1000;
        let created_ms = adjacent
            .into_iter()
            .chain([parent])
            .map(after_parent)
            .fold(self.now_ms, i64::max);
        self.shards.push(ShardMeta {
            id,
            range,
            starting_counter: after.saturating_add(1),
            ending_counter: None,
            parent: Some(parent),
            adjacent_parent: adjacent,
            created_ms,
            closed_ms: None,
        });
        id
    }

    fn split(&mut self, id: ShardId, at: u128) -> (ShardId, ShardId) {
        let range = self.shards[id.0 as usize].range;
        let end = self.close(id);
        let low = HashKeyRange {
            start: range.start,
            end: at - 1,
        };
        let high = HashKeyRange {
            start: at,
            end: range.end,
        };
        (self.create(low, id, None, end), self.create(high, id, None, end))
    }

    fn merge(&mut self, id: ShardId, adjacent: ShardId) -> ShardId {
        let (a, b) = (self.shards[id.0 as usize].range, self.shards[adjacent.0 as usize].range);
        let end = self.close(id).max(self.close(adjacent));
        let range = HashKeyRange {
            start: a.start.min(b.start),
            end: a.end.max(b.end),
        };
        self.create(range, id, Some(adjacent), end)
    }
}

/// The shards of a new stream: `n` shards splitting the hash space evenly, starting at `now_ms`.
pub fn initial(n: u32, now_ms: i64) -> Vec<ShardMeta> {
    split_evenly(n)
        .into_iter()
        .enumerate()
        .map(|(i, range)| ShardMeta {
            id: ShardId(i as u32),
            range,
            starting_counter: rheo_types::SequenceNumber::counter_at(now_ms),
            ending_counter: None,
            parent: None,
            adjacent_parent: None,
            created_ms: now_ms,
            closed_ms: None,
        })
        .collect()
}
