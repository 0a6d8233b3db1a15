//! Sequence numbers.
//!
//! AWS sequence numbers are decimal strings of up to 129 digits that clients compare as big
//! integers. Rheo's have a fixed width of 34 digits, so that numeric order equals string order:
//!
//! ```text
//! 49 CCCCCCCCCCCCCCCCCCCC SSSSSSSSSSSS
//! |  |                    shard index, 12 digits
//! |  counter, 20 digits, zero-padded
//! constant prefix "49" (AWS's current sequence numbers start with it too)
//! ```
//!
//! The counter is a hybrid logical clock: `max(previous + 1, now_ms << 20, ordering + 1)`, so
//! counters grow with time, stay unique per shard, and a later write sorts after an earlier one
//! even across shards (which is what `SequenceNumberForOrdering` asks for).

use std::fmt;

/// Bits of the counter below the millisecond timestamp.
pub const COUNTER_TIME_SHIFT: u32 = 20;

/// How far ahead of the clock an ordering hint may point (see
/// [`SequenceNumber::ordering_ceiling`]).
pub const ORDERING_AHEAD_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SequenceNumber {
    /// Orders records within a shard; doubles as the record's key in the shard log.
    pub counter: u64,
    /// Index of the shard that assigned it.
    pub shard: u32,
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

    /// Parses a sequence number that Rheo minted.
    pub fn parse(s: &str) -> Result<SequenceNumber, SequenceParseError> {
        let b = s.as_bytes();
        if b.len() != 34 || !s.starts_with("49") || !b.iter().all(u8::is_ascii_digit) {
            return Err(SequenceParseError::Malformed);
        }
        let counter = s[2..22].parse().map_err(|_| SequenceParseError::Malformed)?;
        let shard = s[22..].parse().map_err(|_| SequenceParseError::Malformed)?;
        Ok(SequenceNumber { counter, shard })
    }
}

impl SequenceNumber {
    /// Appends the 34-digit decimal form to `out` without allocating.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"49");
        push_digits(out, self.counter, 20);
        push_digits(out, u64::from(self.shard), 12);
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

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "49{:020}{:012}", self.counter, self.shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_and_orders(a in any::<u64>(), b in any::<u64>(), s in 0u32..1_000_000) {
            let x = SequenceNumber { counter: a, shard: s };
            let y = SequenceNumber { counter: b, shard: s };
            prop_assert_eq!(SequenceNumber::parse(&x.to_string()), Ok(x));
            let mut written = Vec::new();
            x.write_to(&mut written);
            prop_assert_eq!(written, x.to_string().into_bytes());
            prop_assert_eq!(x.to_string().cmp(&y.to_string()), a.cmp(&b));
        }
    }

    #[test]
    fn rejects_foreign_forms() {
        assert!(SequenceNumber::parse("0").is_err());
        assert!(SequenceNumber::parse("49590338271490256608559692538361571095921575989136588898").is_err());
        assert!(SequenceNumber::parse("4999999999999999999999000000000001").is_err());
    }
}
