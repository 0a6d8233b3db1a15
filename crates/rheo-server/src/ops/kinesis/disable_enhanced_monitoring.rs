//! DisableEnhancedMonitoring.

use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    super::enable_enhanced_monitoring::change(engine, input, false).await
}
