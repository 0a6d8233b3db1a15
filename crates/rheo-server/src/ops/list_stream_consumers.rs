//! ListStreamConsumers.

use super::{check, consumer_out, engine_error, json, millis, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::{ListStreamConsumersInput, ListStreamConsumersOutput};
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: ListStreamConsumersInput = parse(body)?;
    let mut v = Violations::default();
    v.required("streamARN", &input.stream_arn);
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    v.string("nextToken", input.next_token.as_deref(), 1, 1_048_576, None);
    v.range("maxResults", input.max_results, Some(1), Some(10_000));
    check(v)?;
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
