//! Sequence numbers, in AWS's 56-digit layout.
//!
//! AWS's sequence numbers (version 2) are 47 hexadecimal digits written in decimal, 56 digits.
//! The layout, read from real AWS numbers and from kinesalite (which decodes and mints them):
//!
//! ```text
//! hex digits  1    9          1       16             2     9          8          1
//!             2    EEEEEEEEE  n       CCCCCCCCCCCCCCCC 00  TTTTTTTTT  SSSSSSSS   2
//!             |    |          |       |                |   |          |          version 2
//!             |    |          |       |                |   |          shard index (32 bits)
//!             |    |          |       |                |   record time, epoch seconds
//!             |    |          |       |                always 00
//!             |    |          |       sequence index (63 bits): Rheo's counter
//!             |    |          low nibble of the shard index
//!             |    the shard's creation time, epoch seconds
//!             always 2
//! ```
//!
//! Within a shard numeric order is counter order (the fields above the counter are the shard's
//! own). The record time is derived from the counter, so a number is a pure function of
//! `(counter, shard, shard creation time)`. AWS can therefore tell, as Rheo does, a number of
//! another shard (`It encodes shardId-...`) and of another stream (a different creation time).
//!
//! The counter is a hybrid logical clock: `max(previous + 1, now_ms << 20, ordering + 1)`, so
//! counters grow with time, stay unique per shard, and a later write sorts after an earlier one
//! even across shards (which is what `SequenceNumberForOrdering` asks for).
//!
//! Before version 0.2 Rheo wrote 34-digit numbers, `49` + counter (20 digits) + shard index
//! (12 digits). They still parse, so checkpoints taken then keep working; they carry no creation
//! time (`epoch_s` is [`LEGACY_EPOCH`]), which every check then accepts.

use std::fmt;

/// Bits of the counter below the millisecond timestamp.
pub const COUNTER_TIME_SHIFT: u32 = 20;

/// How far ahead of the clock an ordering hint may point (see
/// [`SequenceNumber::ordering_ceiling`]).
pub const ORDERING_AHEAD_MS: i64 = 24 * 3600 * 1000;

/// The creation time of a number parsed from Rheo's older 34-digit form: unknown.
pub const LEGACY_EPOCH: u64 = u64::MAX;

