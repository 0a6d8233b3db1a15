//! On-demand scaling: observed write rates and the decision to reshard. Pure: time and rates
//! are arguments.
//!
//! AWS documents two behaviours of on-demand streams, and [`decide`] reproduces both:
//! - capacity follows the peak: a stream accommodates up to double the peak write throughput it
//!   has seen (at least 4 MiB/s and 4,000 records/s, or its warm throughput when set), so when
//!   the open shards' capacity (1 MiB/s and 1,000 records/s each) falls short of that, the
//!   stream scales uniformly towards it (at most doubling in one step, as UpdateShardCount does);
//! - a hot shard is split: a shard whose writes stayed above its capacity for
//!   [`SUSTAIN_SECONDS`] whole seconds is split at the middle of its hash key range.

use crate::reshard::Reshard;
use rheo_types::{HashKeyRange, ShardId};

/// Seconds of history a [`RateWindow`] keeps.
const SLOTS: usize = 8;
/// How long a shard's writes must stay above its capacity before it is split.
pub const SUSTAIN_SECONDS: usize = 3;
pub const SHARD_WRITE_BYTES: u64 = 1024 * 1024;
pub const SHARD_WRITE_RECORDS: u64 = 1000;
/// Capacity of a new on-demand stream, in shards (4 MiB/s, 4,000 records/s).
pub const MIN_ON_DEMAND_SHARDS: u32 = rheo_types::limits::ON_DEMAND_INITIAL_SHARDS;

/// Bytes and records written in each of the last few whole seconds.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    /// `(second, bytes, records)`, indexed by second modulo [`SLOTS`].
    slots: [(i64, u64, u64); SLOTS],
}

/// Writes of one second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    pub bytes: u64,
    pub records: u64,
}

impl Rate {
    fn over_shard_capacity(self) -> bool {
        self.bytes > SHARD_WRITE_BYTES || self.records > SHARD_WRITE_RECORDS
    }
    /// Shards needed to carry this rate.
    fn shards(self) -> u64 {
        self.bytes
            .div_ceil(SHARD_WRITE_BYTES)
            .max(self.records.div_ceil(SHARD_WRITE_RECORDS))
    }
}

impl RateWindow {
    pub fn record(&mut self, now_ms: i64, bytes: u64, records: u64) {
        let second = now_ms.div_euclid(1000);
        let slot = &mut self.slots[second.rem_euclid(SLOTS as i64) as usize];
        if slot.0 != second {
            *slot = (second, 0, 0);
        }
        slot.1 += bytes;
        slot.2 += records;
    }

    /// The writes of the `n` whole seconds before the current one, newest first.
    pub fn last_seconds(&self, now_ms: i64, n: usize) -> impl Iterator<Item = Rate> + '_ {
        let current = now_ms.div_euclid(1000);
        (1..=n.min(SLOTS - 1) as i64).map(move |back| {
            let second = current - back;
            match self.slots[second.rem_euclid(SLOTS as i64) as usize] {
                (s, bytes, records) if s == second => Rate { bytes, records },
                _ => Rate::default(),
            }
        })
    }
}

/// One open shard as the scaler sees it.
#[derive(Debug, Clone)]
pub struct ShardLoad {
    pub id: ShardId,
    pub range: HashKeyRange,
    /// The last whole seconds, newest first.
    pub recent: Vec<Rate>,
}

/// The scaler's view of an on-demand stream.
#[derive(Debug, Clone)]
pub struct StreamLoad {
    pub open: Vec<ShardLoad>,
    /// The highest write rate of the stream in one second so far.
    pub peak: Rate,
    pub warm_throughput_mibps: Option<u32>,
}

/// The stream's highest rate in one whole second, from its shards' windows.
pub fn stream_rate(shards: &[ShardLoad]) -> Rate {
    let mut total = Rate::default();
    for s in shards {
        if let Some(r) = s.recent.first() {
            total.bytes += r.bytes;
            total.records += r.records;
        }
    }
    total
}

