//! StartStreamEncryption: the KMS key is recorded and reported (DescribeStream, PutRecord);
//! records are not encrypted by it (docs/compatibility.md).

use super::{ApiError, empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::StreamEncryptionInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: StreamEncryptionInput = parse(input)?;
    require_kms(&input)?;
    let name = resolve_target(engine, &input.target)?;
    engine
        .start_encryption(&name, input.key_id.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}

/// Only KMS encryption exists (kinesis-mock's text; AWS's is not recorded).
pub fn require_kms(input: &StreamEncryptionInput) -> Result<(), ApiError> {
    match input.encryption_type.as_deref() {
        Some("KMS") => Ok(()),
        _ => Err(ApiError::invalid_argument(
            "KMS is the only valid EncryptionType for this request.",
        )),
    }
}
