//! Hash keys: the 128-bit space records are routed in.
//!
//! A partition key maps to a hash key through MD5, read as a big-endian unsigned 128-bit integer.
//! A shard owns an inclusive range of that space.

use md5::{Digest, Md5};
use std::fmt;

/// A point in the hash key space [0, 2^128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashKey(pub u128);

impl HashKey {
    /// Parses AWS's decimal form; rejects anything that is not a decimal below 2^128.
    pub fn parse(s: &str) -> Option<HashKey> {
        if s.is_empty() || s.len() > 39 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u128>().ok().map(HashKey)
    }
}

impl fmt::Display for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An inclusive range of hash keys owned by one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashKeyRange {
    pub start: u128,
    pub end: u128,
}

impl HashKeyRange {
    pub fn contains(&self, key: HashKey) -> bool {
        self.start <= key.0 && key.0 <= self.end
    }
}

/// MD5 of the partition key's UTF-8 bytes as a big-endian 128-bit integer.
pub fn hash_key_for_partition_key(partition_key: &str) -> HashKey {
    let digest = Md5::digest(partition_key.as_bytes());
    HashKey(u128::from_be_bytes(digest.into()))
}

/// Splits [0, 2^128) into `n` contiguous ranges as even as AWS makes them: each range but the
/// last has size floor(2^128 / n); the last one ends at 2^128 - 1.
pub fn split_evenly(n: u32) -> Vec<HashKeyRange> {
    assert!(n > 0, "a stream has at least one shard");
    if n == 1 {
        return vec![HashKeyRange {
            start: 0,
            end: u128::MAX,
        }];
    }
    let n = u128::from(n);
    // floor(2^128 / n) computed without overflow: (2^128 - 1) / n, plus one if n divides 2^128.
    let step = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    (0..n)
        .map(|i| HashKeyRange {
            start: step * i,
            end: if i + 1 == n { u128::MAX } else { step * (i + 1) - 1 },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_routing_matches_known_vector() {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661.
        assert_eq!(hash_key_for_partition_key("a").0, 0x0cc175b9c0f1b6a831c399e269772661);
    }

    #[test]
    fn even_split_covers_the_space() {
        for n in [1u32, 2, 3, 4, 7, 16, 1000] {
            let ranges = split_evenly(n);
            assert_eq!(ranges.len(), n as usize);
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, u128::MAX);
            for w in ranges.windows(2) {
                assert_eq!(w[0].end + 1, w[1].start);
            }
        }
        // AWS's two-shard split point.
        assert_eq!(split_evenly(2)[1].start, 170141183460469231731687303715884105728);
    }

    #[test]
    fn hash_key_parse_rejects_out_of_range() {
        assert_eq!(HashKey::parse("0"), Some(HashKey(0)));
        assert_eq!(HashKey::parse(&u128::MAX.to_string()), Some(HashKey(u128::MAX)));
        assert_eq!(HashKey::parse("340282366920938463463374607431768211456"), None);
        assert_eq!(HashKey::parse("-1"), None);
        assert_eq!(HashKey::parse(""), None);
    }
}
