//! AddTagsToStream.

use super::{check, check_tag_map, check_target, empty, engine_error, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::AddTagsToStreamInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: AddTagsToStreamInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    v.required("tags", &input.tags);
    check_tag_map(&mut v, "tags", &input.tags);
    check(v)?;
    let name = resolve_target(engine, &input.target)?;
    engine
        .add_tags(&name, input.tags.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
