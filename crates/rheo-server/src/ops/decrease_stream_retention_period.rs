//! DecreaseStreamRetentionPeriod.

use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::control::RetentionChange;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    super::change_retention(engine, body, RetentionChange::Decrease).await
}
