//! UpdateMaxRecordSize.

use super::{check, empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::UpdateMaxRecordSizeInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: UpdateMaxRecordSizeInput = parse(body)?;
    let mut v = Violations::default();
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    v.required("maxRecordSizeInKiB", &input.max_record_size_in_kib);
    v.range(
        "maxRecordSizeInKiB",
        input.max_record_size_in_kib,
        Some(1024),
        Some(10240),
    );
    check(v)?;
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    let kib = input.max_record_size_in_kib.unwrap_or(1024) as u32;
    engine
        .update_max_record_size(&name, kib)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
