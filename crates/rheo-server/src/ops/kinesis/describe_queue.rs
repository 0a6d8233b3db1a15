//! DescribeQueue.

use super::queues::description;
use super::{engine_error, json, parse};
use crate::auth::TenantState;
use crate::router::Reply;
use rheo_wire::kinesis_queues::QueueTarget;
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let engine = &tenant.engine;
    let input: QueueTarget = parse(input)?;
    let view = engine
        .describe_queue(&input.queue_arn)
        .map_err(|e| engine_error(engine, e))?;
    json(&description(view))
}
