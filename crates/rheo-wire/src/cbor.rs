//! AWS CBOR (`application/x-amz-cbor-1.1`), the Java SDK's default for Kinesis: the same
//! members as AWS JSON 1.1, with blobs as CBOR byte strings and timestamps as tag 1 around the
//! epoch time in *milliseconds* (an integer; the Java SDK's encoding, not RFC 8949's seconds).
//!
//! Rheo serves CBOR by transcoding at the edge, so every operation has one implementation:
//!
//! - [`to_json`] turns a CBOR request into the JSON its handler reads: byte strings become
//!   base64 strings (only blob members are byte strings), tag 1 becomes epoch seconds (an
//!   integer inside is milliseconds, a float seconds), other tags are dropped, indefinite-length
//!   items are joined.
//! - [`from_json`] turns a JSON response into CBOR. Which members are blobs and timestamps
//!   comes from the Kinesis model: every blob member is named `Data`, and every timestamp member
//!   ends in `Timestamp` (or is one of the billing commitment's `StartedAt`, `EndedAt`,
//!   `EarliestAllowedEndAt`). Other strings and numbers stay as they are; integers are
//!   written as CBOR integers, other numbers as floats.
//!
//! Base64 is exact, so record data round-trips byte for byte.

use crate::BASE64;
use base64::Engine as _;
use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};
use serde_json::Value;
use std::fmt;

/// Nesting deeper than this is refused (no Kinesis shape nests more than a few levels).
const MAX_DEPTH: usize = 64;

/// Why a body could not be transcoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError(pub String);

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CborError {}

fn err(e: impl fmt::Display) -> CborError {
    CborError(e.to_string())
}

/// A CBOR request body as the JSON the handlers read. An empty body is `{}`.
pub fn to_json(cbor: &[u8]) -> Result<Vec<u8>, CborError> {
    if cbor.is_empty() {
        return Ok(b"{}".to_vec());
    }
    let mut d = Decoder::new(cbor);
    let mut out = Vec::with_capacity((cbor.len() / 3).saturating_mul(4).saturating_add(16));
    value(&mut d, &mut out, 0)?;
    if d.position() != cbor.len() {
        return Err(CborError("trailing bytes after the CBOR value".into()));
    }
    Ok(out)
}

fn value(d: &mut Decoder<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), CborError> {
    if depth > MAX_DEPTH {
        return Err(CborError("CBOR nested too deeply".into()));
    }
    match d.datatype().map_err(err)? {
        Type::Bool => out.extend_from_slice(if d.bool().map_err(err)? { b"true" } else { b"false" }),
        Type::Null => {
            d.null().map_err(err)?;
            out.extend_from_slice(b"null");
        }
        Type::Undefined => {
            d.undefined().map_err(err)?;
            out.extend_from_slice(b"null");
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            out.extend_from_slice(i128::from(d.int().map_err(err)?).to_string().as_bytes());
        }
        Type::F16 | Type::F32 | Type::F64 => {
            let f = float(d)?;
            serde_json::to_writer(&mut *out, &f).map_err(err)?;
        }
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in d.bytes_iter().map_err(err)? {
                bytes.extend_from_slice(chunk.map_err(err)?);
            }
            out.push(b'"');
            let encoded = base64::encoded_len(bytes.len(), true).ok_or_else(|| CborError("a blob too large".into()))?;
            let start = out.len();
            out.resize(start.saturating_add(encoded), 0);
            let n = BASE64
                .encode_slice(&bytes, out.get_mut(start..).unwrap_or_default())
                .map_err(err)?;
            out.truncate(start.saturating_add(n));
            out.push(b'"');
        }
        Type::String | Type::StringIndef => serde_json::to_writer(&mut *out, &text(d)?).map_err(err)?,
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(err)?;
            out.push(b'[');
            let mut i = 0u64;
            while more(d, len, i)? {
                if i > 0 {
                    out.push(b',');
                }
                value(d, out, depth.saturating_add(1))?;
                i = i.saturating_add(1);
            }
            out.push(b']');
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(err)?;
            out.push(b'{');
            let mut i = 0u64;
            while more(d, len, i)? {
                if i > 0 {
                    out.push(b',');
                }
                let key = match d.datatype().map_err(err)? {
                    Type::String | Type::StringIndef => text(d)?,
                    other => return Err(CborError(format!("a map key must be text, not {other}"))),
                };
                serde_json::to_writer(&mut *out, &key).map_err(err)?;
                out.push(b':');
                value(d, out, depth.saturating_add(1))?;
                i = i.saturating_add(1);
            }
            out.push(b'}');
        }
        Type::Tag => {
            let tag = d.tag().map_err(err)?;
            if u64::from(tag) == 1 {
                let seconds = match d.datatype().map_err(err)? {
                    Type::F16 | Type::F32 | Type::F64 => float(d)?,
                    _ => i128::from(d.int().map_err(err)?) as f64 / 1000.0,
                };
                serde_json::to_writer(&mut *out, &seconds).map_err(err)?;
            } else {
                value(d, out, depth.saturating_add(1))?;
            }
        }
        other => return Err(CborError(format!("unexpected CBOR item {other}"))),
    }
    Ok(())
}

