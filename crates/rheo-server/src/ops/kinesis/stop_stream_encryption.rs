//! StopStreamEncryption.

use super::start_stream_encryption::require_kms;
use super::{empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::StreamEncryptionInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: StreamEncryptionInput = parse(input)?;
    require_kms(&input)?;
    let name = resolve_target(engine, &input.target)?;
    engine
        .stop_encryption(&name)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
