//! CreateQueue.

use super::queues::{dead_letter, description, forget_deleted};
use super::{engine_error, json, millis, parse, resolve};
use crate::auth::TenantState;
use crate::error::ApiError;
use crate::router::Reply;
use rheo_engine::catalog::QueueStart;
use rheo_engine::kqueues::CreateQueue;
use rheo_wire::kinesis_queues::CreateQueueInput;
use rheo_wire::model::Node;

pub async fn handle(tenant: &TenantState, input: Node<'_>) -> Reply {
    let engine = &tenant.engine;
    let input: CreateQueueInput = parse(input)?;
    let [config] = input.stream_configuration_list.as_slice() else {
        return Err(ApiError::invalid_argument(
            "A queue reads exactly one stream: StreamConfigurationList must have one entry.",
        ));
    };
    let stream = resolve(engine, None, Some(&config.stream_arn))?;
    let start = match config.starting_position.as_ref() {
        None => QueueStart::Latest,
        Some(p) => match (p.kind.as_str(), p.timestamp) {
            ("TRIM_HORIZON", None) => QueueStart::TrimHorizon,
            ("LATEST", None) => QueueStart::Latest,
            ("AT_TIMESTAMP", Some(ts)) => QueueStart::AtTimestamp(millis(ts)),
            ("AT_TIMESTAMP", None) => {
                return Err(ApiError::invalid_argument(
                    "A Timestamp is required for the starting position AT_TIMESTAMP.",
                ));
            }
            (kind, _) => {
                return Err(ApiError::validation(format!(
                    "A Timestamp is allowed only with the starting position AT_TIMESTAMP, not {kind}."
                )));
            }
        },
    };
    let attrs = input.queue_attributes.unwrap_or_default();
    if let Some(d) = &attrs.dead_letter_configuration
        && d.target_type == "NONE"
        && d.max_receive_count.is_some()
    {
        return Err(ApiError::invalid_argument(
            "MaxReceiveCount is allowed only with the dead-letter TargetType BUILT_IN.",
        ));
    }
    forget_deleted(tenant)?;
    let view = engine
        .create_queue(CreateQueue {
            name: input.queue_name,
            stream,
            start,
            visibility_s: attrs.visibility_timeout_seconds,
            dead_letter: dead_letter(&attrs.dead_letter_configuration),
            tags: input.tags.unwrap_or_default(),
        })
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&description(view))
}