/// Creation times from here on do not parse (kinesalite: "Date too large").
const MAX_EPOCH_S: u64 = 16_025_175_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SequenceNumber {
    /// Orders records within a shard; doubles as the record's key in the shard log.
    pub counter: u64,
    /// Index of the shard that assigned it.
    pub shard: u32,
    /// The shard's creation time, epoch seconds ([`LEGACY_EPOCH`] when not known).
    pub epoch_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceParseError {
    #[error("not a sequence number")]
    Malformed,
}

impl SequenceNumber {
    /// The first counter a clock reading of `now_ms` allows.
    pub fn counter_at(now_ms: i64) -> u64 {
        (now_ms.max(0) as u64).saturating_mul(1 << COUNTER_TIME_SHIFT)
    }

    /// The largest `SequenceNumberForOrdering` counter accepted at `now_ms`: one a shard could
    /// have minted by a day from now. A hint past it names a record that does not exist; taken
    /// as it is, it would push the shard's counter towards the top of its space, where no later
    /// record could be numbered.
    pub fn ordering_ceiling(now_ms: i64) -> u64 {
        Self::counter_at(now_ms.saturating_add(ORDERING_AHEAD_MS))
    }

    /// The epoch seconds a shard created at `created_ms` puts in its numbers.
    pub fn epoch_of(created_ms: i64) -> u64 {
        created_ms.max(0).div_euclid(1000) as u64
    }

    /// The record time the number carries: its counter's clock, in epoch seconds.
    pub fn record_secs(&self) -> u64 {
        (self.counter >> COUNTER_TIME_SHIFT) / 1000
    }

    /// Whether this number could come from a shard created at `epoch_s`.
    pub fn from_epoch(&self, epoch_s: u64) -> bool {
        self.epoch_s == LEGACY_EPOCH || self.epoch_s == epoch_s
    }

    /// Parses a number in AWS's version-2 layout, or in Rheo's older 34-digit form.
    pub fn parse(s: &str) -> Result<SequenceNumber, SequenceParseError> {
        let b = s.as_bytes();
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return Err(SequenceParseError::Malformed);
        }
        if b.len() == 34 && s.starts_with("49") {
            let counter = s[2..22].parse().map_err(|_| SequenceParseError::Malformed)?;
            let shard = s[22..].parse().map_err(|_| SequenceParseError::Malformed)?;
            return Ok(SequenceNumber {
                counter,
                shard,
                epoch_s: LEGACY_EPOCH,
            });
        }
        let mut n = U192::parse_decimal(b).ok_or(SequenceParseError::Malformed)?;
        let version = n.take(4);
        let shard = n.take(32) as u32;
        let _record_s = n.take(36);
        let _byte1 = n.take(8);
        let counter = n.take(64);
        let _nibble = n.take(4);
        let epoch_s = n.take(36);
        let lead = n.take(64);
        if version != 2 || lead != 2 || n != U192::ZERO || counter > i64::MAX as u64 || epoch_s >= MAX_EPOCH_S {
            return Err(SequenceParseError::Malformed);
        }
        Ok(SequenceNumber {
            counter,
            shard,
            epoch_s,
        })
    }

    /// The shard an older AWS number (versions 0 and 1) names, read as AWS reads it: a number
    /// below 2^124 has 2^124 added; below 2^129 it is version 0, whose low 16 bits are the
    /// shard; a version-1 number ends in hex `1` after a 32-bit shard field (kinesalite's
    /// decoder, which reproduces AWS's recorded answers). `None` for anything else.
    pub fn older_aws_shard(s: &str) -> Option<i32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut n = U192::parse_decimal(s.as_bytes())?;
        let [_, b, c] = n.0;
        if c == 0 && b < 1 << 60 {
            n.0[1] = b | 1 << 60;
        }
        let [a, b, c] = n.0;
        if c < 2 {
            // Version 0: `1`, the creation seconds (36 bits), 8 bits, 64 random bits, the shard.
            let created_s = (b >> 24) & 0xf_ffff_ffff;
            return (created_s < MAX_EPOCH_S).then_some((a & 0xffff) as i32);
        }
        (a & 0xf == 1).then_some(((a >> 4) & 0xffff_ffff) as u32 as i32)
    }

    fn value(&self) -> U192 {
        let mut n = U192::ZERO;
        n.push(2, 4);
        n.push(self.epoch_s.min(MAX_EPOCH_S), 36);
        n.push(u64::from(self.shard & 0xf), 4);
        n.push(self.counter, 64);
        n.push(0, 8);
        n.push(self.record_secs(), 36);
        n.push(u64::from(self.shard), 32);
        n.push(2, 4);
        n
    }

    /// Appends the decimal form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.value().write_decimal(out);
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(57);
        self.write_to(&mut out);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// A 192-bit unsigned integer, little-endian limbs: just what the layout needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct U192([u64; 3]);

impl U192 {
    const ZERO: U192 = U192([0; 3]);

    /// `self = self << bits | v` (`v` below `2^bits`, `bits` at most 64).
    fn push(&mut self, v: u64, bits: u32) {
        let [a, b, c] = self.0;
        let v = if bits == 64 { v } else { v & ((1u64 << bits) - 1) };
        self.0 = if bits == 64 {
            [v, a, b]
        } else {
            [
                a << bits | v,
                b << bits | a >> (64 - bits),
                c << bits | b >> (64 - bits),
            ]
        };
    }

    /// The low `bits` bits, shifted out.
    fn take(&mut self, bits: u32) -> u64 {
        let [a, b, c] = self.0;
        if bits == 64 {
            self.0 = [b, c, 0];
            return a;
        }
        self.0 = [a >> bits | b << (64 - bits), b >> bits | c << (64 - bits), c >> bits];
        a & ((1u64 << bits) - 1)
    }

    /// Decimal digits to a number; `None` past 192 bits or past 60 digits.
    fn parse_decimal(digits: &[u8]) -> Option<U192> {
        if digits.len() > 60 {
            return None;
        }
        let mut n = [0u64; 3];
        for d in digits {
            let mut carry = u128::from(d - b'0');
            for limb in n.iter_mut() {
                let x = u128::from(*limb) * 10 + carry;
                *limb = x as u64;
                carry = x >> 64;
            }
            if carry != 0 {
                return None;
            }
        }
        Some(U192(n))
    }

    /// Appends the decimal form (no leading zeros; `0` for zero).
    fn write_decimal(&self, out: &mut Vec<u8>) {
        const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19
        let mut n = self.0;
        let mut chunks = [0u64; 4];
        for slot in chunks.iter_mut() {
            let mut rem: u128 = 0;
            for limb in n.iter_mut().rev() {
                let cur = rem << 64 | u128::from(*limb);
                *limb = (cur / u128::from(CHUNK)) as u64;
                rem = cur % u128::from(CHUNK);
            }
            *slot = rem as u64;
        }
        let mut started = false;
        for &chunk in chunks.iter().rev() {
            if started {
                push_digits(out, chunk, 19);
            } else if chunk != 0 {
                let s = chunk.to_string();
                out.extend_from_slice(s.as_bytes());
                started = true;
            }
        }
        if !started {
            out.push(b'0');
        }
    }
}