/// The reshard an on-demand stream needs now, if any.
pub fn decide(load: &StreamLoad) -> Option<Reshard> {
    let open = load.open.len() as u64;
    if open == 0 {
        return None;
    }
    let doubled = Rate {
        bytes: load.peak.bytes * 2,
        records: load.peak.records * 2,
    };
    let warm = u64::from(load.warm_throughput_mibps.unwrap_or(0));
    let wanted = doubled.shards().max(warm).max(u64::from(MIN_ON_DEMAND_SHARDS));
    if wanted > open {
        let target = wanted
            .min(open * 2)
            .min(u64::from(rheo_types::limits::MAX_SHARDS_PER_STREAM));
        if target > open {
            return Some(Reshard::Uniform { target: target as u32 });
        }
    }
    let hot = load
        .open
        .iter()
        .filter(|s| {
            s.recent.len() >= SUSTAIN_SECONDS
                && s.recent[..SUSTAIN_SECONDS].iter().all(|r| r.over_shard_capacity())
                && s.range.end - s.range.start >= 4
        })
        .max_by_key(|s| s.recent[..SUSTAIN_SECONDS].iter().map(|r| r.bytes).sum::<u64>())?;
    let new_start = hot.range.start + (hot.range.end - hot.range.start) / 2 + 1;
    Some(Reshard::Split {
        shard: hot.id,
        new_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn shard(id: u32, range: (u128, u128), recent: &[(u64, u64)]) -> ShardLoad {
        ShardLoad {
            id: ShardId(id),
            range: HashKeyRange {
                start: range.0,
                end: range.1,
            },
            recent: recent.iter().map(|&(bytes, records)| Rate { bytes, records }).collect(),
        }
    }

    fn four_quiet() -> Vec<ShardLoad> {
        let q = u128::MAX / 4;
        (0..4u32)
            .map(|i| {
                let end = if i == 3 { u128::MAX } else { q * (i as u128 + 1) - 1 };
                shard(i, (q * i as u128, end), &[(0, 0); SUSTAIN_SECONDS])
            })
            .collect()
    }

    #[test]
    fn the_window_keeps_whole_seconds_and_forgets_old_ones() {
        let mut w = RateWindow::default();
        w.record(1_000, 10, 1);
        w.record(1_999, 5, 1);
        w.record(2_500, 7, 1);
        w.record(3_100, 100, 1);
        let rates: Vec<Rate> = w.last_seconds(3_200, 3).collect();
        assert_eq!(
            rates,
            vec![
                Rate { bytes: 7, records: 1 },
                Rate { bytes: 15, records: 2 },
                Rate::default()
            ],
            "newest whole second first; the current second is not whole yet"
        );
        // Nine seconds later the slots are stale and read as zero.
        assert!(w.last_seconds(12_000, 5).all(|r| r == Rate::default()));
        // A slot reused for a new second starts from zero.
        w.record(9_000, 1, 1);
        assert_eq!(w.last_seconds(10_000, 1).next(), Some(Rate { bytes: 1, records: 1 }));
    }

    #[test]
    fn a_quiet_stream_stays_as_it_is() {
        let load = StreamLoad {
            open: four_quiet(),
            peak: Rate::default(),
            warm_throughput_mibps: None,
        };
        assert_eq!(decide(&load), None);
    }

    #[test]
    fn a_shard_hot_for_the_sustain_period_is_split_in_the_middle() {
        let mut open = four_quiet();
        open[2].recent = vec![(2 * MIB, 2000); SUSTAIN_SECONDS]
            .into_iter()
            .map(|(b, r)| Rate { bytes: b, records: r })
            .collect();
        // The peak is within the doubled capacity of four shards, so only the hot shard splits.
        let load = StreamLoad {
            open: open.clone(),
            peak: Rate {
                bytes: 2 * MIB,
                records: 2000,
            },
            warm_throughput_mibps: None,
        };
        let r = open[2].range;
        assert_eq!(
            decide(&load),
            Some(Reshard::Split {
                shard: ShardId(2),
                new_start: r.start + (r.end - r.start) / 2 + 1
            })
        );
        // Hot for fewer seconds than the sustain period: not yet.
        let mut brief = load.clone();
        brief.open[2].recent[SUSTAIN_SECONDS - 1] = Rate::default();
        assert_eq!(decide(&brief), None);
        // Records alone can make a shard hot.
        let mut by_records = load.clone();
        by_records.open[2].recent = vec![
            Rate {
                bytes: 10,
                records: 1500
            };
            SUSTAIN_SECONDS
        ];
        assert!(matches!(
            decide(&by_records),
            Some(Reshard::Split { shard: ShardId(2), .. })
        ));
    }

    #[test]
    fn capacity_follows_double_the_peak() {
        let load = StreamLoad {
            open: four_quiet(),
            peak: Rate {
                bytes: 3 * MIB,
                records: 10,
            },
            warm_throughput_mibps: None,
        };
        assert_eq!(decide(&load), Some(Reshard::Uniform { target: 6 }));
        // At most doubling in one step.
        let big = StreamLoad {
            peak: Rate {
                bytes: 50 * MIB,
                records: 0,
            },
            ..load.clone()
        };
        assert_eq!(decide(&big), Some(Reshard::Uniform { target: 8 }));
        // Records count too.
        let many = StreamLoad {
            peak: Rate {
                bytes: 0,
                records: 2600,
            },
            ..load.clone()
        };
        assert_eq!(decide(&many), Some(Reshard::Uniform { target: 6 }));
        // Warm throughput raises the floor.
        let warm = StreamLoad {
            peak: Rate::default(),
            warm_throughput_mibps: Some(5),
            ..load
        };
        assert_eq!(decide(&warm), Some(Reshard::Uniform { target: 5 }));
    }

    #[test]
    fn the_stream_rate_sums_the_last_whole_second_of_every_shard() {
        let open = vec![
            shard(0, (0, 10), &[(5, 1), (100, 100)]),
            shard(1, (11, 20), &[(7, 2)]),
            shard(2, (21, 30), &[]),
        ];
        assert_eq!(stream_rate(&open), Rate { bytes: 12, records: 3 });
    }
}
