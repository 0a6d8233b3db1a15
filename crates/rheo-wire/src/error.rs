//! The AWS JSON 1.1 error body.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

/// The member AWS puts an error's message in: `message`, except SerializationException's,
/// which its JSON front end writes as `Message` (kinesalite's tests against AWS).
pub fn message_key(kind: &str) -> &'static str {
    if kind == "SerializationException" {
        "Message"
    } else {
        "message"
    }
}

/// `{"__type": kind, "message": message}` as bytes.
pub fn error_body(kind: &str, message: Option<&str>) -> Vec<u8> {
    match message {
        Some(m) if message_key(kind) == "Message" => {
            serde_json::to_vec(&serde_json::json!({"__type": kind, "Message": m})).unwrap_or_default()
        }
        _ => serde_json::to_vec(&ErrorBody { kind, message }).unwrap_or_default(),
    }
}
