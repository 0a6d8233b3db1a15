//! ListStreamConsumers.

use super::{consumer_out, engine_error, json, millis, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{ListStreamConsumersInput, ListStreamConsumersOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ListStreamConsumersInput = parse(input)?;
    let stream = resolve(engine, None, input.stream_arn.as_deref())?;
    let page = engine
        .list_consumers(
            Some(&stream),
            input.stream_creation_timestamp.map(millis),
            input.next_token.as_deref(),
            input.max_results.map(|m| m as u32),
        )
        .map_err(|e| engine_error(engine, e))?;
    json(&ListStreamConsumersOutput {
        consumers: page.consumers.into_iter().map(consumer_out).collect(),
        next_token: page.next_token,
    })
}
