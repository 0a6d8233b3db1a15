//! The AWS JSON 1.1 error body.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

/// `{"__type": kind, "message": message}` as bytes.
pub fn error_body(kind: &str, message: Option<&str>) -> Vec<u8> {
    serde_json::to_vec(&ErrorBody { kind, message }).unwrap_or_default()
}
