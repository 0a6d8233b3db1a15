//! Shard iterators: opaque tokens naming a stream incarnation, a shard and a position.
//!
//! Layout before base64 (standard alphabet):
//!
//! ```text
//! u8 version (2) | u64 incarnation | u32 shard | u64 position | i64 minted_ms |
//! u8 name_len | name | [u8; 16] tag
//! ```
//!
//! `tag` is HMAC-SHA256 of the preceding bytes under the catalog's token key, truncated to 128
//! bits ([`crate::mac`]): a token cannot be repositioned, moved to another stream or given
//! another mint time without the key. Tokens stay valid across restarts because the key is
//! persisted in the catalog. Expiry is checked with checked arithmetic, so no mint time can
//! overflow it. Version 1 tokens (a CRC32C check, before the key) are refused as invalid; they
//! lived five minutes.

use crate::mac::{MacKey, TAG_BYTES};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rheo_types::StreamName;

/// What an iterator points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IteratorPos {
    pub stream: StreamName,
    pub incarnation: u64,
    pub shard: u32,
    /// The key of the next record to return: the first one at or above it.
    pub position: u64,
    pub minted_ms: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IteratorError {
    Invalid,
    Expired { minted_ms: i64 },
}

const VERSION: u8 = 2;
/// Bytes before the name.
const HEAD: usize = 30;

pub fn encode(pos: &IteratorPos, key: &MacKey) -> String {
    let name = pos.stream.as_str().as_bytes();
    let mut b = Vec::with_capacity(HEAD + name.len() + TAG_BYTES);
    b.push(VERSION);
    b.extend_from_slice(&pos.incarnation.to_le_bytes());
    b.extend_from_slice(&pos.shard.to_le_bytes());
    b.extend_from_slice(&pos.position.to_le_bytes());
    b.extend_from_slice(&pos.minted_ms.to_le_bytes());
    // Stream names are at most 128 bytes.
    b.push(name.len().min(255) as u8);
    b.extend_from_slice(name);
    STANDARD.encode(key.seal(b))
}

/// Decodes and checks a token; `now_ms` decides expiry.
pub fn decode(token: &str, key: &MacKey, now_ms: i64) -> Result<IteratorPos, IteratorError> {
    let sealed = STANDARD.decode(token).map_err(|_| IteratorError::Invalid)?;
    let b = key.open(&sealed).ok_or(IteratorError::Invalid)?;
    let field = |at: usize, n: usize| b.get(at..at + n).ok_or(IteratorError::Invalid);
    let u64_at = |at: usize| -> Result<u64, IteratorError> {
        Ok(u64::from_le_bytes(
            field(at, 8)?.try_into().map_err(|_| IteratorError::Invalid)?,
        ))
    };
    if field(0, 1)? != [VERSION] {
        return Err(IteratorError::Invalid);
    }
    let name_len = usize::from(field(HEAD - 1, 1)?[0]);
    if b.len() != HEAD + name_len {
        return Err(IteratorError::Invalid);
    }
    let name = std::str::from_utf8(field(HEAD, name_len)?).map_err(|_| IteratorError::Invalid)?;
    let pos = IteratorPos {
        stream: StreamName::parse(name).map_err(|_| IteratorError::Invalid)?,
        incarnation: u64_at(1)?,
        shard: u32::from_le_bytes(field(9, 4)?.try_into().map_err(|_| IteratorError::Invalid)?),
        position: u64_at(13)?,
        minted_ms: u64_at(21)? as i64,
    };
    let age = now_ms.checked_sub(pos.minted_ms).ok_or(IteratorError::Invalid)?;
    if age > rheo_types::limits::ITERATOR_TTL_MS {
        return Err(IteratorError::Expired {
            minted_ms: pos.minted_ms,
        });
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IteratorPos {
        IteratorPos {
            stream: StreamName::parse("orders").unwrap(),
            incarnation: 42,
            shard: 3,
            position: 123456789,
            minted_ms: 1_700_000_000_000,
        }
    }

    fn key(b: u8) -> MacKey {
        MacKey::from_bytes([b; 32])
    }

    #[test]
    fn round_trip_and_expiry() {
        let t = encode(&sample(), &key(99));
        assert!(t.len() <= 512);
        assert_eq!(decode(&t, &key(99), sample().minted_ms + 1000), Ok(sample()));
        let short = IteratorPos {
            stream: StreamName::parse("s").unwrap(),
            ..sample()
        };
        assert_eq!(decode(&encode(&short, &key(99)), &key(99), short.minted_ms), Ok(short));
        assert_eq!(
            decode(&t, &key(99), sample().minted_ms + 300_001),
            Err(IteratorError::Expired {
                minted_ms: sample().minted_ms
            })
        );
    }

    #[test]
    fn rejects_garbage_edits_and_forgeries() {
        let t = encode(&sample(), &key(99));
        assert_eq!(decode(&t, &key(98), 0), Err(IteratorError::Invalid));
        assert_eq!(decode("not base64!", &key(99), 0), Err(IteratorError::Invalid));
        assert_eq!(decode("AAAA", &key(99), 0), Err(IteratorError::Invalid));
        // Every single-bit edit is refused (with CRC32C, an attacker could fix the check up).
        let raw = STANDARD.decode(&t).unwrap();
        for i in 0..raw.len() * 8 {
            let mut edited = raw.clone();
            edited[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                decode(&STANDARD.encode(&edited), &key(99), sample().minted_ms),
                Err(IteratorError::Invalid),
                "bit {i}"
            );
        }
        // A mint time of i64::MIN, even if it were tagged, cannot overflow the expiry check.
        let ancient = IteratorPos {
            minted_ms: i64::MIN,
            ..sample()
        };
        let forged = encode(&ancient, &key(99));
        assert_eq!(decode(&forged, &key(99), i64::MAX), Err(IteratorError::Invalid));
        assert!(decode(&forged, &key(99), 0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode(&STANDARD.encode(&bytes), &key(1), 0);
        }
    }
}
