//! GetResourcePolicy: `{}` when none is set.

use super::{engine_error, json, parse, policy_stream};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{GetResourcePolicyOutput, ResourcePolicyInput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ResourcePolicyInput = parse(input)?;
    let arn = input.resource_arn.unwrap_or_default();
    let stream = policy_stream(engine, &arn)?;
    let policy = engine
        .get_policy(&stream, &arn)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&GetResourcePolicyOutput { policy })
}
