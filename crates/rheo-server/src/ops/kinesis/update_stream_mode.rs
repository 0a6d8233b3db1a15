//! UpdateStreamMode.

use super::{empty, engine_error, parse, resolve, stream_mode};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::UpdateStreamModeInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: UpdateStreamModeInput = parse(input)?;
    let mode = stream_mode(&input.stream_mode_details);
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    let warm = input.warm_throughput_mi_bps.map(|w| w.min(i64::from(u32::MAX)) as u32);
    engine
        .update_stream_mode(&name, mode, warm)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
