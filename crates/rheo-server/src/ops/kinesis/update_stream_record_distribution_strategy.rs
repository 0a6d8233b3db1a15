//! UpdateStreamRecordDistributionStrategy.

use super::{distribution, empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::UpdateStreamRecordDistributionStrategyInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: UpdateStreamRecordDistributionStrategyInput = parse(input)?;
    let strategy = input.record_distribution_strategy.as_deref();
    let name = resolve(engine, None, input.stream_arn.as_deref())?;
    engine
        .update_distribution(&name, distribution(strategy))
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