/// Appends `v` as exactly `width` decimal digits (zero-padded; `v` must fit).
fn push_digits(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_and_orders(
            a in 0u64..=i64::MAX as u64,
            b in 0u64..=i64::MAX as u64,
            s in any::<u32>(),
            e in 0u64..MAX_EPOCH_S,
        ) {
            let x = SequenceNumber { counter: a, shard: s, epoch_s: e };
            let y = SequenceNumber { counter: b, shard: s, epoch_s: e };
            let text = x.to_string();
            prop_assert_eq!(text.len(), 56);
            prop_assert_eq!(SequenceNumber::parse(&text), Ok(x));
            let mut written = Vec::new();
            x.write_to(&mut written);
            prop_assert_eq!(written, text.clone().into_bytes());
            // Same width, so string order is numeric order: counter order within a shard.
            prop_assert_eq!(text.cmp(&y.to_string()), a.cmp(&b));
        }

        #[test]
        fn arbitrary_digits_never_panic(s in "[0-9]{0,70}") {
            let _ = SequenceNumber::parse(&s);
        }
    }

    #[test]
    fn reads_aws_numbers() {
        // The API reference's example: shard 6, created 2018-11-21.
        let n = SequenceNumber::parse("49590338271490256608559692538361571095921575989136588898").unwrap();
        assert_eq!((n.shard, n.epoch_s, n.counter), (6, 0x05bf4e5c2, 0x67648a17));
        // A KCL log's number of shardId-000000000401.
        let n = SequenceNumber::parse("49588160223248606261076875455806734688981848970781268242").unwrap();
        assert_eq!(n.shard, 401);
    }

    #[test]
    fn layout_matches_aws() {
        let n = SequenceNumber {
            counter: 0x67648a17,
            shard: 6,
            epoch_s: 0x05bf4e5c2,
        };
        let hex = format!("{:x}{:016x}{:016x}", n.value().0[2], n.value().0[1], n.value().0[0]);
        let hex = hex.trim_start_matches('0');
        assert_eq!(hex.len(), 47);
        assert!(hex.starts_with("205bf4e5c260000000067648a1700"), "{hex}");
        assert!(hex.ends_with("000000062"), "{hex}");
    }

    #[test]
    fn older_aws_numbers_name_their_shard() {
        // kinesalite's tests against AWS: `5` encodes shardId-000000000005, `0` shard 0.
        assert_eq!(SequenceNumber::older_aws_shard("5"), Some(5));
        assert_eq!(SequenceNumber::older_aws_shard("0"), Some(0));
        assert_eq!(SequenceNumber::older_aws_shard("x"), None);
        // A creation time too far ahead does not parse (recorded: "is invalid").
        assert_eq!(
            SequenceNumber::older_aws_shard("26227199374822427428162556223570313216"),
            None
        );
        // A version-2 number is not an older one.
        let v2 = SequenceNumber {
            counter: 7,
            shard: 3,
            epoch_s: 1,
        }
        .to_string();
        assert_eq!(SequenceNumber::older_aws_shard(&v2), None);
    }

    #[test]
    fn older_rheo_numbers_still_parse() {
        let n = SequenceNumber::parse("4900000000000000000042000000000003").unwrap();
        assert_eq!((n.counter, n.shard, n.epoch_s), (42, 3, LEGACY_EPOCH));
        assert!(n.from_epoch(123));
    }

    #[test]
    fn rejects_foreign_forms() {
        for s in [
            "0",
            "",
            "12a",
            "4999999999999999999999000000000001",
            // Version 3, and a sequence index with its top bit set.
            "49590338271490256608559692538361571095921575989136588899",
            &"9".repeat(61),
        ] {
            assert!(SequenceNumber::parse(s).is_err(), "{s}");
        }
        let mut top = U192::ZERO;
        for (v, bits) in [
            (2, 4),
            (1, 36),
            (0, 4),
            (u64::MAX, 64),
            (0, 8),
            (0, 36),
            (0, 32),
            (2, 4),
        ] {
            top.push(v, bits);
        }
        let mut digits = Vec::new();
        top.write_decimal(&mut digits);
        assert!(SequenceNumber::parse(std::str::from_utf8(&digits).unwrap()).is_err());
    }
}
