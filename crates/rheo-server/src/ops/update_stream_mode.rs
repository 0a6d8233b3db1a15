//! UpdateStreamMode.

use super::{check, empty, engine_error, parse, resolve};
use crate::error::ApiError;
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::catalog::StreamMode;
use rheo_wire::shapes::UpdateStreamModeInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: UpdateStreamModeInput = parse(body)?;
    let mut v = Violations::default();
    v.required("streamARN", &input.stream_arn);
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    v.required("streamModeDetails", &input.stream_mode_details);
    let mode = input
        .stream_mode_details
        .as_ref()
        .and_then(|d| d.stream_mode.as_deref());
    if input.stream_mode_details.is_some() {
        v.required("streamModeDetails.streamMode", &mode);
    }
    v.one_of("streamModeDetails.streamMode", mode, &["PROVISIONED", "ON_DEMAND"]);
    v.range("warmThroughputMiBps", input.warm_throughput_mi_bps, Some(0), None);
    check(v)?;
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    let mode = match mode {
        Some("ON_DEMAND") => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    };
    if mode == StreamMode::Provisioned && input.warm_throughput_mi_bps.is_some() {
        return Err(ApiError::invalid_argument(
            "WarmThroughputMiBps can only be specified for streams in ON_DEMAND mode.",
        ));
    }
    let warm = input.warm_throughput_mi_bps.map(|w| w.min(i64::from(u32::MAX)) as u32);
    engine
        .update_stream_mode(&name, mode, warm)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
