//! TagResource (stream ARNs).

use super::{check, check_tag_map, empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::TagResourceInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: TagResourceInput = parse(body)?;
    let mut v = Violations::default();
    v.required("tags", &input.tags);
    check_tag_map(&mut v, "tags", &input.tags);
    v.required("resourceARN", &input.resource_arn);
    v.resource_arn("resourceARN", input.resource_arn.as_deref());
    check(v)?;
    let name = resolve(engine, None, input.resource_arn.as_deref())?;
    engine
        .add_tags(&name, input.tags.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
