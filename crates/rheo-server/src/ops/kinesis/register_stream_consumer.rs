//! RegisterStreamConsumer.

use super::{consumer_out, engine_error, json, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{RegisterStreamConsumerInput, RegisterStreamConsumerOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: RegisterStreamConsumerInput = parse(input)?;
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
