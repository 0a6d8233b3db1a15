//! ListTagsForResource (stream ARNs).

use super::{check, engine_error, json, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::shapes::{ListTagsForResourceInput, ListTagsForResourceOutput, Tag};
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: ListTagsForResourceInput = parse(body)?;
    let mut v = Violations::default();
    v.required("resourceARN", &input.resource_arn);
    v.resource_arn("resourceARN", input.resource_arn.as_deref());
    check(v)?;
    let name = resolve(engine, None, input.resource_arn.as_deref())?;
    let (tags, _) = engine
        .list_tags(&name, None, None)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&ListTagsForResourceOutput {
        tags: tags.into_iter().map(|(key, value)| Tag { key, value }).collect(),
    })
}
