//! DecreaseStreamRetentionPeriod.

use super::{check, check_target, empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::RetentionInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: RetentionInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    v.required("retentionPeriodHours", &input.retention_period_hours);
    check(v)?;
    let name = resolve_target(engine, &input.target)?;
    let hours = input.retention_period_hours.unwrap_or_default();
    engine
        .decrease_retention(&name, hours)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
