//! UpdateStreamMode.

use super::{check, empty, engine_error, parse, resolve, stream_mode};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::UpdateStreamModeInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: UpdateStreamModeInput = parse(body)?;
    let mut v = Violations::default();
    v.required("streamARN", &input.stream_arn);
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    v.required("streamModeDetails", &input.stream_mode_details);
    let mode = stream_mode(&mut v, &input.stream_mode_details);
    v.range("warmThroughputMiBps", input.warm_throughput_mi_bps, Some(0), None);
    check(v)?;
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    let warm = input.warm_throughput_mi_bps.map(|w| w.min(i64::from(u32::MAX)) as u32);
    engine
        .update_stream_mode(&name, mode, warm)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
