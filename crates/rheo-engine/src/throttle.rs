//! Per-shard throughput limits as token buckets. Pure: time is an argument.
//!
//! With the `aws` profile a shard takes, like an AWS shard, 1 MiB/s and 1,000 records/s of
//! writes and 2 MiB/s and 5 GetRecords calls/s of reads. Each bucket holds one second of its
//! rate, so a shard that was idle absorbs a one-second burst and then runs at the rate.
//!
//! Bytes may go into debt, which is how AWS treats large reads and large records: a read is
//! allowed while the read-byte bucket is not empty and then charged what it returned, so a
//! 10 MiB GetRecords blocks the shard's reads for about the next 5 seconds ("subsequent calls
//! made within the next 5 seconds throw ProvisionedThroughputExceededException"). A write
//! larger than the bucket (a record of up to 10 MiB where the stream allows it) goes through
//! when the bucket is full, and the shard's average stays at its rate.
//!
//! Bytes are counted as AWS counts them: data blob plus partition key.

use serde::{Deserialize, Serialize};

/// Which limits apply: none, or AWS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitsProfile {
    #[default]
    Off,
    Aws,
}

impl LimitsProfile {
    pub fn limits(self) -> Option<ShardLimits> {
        match self {
            LimitsProfile::Off => None,
            LimitsProfile::Aws => Some(ShardLimits::AWS),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LimitsProfile::Off => "off",
            LimitsProfile::Aws => "aws",
        }
    }
}

impl std::str::FromStr for LimitsProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(LimitsProfile::Off),
            "aws" => Ok(LimitsProfile::Aws),
            _ => Err(format!("unknown throughput limits profile {s:?} (expected off or aws)")),
        }
    }
}

/// Rates per shard and second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShardLimits {
    pub write_bytes: f64,
    pub write_records: f64,
    pub read_bytes: f64,
    pub read_calls: f64,
}

const MIB: f64 = 1024.0 * 1024.0;

impl ShardLimits {
    pub const AWS: ShardLimits = ShardLimits {
        write_bytes: MIB,
        write_records: 1000.0,
        read_bytes: 2.0 * MIB,
        read_calls: 5.0,
    };
}

/// Tokens refilled continuously at `rate` per second up to `rate` (one second's worth).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last_ms: i64,
}

impl Bucket {
    fn full(rate: f64, now_ms: i64) -> Bucket {
        Bucket {
            tokens: rate,
            last_ms: now_ms,
        }
    }
    fn refill(&mut self, rate: f64, now_ms: i64) {
        if now_ms > self.last_ms {
            let earned = rate * (now_ms - self.last_ms) as f64 / 1000.0;
            self.tokens = (self.tokens + earned).min(rate);
            self.last_ms = now_ms;
        }
    }
}

/// One shard's buckets.
#[derive(Debug, Clone)]
pub struct ShardThrottle {
    write_bytes: Bucket,
    write_records: Bucket,
    read_bytes: Bucket,
    read_calls: Bucket,
}

impl ShardThrottle {
    /// Full buckets: a new shard can take a one-second burst at once.
    pub fn new(l: &ShardLimits, now_ms: i64) -> ShardThrottle {
        ShardThrottle {
            write_bytes: Bucket::full(l.write_bytes, now_ms),
            write_records: Bucket::full(l.write_records, now_ms),
            read_bytes: Bucket::full(l.read_bytes, now_ms),
            read_calls: Bucket::full(l.read_calls, now_ms),
        }
    }

    /// Whether one record of `bytes` may be written now; if so its cost is taken.
    pub fn admit_write(&mut self, l: &ShardLimits, now_ms: i64, bytes: usize) -> bool {
        self.write_bytes.refill(l.write_bytes, now_ms);
        self.write_records.refill(l.write_records, now_ms);
        let bytes = bytes as f64;
        let fits = self.write_bytes.tokens >= bytes || self.write_bytes.tokens >= l.write_bytes;
        if self.write_records.tokens < 1.0 || !fits {
            return false;
        }
        self.write_records.tokens -= 1.0;
        self.write_bytes.tokens -= bytes;
        true
    }

    /// Whether a GetRecords call may run now; if so one call is taken. Its bytes are charged
    /// afterwards with [`ShardThrottle::charge_read`].
    pub fn admit_read(&mut self, l: &ShardLimits, now_ms: i64) -> bool {
        self.read_bytes.refill(l.read_bytes, now_ms);
        self.read_calls.refill(l.read_calls, now_ms);
        if self.read_calls.tokens < 1.0 || self.read_bytes.tokens <= 0.0 {
            return false;
        }
        self.read_calls.tokens -= 1.0;
        true
    }

    /// Charges what a read returned; the bucket may go into debt.
    pub fn charge_read(&mut self, l: &ShardLimits, now_ms: i64, bytes: usize) {
        self.read_bytes.refill(l.read_bytes, now_ms);
        self.read_bytes.tokens -= bytes as f64;
    }
}

