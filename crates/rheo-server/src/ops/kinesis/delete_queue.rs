//! DeleteQueue: the queue is DELETING, its records' delivery state goes at once (receipt
//! handles stop working, nothing in flight is delivered again); the stream keeps its records.

use super::queues::forget_deleted;
use super::{empty, engine_error, parse};
use crate::auth::TenantState;
use crate::router::Reply;
use rheo_wire::kinesis_queues::QueueTarget;
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let engine = &tenant.engine;
    let input: QueueTarget = parse(input)?;
    engine
        .delete_queue(&input.queue_arn)
        .await
        .map_err(|e| engine_error(engine, e))?;
    forget_deleted(tenant)?;
    empty()
}
