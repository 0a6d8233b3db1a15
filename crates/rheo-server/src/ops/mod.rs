//! One module per service, and in each one module per AWS action.

pub mod firehose;
pub mod glue;
pub mod kinesis;
pub mod lambda;
pub mod logs;
pub mod sns;
pub mod sqs;

use crate::error::ApiError;

pub use rheo_wire::model::Node;

/// Decodes the checked request (see `rheo_wire::model::check`) into the handler's shape.
pub fn parse<'a, T: serde::Deserialize<'a>>(input: Node<'a>) -> Result<T, ApiError> {
    input.decode().map_err(|e| {
        // The model check has passed: a shape that does not decode is a defect here.
        tracing::error!(error = %e, "a checked request does not decode");
        ApiError::serialization(format!("Unable to parse the request body: {e}"))
    })
}

pub fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|_| ApiError::internal())
}

/// What actions without output return: an empty body ("If the action is successful, the
/// service sends back an HTTP 200 response with an empty HTTP body", the API reference).
pub fn empty() -> Result<Vec<u8>, ApiError> {
    Ok(Vec::new())
}
