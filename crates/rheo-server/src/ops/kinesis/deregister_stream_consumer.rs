//! DeregisterStreamConsumer.

use super::{consumer_ref, empty, engine_error, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::ConsumerTarget;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ConsumerTarget = parse(input)?;
    let consumer = consumer_ref(engine, &input)?;
    engine
        .deregister_consumer(&consumer)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
