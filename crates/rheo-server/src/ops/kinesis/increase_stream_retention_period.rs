//! IncreaseStreamRetentionPeriod.

use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::control::RetentionChange;
use rheo_wire::model::Node;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    super::change_retention(engine, input, RetentionChange::Increase).await
}
