//! DeleteResourcePolicy.

use super::{empty, engine_error, parse, policy_stream};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::ResourcePolicyInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ResourcePolicyInput = parse(input)?;
    let arn = input.resource_arn.unwrap_or_default();
    let stream = policy_stream(engine, &arn)?;
    engine
        .delete_policy(&stream, &arn)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