/// A text string, definite or in chunks.
fn text(d: &mut Decoder<'_>) -> Result<String, CborError> {
    let mut s = String::new();
    for chunk in d.str_iter().map_err(err)? {
        s.push_str(chunk.map_err(err)?);
    }
    Ok(s)
}

fn float(d: &mut Decoder<'_>) -> Result<f64, CborError> {
    // Reads half, single and double precision alike.
    let f = d.f64().map_err(err)?;
    if f.is_finite() {
        Ok(f)
    } else {
        Err(CborError("a number must be finite".into()))
    }
}

/// Whether a container of `len` items (`None`: indefinite) has another after `i`; consumes the
/// break that ends an indefinite one.
fn more(d: &mut Decoder<'_>, len: Option<u64>, i: u64) -> Result<bool, CborError> {
    match len {
        Some(n) => Ok(i < n),
        None => {
            if d.datatype().map_err(err)? == Type::Break {
                d.set_position(d.position().saturating_add(1));
                Ok(false)
            } else {
                Ok(true)
            }
        }
    }
}

/// Whether a member of this name holds a timestamp in the Kinesis model.
pub fn is_timestamp_member(name: &str) -> bool {
    name.ends_with("Timestamp") || matches!(name, "StartedAt" | "EndedAt" | "EarliestAllowedEndAt")
}

/// A JSON response body as CBOR.
pub fn from_json(json: &[u8]) -> Result<Vec<u8>, CborError> {
    let v: Value = serde_json::from_slice(json).map_err(err)?;
    let mut e = Encoder::new(Vec::with_capacity(json.len()));
    encode(&mut e, &v, None)?;
    Ok(e.into_writer())
}

fn encode(e: &mut Encoder<Vec<u8>>, v: &Value, member: Option<&str>) -> Result<(), CborError> {
    match v {
        Value::Null => {
            e.null().map_err(err)?;
        }
        Value::Bool(b) => {
            e.bool(*b).map_err(err)?;
        }
        Value::Number(n) if member.is_some_and(is_timestamp_member) => {
            let ms = (n.as_f64().unwrap_or_default() * 1000.0).round() as i64;
            e.tag(Tag::new(1)).map_err(err)?.i64(ms).map_err(err)?;
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                e.i64(i).map_err(err)?;
            } else if let Some(u) = n.as_u64() {
                e.u64(u).map_err(err)?;
            } else {
                e.f64(n.as_f64().unwrap_or_default()).map_err(err)?;
            }
        }
        Value::String(s) if member == Some("Data") => {
            let bytes = BASE64.decode(s).map_err(err)?;
            e.bytes(&bytes).map_err(err)?;
        }
        Value::String(s) => {
            e.str(s).map_err(err)?;
        }
        Value::Array(items) => {
            e.array(items.len() as u64).map_err(err)?;
            for item in items {
                // Members of a list keep the list's member name (`Records` holds records;
                // a list of blobs or timestamps does not occur in Kinesis outputs).
                encode(e, item, None)?;
            }
        }
        Value::Object(map) => {
            e.map(map.len() as u64).map_err(err)?;
            for (k, item) in map {
                e.str(k).map_err(err)?;
                encode(e, item, Some(k))?;
            }
        }
    }
    Ok(())
}

