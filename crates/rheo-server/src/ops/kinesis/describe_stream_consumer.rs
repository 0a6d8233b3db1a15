//! DescribeStreamConsumer.

use super::{consumer_out, consumer_ref, engine_error, json, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{ConsumerDescription, ConsumerTarget, DescribeStreamConsumerOutput};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ConsumerTarget = parse(input)?;
    let consumer = consumer_ref(engine, &input)?;
    let view = engine
        .describe_consumer(&consumer)
        .map_err(|e| engine_error(engine, e))?;
    let stream_arn = view.stream_arn.clone();
    json(&DescribeStreamConsumerOutput {
        consumer_description: ConsumerDescription {
            consumer: consumer_out(view),
            stream_arn,
        },
    })
}
