//! UpdateStreamRecordDistributionStrategy.

use super::{check, distribution, empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::UpdateStreamRecordDistributionStrategyInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: UpdateStreamRecordDistributionStrategyInput = parse(body)?;
    let mut v = Violations::default();
    v.required("streamARN", &input.stream_arn);
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    let strategy = input.record_distribution_strategy.as_deref();
    v.required("recordDistributionStrategy", &strategy);
    v.one_of("recordDistributionStrategy", strategy, &["AUTO", "USER_PARTITION_KEY"]);
    check(v)?;
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    engine
        .update_distribution(&name, distribution(strategy))
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
