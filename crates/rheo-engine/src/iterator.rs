//! Shard iterators: opaque tokens naming a stream incarnation, a shard and a position.
//!
//! Layout before base64 (standard alphabet):
//!
//! ```text
//! u8 version (1) | u64 incarnation | u32 shard | u64 position | i64 minted_ms |
//! u8 name_len | name | u32 check
//! ```
//!
//! `check` is CRC32C of a per-catalog secret followed by the preceding bytes: it catches
//! garbage and edited tokens (it is not a cryptographic signature). Tokens stay valid across
//! restarts because the secret is persisted in the catalog.

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

pub fn encode(pos: &IteratorPos, secret: u64) -> String {
    let name = pos.stream.as_str().as_bytes();
    let mut b = Vec::with_capacity(38 + name.len());
    b.push(1u8);
    b.extend_from_slice(&pos.incarnation.to_le_bytes());
    b.extend_from_slice(&pos.shard.to_le_bytes());
    b.extend_from_slice(&pos.position.to_le_bytes());
    b.extend_from_slice(&pos.minted_ms.to_le_bytes());
    b.push(name.len() as u8);
    b.extend_from_slice(name);
    let check = checksum(secret, &b);
    b.extend_from_slice(&check.to_le_bytes());
    STANDARD.encode(b)
}

fn checksum(secret: u64, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&secret.to_le_bytes()), bytes)
}

/// Decodes and checks a token; `now_ms` decides expiry.
pub fn decode(token: &str, secret: u64, now_ms: i64) -> Result<IteratorPos, IteratorError> {
    let b = STANDARD.decode(token).map_err(|_| IteratorError::Invalid)?;
    if b.len() < 34 || b[0] != 1 {
        return Err(IteratorError::Invalid);
    }
    let name_len = b[29] as usize;
    if b.len() != 30 + name_len + 4 {
        return Err(IteratorError::Invalid);
    }
    let body = &b[..30 + name_len];
    let check = u32::from_le_bytes(b[30 + name_len..].try_into().map_err(|_| IteratorError::Invalid)?);
    if checksum(secret, body) != check {
        return Err(IteratorError::Invalid);
    }
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let name = std::str::from_utf8(&b[30..30 + name_len]).map_err(|_| IteratorError::Invalid)?;
    let pos = IteratorPos {
        stream: StreamName::parse(name).map_err(|_| IteratorError::Invalid)?,
        incarnation: u64_at(1),
        shard: u32::from_le_bytes(b[9..13].try_into().map_err(|_| IteratorError::Invalid)?),
        position: u64_at(13),
        minted_ms: u64_at(21) as i64,
    };
    if now_ms - pos.minted_ms > rheo_types::limits::ITERATOR_TTL_MS {
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

    #[test]
    fn round_trip_and_expiry() {
        let t = encode(&sample(), 99);
        assert!(t.len() <= 512);
        assert_eq!(decode(&t, 99, sample().minted_ms + 1000), Ok(sample()));
        let short = IteratorPos {
            stream: StreamName::parse("s").unwrap(),
            ..sample()
        };
        assert_eq!(decode(&encode(&short, 99), 99, short.minted_ms), Ok(short));
        assert_eq!(
            decode(&t, 99, sample().minted_ms + 300_001),
            Err(IteratorError::Expired {
                minted_ms: sample().minted_ms
            })
        );
    }

    #[test]
    fn rejects_garbage_and_edits() {
        let t = encode(&sample(), 99);
        assert_eq!(decode(&t, 98, 0), Err(IteratorError::Invalid));
        assert_eq!(decode("not base64!", 99, 0), Err(IteratorError::Invalid));
        assert_eq!(decode("AAAA", 99, 0), Err(IteratorError::Invalid));
        let mut raw = STANDARD.decode(&t).unwrap();
        raw[14] ^= 1;
        assert_eq!(decode(&STANDARD.encode(raw), 99, 0), Err(IteratorError::Invalid));
    }
}
