//! The AWS event stream message format (`application/vnd.amazon.eventstream`), which
//! SubscribeToShard responses are made of.
//!
//! A message is, all integers big-endian:
//!
//! ```text
//! total length   u32   the whole message, these 4 bytes and the trailing CRC included
//! headers length u32
//! prelude CRC    u32   CRC-32 (IEEE) of the 8 bytes before it
//! headers            * name length u8, name (UTF-8), value type u8, value
//! payload            * total length - headers length - 16 bytes
//! message CRC    u32   CRC-32 of everything before it
//! ```
//!
//! Header values by type: 0 true and 1 false (no bytes), 2 i8, 3 i16, 4 i32, 5 i64,
//! 6 byte array and 7 string (u16 length, then the bytes), 8 timestamp (i64 epoch
//! milliseconds), 9 UUID (16 bytes). A message is at most 16 MiB, its headers at most 128 KiB.

use std::fmt;

/// The largest message, as AWS limits it.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// The largest headers section.
pub const MAX_HEADERS_BYTES: usize = 128 * 1024;
/// Prelude (12 bytes) and message CRC (4 bytes).
const OVERHEAD: usize = 16;

/// A header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of a string header.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the prelude says; more may come.
    Incomplete,
    PreludeCrc,
    MessageCrc,
    /// Lengths that do not fit together or exceed the limits.
    Length,
    /// A header that runs past its section, has an unknown type or a name that is not UTF-8.
    Header,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::Incomplete => "incomplete event stream message",
            DecodeError::PreludeCrc => "event stream prelude checksum mismatch",
            DecodeError::MessageCrc => "event stream message checksum mismatch",
            DecodeError::Length => "invalid event stream message length",
            DecodeError::Header => "invalid event stream header",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Appends one message with string headers (the only kind Kinesis sends) to `out`.
