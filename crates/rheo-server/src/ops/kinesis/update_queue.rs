//! UpdateQueue.

use super::queues::{dead_letter, description};
use super::{engine_error, json, parse};
use crate::auth::TenantState;
use crate::error::ApiError;
use crate::router::Reply;
use rheo_engine::kqueues::QueueChanges;
use rheo_wire::kinesis_queues::UpdateQueueInput;
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let engine = &tenant.engine;
    let input: UpdateQueueInput = parse(input)?;
    let attrs = &input.queue_attributes;
    if let Some(d) = &attrs.dead_letter_configuration
        && d.target_type == "NONE"
        && d.max_receive_count.is_some()
    {
        return Err(ApiError::invalid_argument(
            "MaxReceiveCount is allowed only with the dead-letter TargetType BUILT_IN.",
        ));
    }
    let view = engine
        .update_queue(
            &input.queue_arn,
            QueueChanges {
                visibility_s: attrs.visibility_timeout_seconds,
                dead_letter: dead_letter(&attrs.dead_letter_configuration),
            },
        )
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&description(view))
}
