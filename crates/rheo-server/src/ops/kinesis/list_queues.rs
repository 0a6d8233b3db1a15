//! ListQueues.

use super::{engine_error, json, millis, parse, resolve};
use crate::auth::TenantState;
use crate::router::Reply;
use rheo_wire::kinesis_queues::{ListQueuesInput, ListQueuesOutput, QueueSummary, StreamIdentifier};
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let engine = &tenant.engine;
    let input: ListQueuesInput = parse(input)?;
    let mut streams = Vec::new();
    for f in input.stream_filter.unwrap_or_default() {
        let name = resolve(engine, None, Some(&f.stream_arn))?;
        streams.push((name, f.stream_creation_timestamp.map(millis)));
    }
    let page = engine
        .list_queues(streams, input.next_token.as_deref(), input.max_results)
        .map_err(|e| engine_error(engine, e))?;
    json(&ListQueuesOutput {
        queue_summaries: page
            .queues
            .into_iter()
            .map(|v| QueueSummary {
                queue_name: v.meta.name.clone(),
                queue_arn: v.arn.clone(),
                queue_status: v.status.as_str(),
                queue_creation_timestamp: rheo_wire::timestamp(v.meta.created_ms),
                streams: vec![StreamIdentifier {
                    stream_arn: v.stream_arn.clone(),
                    stream_creation_timestamp: rheo_wire::timestamp(v.stream_created_ms),
                }],
            })
            .collect(),
        next_token: page.next_token,
    })
}
