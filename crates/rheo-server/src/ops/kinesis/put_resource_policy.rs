//! PutResourcePolicy: kept and returned by GetResourcePolicy; not enforced (docs/security.md).

use super::{ApiError, empty, engine_error, parse, policy_stream};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::ResourcePolicyInput;

/// Resource-based policies are at most 20 KiB (AWS's documented limit).
const MAX_POLICY_BYTES: usize = 20 * 1024;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ResourcePolicyInput = parse(input)?;
    let arn = input.resource_arn.unwrap_or_default();
    let policy = input.policy.unwrap_or_default();
    // AWS's limit for a resource-based policy (its message is not recorded).
    if policy.len() > MAX_POLICY_BYTES {
        return Err(ApiError::new(
            "LimitExceededException",
            format!("The policy is larger than {MAX_POLICY_BYTES} bytes."),
        ));
    }
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
