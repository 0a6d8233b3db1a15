//! ListTagsForResource (stream ARNs).

use super::{engine_error, json, parse, resolve};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{ListTagsForResourceInput, ListTagsForResourceOutput, Tag};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ListTagsForResourceInput = parse(input)?;
    let name = resolve(engine, None, input.resource_arn.as_deref())?;
    let (tags, _) = engine
        .list_tags(&name, None, None)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&ListTagsForResourceOutput {
        tags: tags.into_iter().map(|(key, value)| Tag { key, value }).collect(),
    })
}
