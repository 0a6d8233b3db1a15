//! Receipt handles: the queue's incarnation, the message's number and its receive count,
//! sealed with the service's token key (HMAC-SHA256, truncated) and URL-safe base64. A
//! handle names exactly one receive of one message; it cannot be made or edited without
//! the key. The same receive always yields the same handle, so a FIFO receive retried with
//! its ReceiveRequestAttemptId returns the same handles.

use base64::Engine as _;
use rheo_types::mac::MacKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub queue: u64,
    pub no: u64,
    pub receive_count: u32,
}

impl Receipt {
    pub fn encode(&self, key: &MacKey) -> String {
        let mut raw = Vec::with_capacity(20 + rheo_types::mac::TAG_BYTES);
        raw.extend_from_slice(&self.queue.to_be_bytes());
        raw.extend_from_slice(&self.no.to_be_bytes());
        raw.extend_from_slice(&self.receive_count.to_be_bytes());
        B64.encode(key.seal(raw))
    }

    pub fn decode(handle: &str, key: &MacKey) -> Option<Receipt> {
        let raw = B64.decode(handle.as_bytes()).ok()?;
        let body = key.open(&raw)?;
        if body.len() != 20 {
            return None;
        }
        let (q, rest) = body.split_at(8);
        let (n, c) = rest.split_at(8);
        Some(Receipt {
            queue: u64::from_be_bytes(q.try_into().ok()?),
            no: u64::from_be_bytes(n.try_into().ok()?),
            receive_count: u32::from_be_bytes(c.try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_refuse_edits() {
        let key = MacKey::from_bytes([7; 32]);
        let r = Receipt {
            queue: 3,
            no: 99,
            receive_count: 2,
        };
        let h = r.encode(&key);
        assert_eq!(Receipt::decode(&h, &key), Some(r));
        assert_eq!(Receipt::decode(&h, &MacKey::from_bytes([8; 32])), None);
        let mut edited = h.into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(Receipt::decode(&String::from_utf8(edited).unwrap(), &key), None);
        assert_eq!(Receipt::decode("not a handle", &key), None);
    }
}
