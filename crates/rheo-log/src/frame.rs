//! Encoding and decoding of one frame (see the crate docs for the layout).

use bytes::Bytes;

/// Bytes before the body: length and CRC.
pub const FRAME_HEADER: usize = 8;
/// Fixed part of the body: key, timestamp, partition key length.
const BODY_FIXED: usize = 18;
/// Largest body accepted: 10 MiB of data plus a partition key, with room to spare.
pub const MAX_BODY: usize = 10 * 1024 * 1024 + 64 * 1024;

/// A record to append.
#[derive(Clone, Copy, Debug)]
pub struct NewRecord<'a> {
    pub key: u64,
    pub timestamp_ms: i64,
    pub partition_key: &'a [u8],
    pub data: &'a [u8],
}

/// A record read back, borrowing the read buffer: valid only inside the reader's callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub key: u64,
    pub timestamp_ms: i64,
    pub partition_key: &'a [u8],
    pub data: &'a [u8],
}

/// A record read back and owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRecord {
    pub key: u64,
    pub timestamp_ms: i64,
    pub partition_key: Bytes,
    pub data: Bytes,
}

impl From<RecordRef<'_>> for ReadRecord {
    fn from(r: RecordRef<'_>) -> ReadRecord {
        ReadRecord {
            key: r.key,
            timestamp_ms: r.timestamp_ms,
            partition_key: Bytes::copy_from_slice(r.partition_key),
            data: Bytes::copy_from_slice(r.data),
        }
    }
}

impl NewRecord<'_> {
    pub fn body_len(&self) -> usize {
        BODY_FIXED + self.partition_key.len() + self.data.len()
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&(self.body_len() as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        out.extend_from_slice(&(self.partition_key.len() as u16).to_le_bytes());
        out.extend_from_slice(self.partition_key);
        out.extend_from_slice(self.data);
        let crc = crc32c::crc32c(&out[start + FRAME_HEADER..]);
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// What the bytes at the start of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole valid frame of `len` bytes.
    Frame(RecordRef<'a>, usize),
    /// A frame that may be valid but needs `needed` bytes in all.
    Incomplete(usize),
    /// Bytes that are no frame.
    Corrupt,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Decodes the frame at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < FRAME_HEADER {
        return Decoded::Incomplete(FRAME_HEADER);
    }
    let body_len = u32_at(buf, 0) as usize;
    if !(BODY_FIXED..=MAX_BODY).contains(&body_len) {
        return Decoded::Corrupt;
    }
    let total = FRAME_HEADER + body_len;
    if buf.len() < total {
        return Decoded::Incomplete(total);
    }
    let body = &buf[FRAME_HEADER..total];
    if crc32c::crc32c(body) != u32_at(buf, 4) {
        return Decoded::Corrupt;
    }
    let pk_len = u16::from_le_bytes([body[16], body[17]]) as usize;
    if BODY_FIXED + pk_len > body_len {
        return Decoded::Corrupt;
    }
    let pk_start = FRAME_HEADER + BODY_FIXED;
    let record = RecordRef {
        key: u64_at(body, 0),
        timestamp_ms: u64_at(body, 8) as i64,
        partition_key: &buf[pk_start..pk_start + pk_len],
        data: &buf[pk_start + pk_len..total],
    };
    Decoded::Frame(record, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(key in any::<u64>(), ts in any::<i64>(), pk in proptest::collection::vec(any::<u8>(), 0..300),
                      data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let rec = NewRecord { key, timestamp_ms: ts, partition_key: &pk, data: &data };
            let mut out = Vec::new();
            rec.encode(&mut out);
            let buf = Bytes::from(out);
            let Decoded::Frame(back, len) = decode(&buf) else { panic!("not decoded") };
            prop_assert_eq!(len, buf.len());
            prop_assert_eq!(back.key, key);
            prop_assert_eq!(back.timestamp_ms, ts);
            prop_assert_eq!(back.partition_key, &pk[..]);
            prop_assert_eq!(back.data, &data[..]);
            // Every strict prefix is incomplete, never a frame.
            for cut in [0, 1, 7, 8, buf.len() / 2, buf.len() - 1] {
                prop_assert!(matches!(decode(&buf.slice(..cut)), Decoded::Incomplete(_)));
            }
        }

        #[test]
        fn any_flipped_bit_is_detected(data in proptest::collection::vec(any::<u8>(), 1..200), bit in any::<usize>()) {
            let mut out = Vec::new();
            NewRecord { key: 1, timestamp_ms: 2, partition_key: b"pk", data: &data }.encode(&mut out);
            let bit = bit % (out.len() * 8);
            out[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!matches!(decode(&Bytes::from(out)), Decoded::Frame(..)));
        }
    }
}
