//! A stored message, its attributes, and the digests SQS returns for them.
//!
//! `MD5OfMessageBody` is the lowercase hex MD5 of the UTF-8 body. `MD5OfMessageAttributes`
//! (and `MD5OfMessageSystemAttributes`) hash the attributes in ascending name order, each as
//! its name, its data type and its value, every part preceded by its length as a 4-byte
//! big-endian integer, with a transport byte before the value: 1 for String and Number, 2 for
//! Binary (aws-sdk-java-v2 `MessageMD5ChecksumInterceptor`; the vectors in the tests were
//! recorded against AWS).

use bytes::Bytes;
use md5::{Digest, Md5};

/// A message attribute's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// String and Number types (and their `.custom` forms).
    String(String),
    Binary(Bytes),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageAttribute {
    pub name: String,
    pub data_type: String,
    pub value: AttributeValue,
}

/// A message as a queue holds it.
#[derive(Clone, Debug)]
pub struct Message {
    /// Its number in the service: unique, never reused, increasing in send order.
    pub no: u64,
    /// The MessageId (a UUID).
    pub id: String,
    pub body: Bytes,
    /// Sorted by name.
    pub attributes: Vec<MessageAttribute>,
    /// The `AWSTraceHeader` system attribute.
    pub trace_header: Option<String>,
    pub sent_ms: i64,
    /// When it may next be received (send time plus delay, or the end of its visibility).
    pub visible_at_ms: i64,
    pub receive_count: u32,
    pub first_receive_ms: Option<i64>,
    pub group: Option<String>,
    pub dedup_id: Option<String>,
    /// FIFO queues: the sequence number SQS assigns.
    pub sequence: Option<u128>,
    /// The ARN of the queue a dead-lettered message came from.
    pub dead_letter_source: Option<String>,
    /// The account (or principal) that sent it: the `SenderId` attribute.
    pub sender: String,
    /// The journal key of the record holding its whole state (not itself journaled).
    pub journal_key: u64,
}

impl Message {
    /// Bytes it counts for against the queue's budgets: body and attributes.
    pub fn size(&self) -> usize {
        self.body.len() + attributes_size(&self.attributes)
    }
}

/// Bytes the attributes count for (names, types and values), as SQS counts them against
/// the message size limit.
pub fn attributes_size(attributes: &[MessageAttribute]) -> usize {
    attributes
        .iter()
        .map(|a| {
            let value = match &a.value {
                AttributeValue::String(s) => s.len(),
                AttributeValue::Binary(b) => b.len(),
            };
            a.name.len() + a.data_type.len() + value
        })
        .sum()
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// `MD5OfMessageAttributes` of `attributes` (any order); `None` when there are none (SQS then
/// leaves the member out).
pub fn attributes_md5(attributes: &[MessageAttribute]) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut sorted: Vec<&MessageAttribute> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = Md5::new();
    for a in sorted {
        part_len(&mut h, a.name.as_bytes());
        part_len(&mut h, a.data_type.as_bytes());
        match &a.value {
            AttributeValue::String(s) => {
                h.update([1u8]);
                part_len(&mut h, s.as_bytes());
            }
            AttributeValue::Binary(b) => {
                h.update([2u8]);
                part_len(&mut h, b);
            }
        }
    }
    Some(hex(&h.finalize()))
}

fn part_len(h: &mut Md5, bytes: &[u8]) {
    h.update((bytes.len() as u32).to_be_bytes());
    h.update(bytes);
}

/// `MD5OfMessageSystemAttributes` for an `AWSTraceHeader` (the only system attribute a sender
/// may set), hashed as a String attribute is.
pub fn trace_header_md5(value: &str) -> String {
    attributes_md5(&[MessageAttribute {
        name: "AWSTraceHeader".into(),
        data_type: "String".into(),
        value: AttributeValue::String(value.into()),
    }])
    .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A new MessageId: a random (version 4) UUID.
pub fn new_message_id() -> String {
    rheo_types::ids::uuid_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(name: &str, data_type: &str, value: &str) -> MessageAttribute {
        MessageAttribute {
            name: name.into(),
            data_type: data_type.into(),
            value: AttributeValue::String(value.into()),
        }
    }

    /// Digests AWS returned (LocalStack's AWS-validated snapshots, via the research note).
    #[test]
    fn attribute_digests_match_what_aws_returned() {
        assert_eq!(
            attributes_md5(&[string("attr1", "Number", "99.12")]).unwrap(),
            "d302007e9aa062660afc85fd0a482472"
        );
        assert_eq!(
            attributes_md5(&[string("MyAttribute", "String", "foobar")]).unwrap(),
            "adb59cd4678ea5a855436b949cd07ab6"
        );
        assert_eq!(
            attributes_md5(&[string("Hello", "String", "There")]).unwrap(),
            "a311262e065454b75da111d535b8dacd"
        );
        assert_eq!(attributes_md5(&[]), None);
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn attributes_hash_in_name_order() {
        let a = string("a", "String", "1");
        let b = MessageAttribute {
            name: "b".into(),
            data_type: "Binary".into(),
            value: AttributeValue::Binary(Bytes::from_static(b"\x00\x01")),
        };
        assert_eq!(attributes_md5(&[a.clone(), b.clone()]), attributes_md5(&[b, a]));
    }

    #[test]
    fn message_ids_are_version_4_uuids() {
        let id = new_message_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
