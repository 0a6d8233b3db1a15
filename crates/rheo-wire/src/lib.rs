//! AWS wire formats for Kinesis, without I/O: request and response shapes (AWS member names
//! live here), the AWS JSON 1.1 error body, model-constraint validation with AWS's messages, and
//! a fast writer for GetRecords responses.

#![forbid(unsafe_code)]
// Everything here parses or writes bytes from the network, much of it before authentication:
// no slicing, indexing or arithmetic that can panic or wrap (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::string_slice, clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

pub mod aws_chunked;
pub mod cbor;
pub mod error;
pub mod eventstream;
pub mod kinesis_queues;
pub mod lambda;
pub mod logs;
pub mod model;
pub mod query;
pub mod records;
pub mod rest;
pub mod shapes;
pub mod sigv2;
pub mod sigv4;
pub mod sns;
pub mod sqs;
pub mod validate;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig, Simd};
use std::sync::LazyLock;

/// The base64 engine for blobs: standard alphabet, SIMD where the CPU has it (detected once).
/// It writes padding, as the AWS SDKs do, and accepts blobs with or without it.
pub static BASE64: LazyLock<Simd> = LazyLock::new(|| {
    Simd::standard(GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent))
});

/// Decodes a blob member.
pub fn decode_blob(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(s)
}

/// Encodes bytes as a blob member (standard base64, padded).
pub fn encode_blob(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Epoch milliseconds as the epoch seconds AWS JSON uses for timestamps.
pub fn timestamp(ms: i64) -> f64 {
    ms as f64 / 1000.0
}
