//! UpdateMaxRecordSize.

use super::{empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::UpdateMaxRecordSizeInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: UpdateMaxRecordSizeInput = parse(input)?;
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    let kib = input.max_record_size_in_kib.unwrap_or(1024) as u32;
    engine
        .update_max_record_size(&name, kib)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