///
/// # Panics
/// If a header name exceeds 255 bytes or a value 65,535 bytes (callers pass fixed names and
/// type names).
#[expect(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "encodes the server's own events: header names and values are fixed and small, payloads below the 16 MiB message limit, and `start..start + 8` was just written"
)]
pub fn encode(out: &mut Vec<u8>, headers: &[(&str, &str)], payload: &[u8]) {
    let headers_len: usize = headers.iter().map(|(n, v)| 1 + n.len() + 1 + 2 + v.len()).sum();
    let total = OVERHEAD + headers_len + payload.len();
    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers_len as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[start..start + 8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    for (name, value) in headers {
        out.push(u8::try_from(name.len()).expect("header name of at most 255 bytes"));
        out.extend_from_slice(name.as_bytes());
        out.push(7);
        out.extend_from_slice(
            &u16::try_from(value.len())
                .expect("header value of at most 64 KiB")
                .to_be_bytes(),
        );
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An event message: `:message-type` event, its `:event-type`, and a payload of
/// `content_type`.
pub fn encode_event(out: &mut Vec<u8>, event_type: &str, content_type: &str, payload: &[u8]) {
    encode(
        out,
        &[
            (":event-type", event_type),
            (":content-type", content_type),
            (":message-type", "event"),
        ],
        payload,
    );
}

/// An exception message: `:message-type` exception, the error's name, and its payload (the
/// error's `{"message": ...}` in `content_type`).
pub fn encode_exception(out: &mut Vec<u8>, error_type: &str, content_type: &str, payload: &[u8]) {
    encode(
        out,
        &[
            (":exception-type", error_type),
            (":content-type", content_type),
            (":message-type", "exception"),
        ],
        payload,
    );
}

/// Decodes the message at the start of `bytes`; returns it and the bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(Message, usize), DecodeError> {
    let word = |at: usize| -> Result<u32, DecodeError> {
        let b = bytes.get(at..at.saturating_add(4)).ok_or(DecodeError::Incomplete)?;
        Ok(u32::from_be_bytes(b.try_into().map_err(|_| DecodeError::Incomplete)?))
    };
    let total = word(0)? as usize;
    let headers_len = word(4)? as usize;
    let prelude_crc = word(8)?;
    if crc32fast::hash(bytes.get(..8).ok_or(DecodeError::Incomplete)?) != prelude_crc {
        return Err(DecodeError::PreludeCrc);
    }
    let Some(room) = total.checked_sub(OVERHEAD).filter(|_| total <= MAX_MESSAGE_BYTES) else {
        return Err(DecodeError::Length);
    };
    if headers_len > MAX_HEADERS_BYTES.min(room) {
        return Err(DecodeError::Length);
    }
    let message = bytes.get(..total).ok_or(DecodeError::Incomplete)?;
    // total ≥ OVERHEAD (16): the CRC's 4 bytes and the 12-byte prelude are inside it.
    let (body, crc) = message.split_at(total.saturating_sub(4));
    let crc = u32::from_be_bytes(crc.try_into().map_err(|_| DecodeError::Length)?);
    if crc32fast::hash(body) != crc {
        return Err(DecodeError::MessageCrc);
    }
    let rest = body.get(12..).ok_or(DecodeError::Length)?;
    let (headers, payload) = rest.split_at(headers_len.min(rest.len()));
    let headers = decode_headers(headers)?;
    Ok((
        Message {
            headers,
            payload: payload.to_vec(),
        },
        total,
    ))
}

fn decode_headers(mut b: &[u8]) -> Result<Vec<(String, HeaderValue)>, DecodeError> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
        if b.len() < n {
            return Err(DecodeError::Header);
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    fn array<const N: usize>(b: &mut &[u8]) -> Result<[u8; N], DecodeError> {
        take(b, N)?.try_into().map_err(|_| DecodeError::Header)
    }
    let mut headers = Vec::new();
    while !b.is_empty() {
        let name_len = usize::from(array::<1>(&mut b)?[0]);
        let name = std::str::from_utf8(take(&mut b, name_len)?).map_err(|_| DecodeError::Header)?;
        let value = match array::<1>(&mut b)?[0] {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(array(&mut b)?)),
            3 => HeaderValue::Short(i16::from_be_bytes(array(&mut b)?)),
            4 => HeaderValue::Int(i32::from_be_bytes(array(&mut b)?)),
            5 => HeaderValue::Long(i64::from_be_bytes(array(&mut b)?)),
            t @ (6 | 7) => {
                let len = u16::from_be_bytes(array(&mut b)?) as usize;
                let raw = take(&mut b, len)?;
                if t == 6 {
                    HeaderValue::Bytes(raw.to_vec())
                } else {
                    HeaderValue::String(String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::Header)?)
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(array(&mut b)?)),
            9 => HeaderValue::Uuid(array(&mut b)?),
            _ => return Err(DecodeError::Header),
        };
        headers.push((name.to_owned(), value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_event_decodes_to_its_headers_and_payload() {
        let mut out = Vec::new();
        encode_event(
            &mut out,
            "SubscribeToShardEvent",
            "application/json",
            br#"{"Records":[]}"#,
        );
        let (m, used) = decode(&out).unwrap();
        assert_eq!(used, out.len());
        assert_eq!(m.header_str(":message-type"), Some("event"));
        assert_eq!(m.header_str(":event-type"), Some("SubscribeToShardEvent"));
        assert_eq!(m.payload, br#"{"Records":[]}"#);
    }

    /// aws-smithy-eventstream, the AWS SDK for Rust's codec, is the oracle.
    mod oracle {
        pub use aws_smithy_eventstream::frame::{read_message_from, write_message_to};
        pub use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    }

    fn oracle_value(v: &HeaderValue) -> oracle::HeaderValue {
        match v {
            HeaderValue::Bool(b) => oracle::HeaderValue::Bool(*b),
            HeaderValue::Byte(b) => oracle::HeaderValue::Byte(*b),
            HeaderValue::Short(s) => oracle::HeaderValue::Int16(*s),
            HeaderValue::Int(i) => oracle::HeaderValue::Int32(*i),
            HeaderValue::Long(l) => oracle::HeaderValue::Int64(*l),
            HeaderValue::Bytes(b) => oracle::HeaderValue::ByteArray(b.clone().into()),
            HeaderValue::String(s) => oracle::HeaderValue::String(s.clone().into()),
            HeaderValue::Timestamp(ms) => oracle::HeaderValue::Timestamp(aws_smithy_types::DateTime::from_millis(*ms)),
            HeaderValue::Uuid(u) => oracle::HeaderValue::Uuid(u128::from_be_bytes(*u)),
        }
    }

    fn header_value() -> impl Strategy<Value = HeaderValue> {
        prop_oneof![
            any::<bool>().prop_map(HeaderValue::Bool),
            any::<i8>().prop_map(HeaderValue::Byte),
            any::<i16>().prop_map(HeaderValue::Short),
            any::<i32>().prop_map(HeaderValue::Int),
            any::<i64>().prop_map(HeaderValue::Long),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(HeaderValue::Bytes),
            "\\PC{0,40}".prop_map(HeaderValue::String),
            (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(HeaderValue::Timestamp),
            any::<[u8; 16]>().prop_map(HeaderValue::Uuid),
        ]
    }

    /// A ResourceInUseException message with the payload `{"message":"busy"}`.
    fn busy() -> Vec<u8> {
        let mut out = Vec::new();
        encode_exception(
            &mut out,
            "ResourceInUseException",
            "application/json",
            br#"{"message":"busy"}"#,
        );
        out
    }

    #[test]
    fn the_sdk_reads_an_exception() {
        let out = busy();
        let m = oracle::read_message_from(&out[..]).unwrap();
        let header = |name: &str| {
            m.headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
        };
        assert_eq!(header(":message-type").as_deref(), Some("exception"));
        assert_eq!(header(":exception-type").as_deref(), Some("ResourceInUseException"));
        assert_eq!(&m.payload()[..], br#"{"message":"busy"}"#);
    }

    #[test]
    fn damaged_messages_are_refused() {
        let out = busy();
        assert_eq!(decode(&out[..out.len() - 1]), Err(DecodeError::Incomplete));
        let mut bad = out.clone();
        bad[20] ^= 1;
        assert_eq!(decode(&bad), Err(DecodeError::MessageCrc));
        let mut bad = out.clone();
        bad[1] ^= 1;
        assert_eq!(decode(&bad), Err(DecodeError::PreludeCrc));
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(
            headers in proptest::collection::vec(("[a-z:-]{1,20}", "\\PC{0,40}"), 0..6),
            payload in proptest::collection::vec(any::<u8>(), 0..4096),
        ) {
            let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let mut out = vec![0xAA];
            encode(&mut out, &refs, &payload);
            let (m, used) = decode(&out[1..]).unwrap();
            prop_assert_eq!(used, out.len() - 1);
            prop_assert_eq!(m.payload, payload);
            let got: Vec<(String, HeaderValue)> = m.headers;
            let want: Vec<(String, HeaderValue)> =
                headers.into_iter().map(|(n, v)| (n, HeaderValue::String(v))).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn the_sdk_reads_what_we_write(
            headers in proptest::collection::vec(("[a-z:-]{1,20}", "\\PC{0,40}"), 0..6),
            payload in proptest::collection::vec(any::<u8>(), 0..4096),
        ) {
            let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let mut out = Vec::new();
            encode(&mut out, &refs, &payload);
            let m = oracle::read_message_from(&out[..]).unwrap();
            prop_assert_eq!(&m.payload()[..], &payload[..]);
            let got: Vec<(String, String)> = m
                .headers()
                .iter()
                .map(|h| (h.name().as_str().to_owned(), h.value().as_string().unwrap().as_str().to_owned()))
                .collect();
            prop_assert_eq!(got, headers);
        }

        #[test]
        fn we_read_what_the_sdk_writes(
            headers in proptest::collection::vec(("[a-z:-]{1,20}", header_value()), 0..8),
            payload in proptest::collection::vec(any::<u8>(), 0..4096),
        ) {
            let message = oracle::Message::new_from_parts(
                headers.iter().map(|(n, v)| oracle::Header::new(n.clone(), oracle_value(v))).collect(),
                payload.clone(),
            );
            let mut out = Vec::new();
            oracle::write_message_to(&message, &mut out).unwrap();
            let (m, used) = decode(&out).unwrap();
            prop_assert_eq!(used, out.len());
            prop_assert_eq!(m.payload, payload);
            prop_assert_eq!(m.headers, headers);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn valid_preludes_with_random_bodies_never_panic(
            headers_len in 0u32..200,
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            // A prelude that passes its CRC, so decoding reaches the headers.
            let total = (16 + body.len()) as u32;
            let mut bytes = total.to_be_bytes().to_vec();
            bytes.extend_from_slice(&headers_len.min(body.len() as u32).to_be_bytes());
            let crc = crc32fast::hash(&bytes);
            bytes.extend_from_slice(&crc.to_be_bytes());
            bytes.extend_from_slice(&body);
            let crc = crc32fast::hash(&bytes);
            bytes.extend_from_slice(&crc.to_be_bytes());
            let _ = decode(&bytes);
        }
    }
}