/// An error body: `{"__type": kind, "message": message}` in CBOR.
pub fn error_body(kind: &str, message: Option<&str>) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    let fields = if message.is_some() { 2 } else { 1 };
    // Writing to a Vec cannot fail.
    let _ = e.map(fields).and_then(|e| e.str("__type")).and_then(|e| e.str(kind));
    if let Some(m) = message {
        let _ = e.str(crate::error::message_key(kind)).and_then(|e| e.str(m));
    }
    e.into_writer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cbor(f: impl FnOnce(&mut Encoder<Vec<u8>>)) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        f(&mut e);
        e.into_writer()
    }

    #[test]
    fn a_java_style_put_record_becomes_json() {
        let body = cbor(|e| {
            e.map(3).unwrap();
            e.str("StreamName").unwrap().str("s").unwrap();
            e.str("Data").unwrap().bytes(&[0, 159, 255]).unwrap();
            e.str("PartitionKey").unwrap().str("k\"1").unwrap();
        });
        let json: Value = serde_json::from_slice(&to_json(&body).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"StreamName": "s", "Data": "AJ//", "PartitionKey": "k\"1"})
        );
    }

    #[test]
    fn tag_one_milliseconds_become_seconds() {
        let body = cbor(|e| {
            e.begin_map().unwrap();
            e.str("Timestamp")
                .unwrap()
                .tag(Tag::new(1))
                .unwrap()
                .u64(1_700_000_000_123)
                .unwrap();
            e.str("Other").unwrap().tag(Tag::new(1)).unwrap().f64(1.5).unwrap();
            e.str("Limit").unwrap().i64(-3).unwrap();
            e.end().unwrap();
        });
        let json: Value = serde_json::from_slice(&to_json(&body).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Timestamp": 1_700_000_000.123, "Other": 1.5, "Limit": -3})
        );
    }

    #[test]
    fn responses_get_byte_strings_and_tagged_milliseconds() {
        let json = br#"{"Records":[{"Data":"AJ//","ApproximateArrivalTimestamp":1700000000.123,"SequenceNumber":"49"}],"MillisBehindLatest":0}"#;
        let out = from_json(json).unwrap();
        // Members come out in name order.
        let mut d = Decoder::new(&out);
        assert_eq!(d.map().unwrap(), Some(2));
        assert_eq!(d.str().unwrap(), "MillisBehindLatest");
        assert_eq!(d.i64().unwrap(), 0);
        assert_eq!(d.str().unwrap(), "Records");
        assert_eq!(d.array().unwrap(), Some(1));
        assert_eq!(d.map().unwrap(), Some(3));
        assert_eq!(d.str().unwrap(), "ApproximateArrivalTimestamp");
        assert_eq!(u64::from(d.tag().unwrap()), 1);
        assert_eq!(d.i64().unwrap(), 1_700_000_000_123);
        assert_eq!(d.str().unwrap(), "Data");
        assert_eq!(d.bytes().unwrap(), &[0, 159, 255]);
        assert_eq!(d.str().unwrap(), "SequenceNumber");
        assert_eq!(d.str().unwrap(), "49");
    }

    #[test]
    fn bad_cbor_is_an_error() {
        assert!(to_json(&[0xa1]).is_err(), "a map without its entries");
        assert!(to_json(&[0xa1, 0x01, 0x02]).is_err(), "an integer key");
        assert!(to_json(&[0x01, 0x02]).is_err(), "trailing bytes");
        assert!(to_json(&[0xff]).is_err(), "a stray break");
        let deep = [vec![0x81; 200], vec![0x01]].concat();
        assert!(to_json(&deep).is_err(), "nesting");
    }

    proptest! {
        #[test]
        fn record_data_round_trips_byte_for_byte(data in proptest::collection::vec(any::<u8>(), 0..16_384)) {
            let body = cbor(|e| {
                e.map(1).unwrap();
                e.str("Data").unwrap().bytes(&data).unwrap();
            });
            let json = to_json(&body).unwrap();
            let back = from_json(&json).unwrap();
            prop_assert_eq!(back, body);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = to_json(&bytes);
        }

        #[test]
        fn well_formed_json_always_converts(
            keys in proptest::collection::vec("[A-Za-z]{1,12}", 0..8),
            n in any::<i64>(),
            s in "\\PC{0,20}",
        ) {
            let mut map = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                let v = if i % 2 == 0 { Value::from(n) } else { Value::from(s.clone()) };
                map.insert(k.clone(), v);
            }
            let json = serde_json::to_vec(&Value::Object(map)).unwrap();
            // Members named Data must be base64; these are not always, which is an error, never a panic.
            let _ = from_json(&json);
        }
    }
}
