//! UntagResource (stream ARNs).

use super::{check, check_tag_keys, empty, engine_error, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::UntagResourceInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: UntagResourceInput = parse(body)?;
    let mut v = Violations::default();
    check_tag_keys(&mut v, "tagKeys", &input.tag_keys);
    v.required("resourceARN", &input.resource_arn);
    v.resource_arn("resourceARN", input.resource_arn.as_deref());
    check(v)?;
    let name = resolve(engine, None, input.resource_arn.as_deref())?;
    engine
        .remove_tags(&name, &input.tag_keys.unwrap_or_default())
        .await
        .map_err(|e| engine_error(engine, e))?;
    empty()
}