/// An enhanced fan-out consumer's own share of a shard: `read_bytes` per second (2 MiB/s under
/// AWS's limits), apart from the shard's GetRecords budget. Bytes may go into debt as in
/// [`ShardThrottle::charge_read`].
#[derive(Debug, Clone)]
pub struct PushThrottle {
    bytes: Bucket,
}

impl PushThrottle {
    pub fn new(l: &ShardLimits, now_ms: i64) -> PushThrottle {
        PushThrottle {
            bytes: Bucket::full(l.read_bytes, now_ms),
        }
    }

    /// When the next event's records may be read: `now_ms` while the bucket is not in debt,
    /// otherwise the moment the debt is repaid.
    pub fn ready_at(&mut self, l: &ShardLimits, now_ms: i64) -> i64 {
        self.bytes.refill(l.read_bytes, now_ms);
        if self.bytes.tokens >= 0.0 {
            return now_ms;
        }
        now_ms + (-self.bytes.tokens * 1000.0 / l.read_bytes).ceil() as i64
    }

    /// Charges what an event carried.
    pub fn charge(&mut self, l: &ShardLimits, now_ms: i64, bytes: usize) {
        self.bytes.refill(l.read_bytes, now_ms);
        self.bytes.tokens -= bytes as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ShardLimits = ShardLimits::AWS;

    #[test]
    fn writes_take_a_one_second_burst_then_the_rate() {
        let mut t = ShardThrottle::new(&L, 0);
        let admitted = (0..1500).filter(|_| t.admit_write(&L, 0, 10)).count();
        assert_eq!(admitted, 1000, "a full bucket holds one second of records");
        assert!(!t.admit_write(&L, 0, 10));
        // 100 ms later, 100 more records.
        let admitted = (0..500).filter(|_| t.admit_write(&L, 100, 10)).count();
        assert_eq!(admitted, 100);
        // The bucket never holds more than one second.
        let admitted = (0..5000).filter(|_| t.admit_write(&L, 60_000, 10)).count();
        assert_eq!(admitted, 1000);
    }

    #[test]
    fn write_bytes_are_limited_to_one_mib_per_second() {
        let mut t = ShardThrottle::new(&L, 0);
        let kib100 = 100 * 1024;
        let admitted = (0..20).filter(|_| t.admit_write(&L, 0, kib100)).count();
        assert_eq!(admitted, 10, "ten 100 KiB records fill 1 MiB");
        // 24 KiB are left; half a second earns another 512 KiB.
        assert!(!t.admit_write(&L, 500, 537 * 1024));
        assert!(t.admit_write(&L, 500, 536 * 1024));
    }

    #[test]
    fn a_record_larger_than_the_bucket_passes_when_it_is_full_and_leaves_debt() {
        let mut t = ShardThrottle::new(&L, 0);
        let big = 4 * 1024 * 1024;
        assert!(t.admit_write(&L, 0, big));
        assert!(!t.admit_write(&L, 2_999, 1), "3 MiB of debt takes 3 s to repay");
        assert!(t.admit_write(&L, 3_001, 1));
    }

    #[test]
    fn reads_allow_five_calls_per_second() {
        let mut t = ShardThrottle::new(&L, 0);
        let admitted = (0..10).filter(|_| t.admit_read(&L, 0)).count();
        assert_eq!(admitted, 5);
        assert!(!t.admit_read(&L, 199));
        assert!(t.admit_read(&L, 200));
    }

    #[test]
    fn a_ten_mib_read_blocks_reads_for_about_five_seconds() {
        let mut t = ShardThrottle::new(&L, 0);
        // Steady state: the bucket just above empty.
        assert!(t.admit_read(&L, 0));
        t.charge_read(&L, 0, 2 * 1024 * 1024 - 1);
        assert!(t.admit_read(&L, 0));
        t.charge_read(&L, 0, 10 * 1024 * 1024);
        assert!(!t.admit_read(&L, 4_999));
        assert!(t.admit_read(&L, 5_001));
    }

    #[test]
    fn a_consumer_gets_two_mib_per_second_of_its_own() {
        let mut t = PushThrottle::new(&L, 0);
        assert_eq!(t.ready_at(&L, 0), 0);
        t.charge(&L, 0, 3 * 1024 * 1024);
        // 1 MiB of debt at 2 MiB/s: ready after half a second.
        assert_eq!(t.ready_at(&L, 0), 500);
        assert_eq!(t.ready_at(&L, 250), 500);
        assert_eq!(t.ready_at(&L, 500), 500);
    }

    #[test]
    fn profiles_parse_and_name_themselves() {
        for p in [LimitsProfile::Off, LimitsProfile::Aws] {
            assert_eq!(p.as_str().parse::<LimitsProfile>(), Ok(p));
        }
        assert!("fast".parse::<LimitsProfile>().is_err());
        assert_eq!(LimitsProfile::Off.limits(), None);
    }
}
