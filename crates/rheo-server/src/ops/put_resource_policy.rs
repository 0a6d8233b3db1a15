//! PutResourcePolicy: kept and returned by GetResourcePolicy; not enforced (docs/security.md).

use super::{ApiError, empty, engine_error, parse, policy_stream};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::ResourcePolicyInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ResourcePolicyInput = parse(input)?;
    let arn = input.resource_arn.unwrap_or_default();
    let policy = input.policy.unwrap_or_default();
    // A policy is a JSON document (IAM's grammar is not checked).
    if !serde_json::from_str::<serde_json::Value>(&policy).is_ok_and(|v| v.is_object()) {
        return Err(ApiError::invalid_argument("Policy is not a valid JSON document."));
    }
    let stream = policy_stream(engine, &arn)?;
    engine
        .put_policy(&stream, &arn, policy)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
