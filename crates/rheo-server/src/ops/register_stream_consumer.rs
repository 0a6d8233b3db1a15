//! RegisterStreamConsumer.

use super::{check, check_tag_map, consumer_out, engine_error, json, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::{RegisterStreamConsumerInput, RegisterStreamConsumerOutput};
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: RegisterStreamConsumerInput = parse(body)?;
    let mut v = Violations::default();
    v.required("streamARN", &input.stream_arn);
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    v.required("consumerName", &input.consumer_name);
    v.stream_name("consumerName", input.consumer_name.as_deref());
    check_tag_map(&mut v, "tags", &input.tags);
    check(v)?;
    let stream = resolve(engine, None, input.stream_arn.as_deref())?;
    let name = input.consumer_name.as_deref().unwrap_or_default();
    let consumer = engine
        .register_consumer(&stream, name)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&RegisterStreamConsumerOutput {
        consumer: consumer_out(consumer),
    })
}
