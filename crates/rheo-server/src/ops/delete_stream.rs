//! DeleteStream.

use super::{check, check_target, empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::DeleteStreamInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: DeleteStreamInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    check(v)?;
    let name = resolve_target(engine, &input.target)?;
    let enforce = input.enforce_consumer_deletion.unwrap_or(false);
    engine
        .delete_stream(&name, enforce)
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
