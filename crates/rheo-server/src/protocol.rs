//! The JSON wire protocols: AWS JSON 1.0 (SQS), and for Kinesis AWS JSON 1.1 and AWS CBOR 1.1
//! (the Java SDK's default), told apart by the request's Content-Type. Handlers speak JSON; a CBOR request is
//! transcoded to JSON on the way in and its response back to CBOR on the way out
//! (`rheo_wire::cbor`), so every operation has one implementation.

use crate::body::{Piece, ResponseBody};
use crate::error::ApiError;
use bytes::Bytes;
use http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.1 (Kinesis).
    Json,
    /// AWS JSON 1.0 (SQS).
    Json10,
    Cbor,
}

pub const CBOR_CONTENT_TYPE: &str = "application/x-amz-cbor-1.1";

impl Protocol {
    pub fn of(headers: &HeaderMap) -> Protocol {
        let cbor = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().starts_with("application/x-amz-cbor"));
        if cbor { Protocol::Cbor } else { Protocol::Json }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Json => "application/x-amz-json-1.1",
            Protocol::Json10 => "application/x-amz-json-1.0",
            Protocol::Cbor => CBOR_CONTENT_TYPE,
        }
    }

    /// The request body as the JSON handlers read.
    pub fn decode(self, body: Bytes) -> Result<Bytes, ApiError> {
        match self {
            Protocol::Json | Protocol::Json10 => Ok(body),
            Protocol::Cbor => rheo_wire::cbor::to_json(&body).map(Bytes::from).map_err(|e| {
                tracing::debug!(error = %e, "CBOR request body does not decode");
                ApiError::serialization(format!("Unable to parse the request body: {e}"))
            }),
        }
    }

    /// A successful response body in this protocol. Streamed bodies are gathered first (a
    /// CBOR GetRecords response is written whole); event streams already speak it.
    pub async fn encode(self, body: ResponseBody) -> Result<ResponseBody, ApiError> {
        if self != Protocol::Cbor {
            return Ok(body);
        }
        let json = match body {
            ResponseBody::Full(bytes) => bytes.unwrap_or_default().to_vec(),
            ResponseBody::Stream { first, mut rest } => {
                let mut json = first.map(|b| b.to_vec()).unwrap_or_default();
                while let Some(piece) = rest.recv().await {
                    match piece {
                        Piece::More(b) | Piece::Last(b) => json.extend_from_slice(&b),
                        Piece::Failed(_) => return Err(ApiError::internal()),
                    }
                }
                json
            }
            passed @ (ResponseBody::Events { .. } | ResponseBody::S3(_)) => return Ok(passed),
        };
        if json.is_empty() {
            // An action without output: empty in every protocol.
            return Ok(ResponseBody::full(Vec::new()));
        }
        let cbor = rheo_wire::cbor::from_json(&json).map_err(|e| {
            tracing::error!(error = %e, "a response does not transcode to CBOR");
            ApiError::internal()
        })?;
        Ok(ResponseBody::full(cbor))
    }

    /// An event stream message's payload (JSON from the handler) in this protocol, with its
    /// `:content-type`.
    pub fn event_payload(self, json: Vec<u8>) -> (Vec<u8>, &'static str) {
        match self {
            Protocol::Json | Protocol::Json10 => (json, "application/json"),
            Protocol::Cbor => match rheo_wire::cbor::from_json(&json) {
                Ok(cbor) => (cbor, CBOR_CONTENT_TYPE),
                Err(e) => {
                    tracing::error!(error = %e, "an event does not transcode to CBOR");
                    (json, "application/json")
                }
            },
        }
    }
}
