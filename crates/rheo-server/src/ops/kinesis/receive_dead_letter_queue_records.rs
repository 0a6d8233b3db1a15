//! ReceiveDeadLetterQueueRecords.

use super::parse;
use super::queues::receive;
use crate::auth::TenantState;
use crate::router::Reply;
use rheo_queues::stream_queue::Side;
use rheo_wire::kinesis_queues::ReceiveInput;
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let input: ReceiveInput = parse(input)?;
    receive(tenant, input, Side::DeadLetters).await
}
