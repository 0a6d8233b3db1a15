//! RemoveTagsFromStream.

use super::{check, check_tag_keys, check_target, empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::RemoveTagsFromStreamInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: RemoveTagsFromStreamInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    check_tag_keys(&mut v, "tagKeys", &input.tag_keys);
    check(v)?;
    let name = resolve_target(engine, &input.target)?;
    engine
        .remove_tags(&name, &input.tag_keys.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
