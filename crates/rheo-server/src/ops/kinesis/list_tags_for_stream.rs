//! ListTagsForStream.

use super::{engine_error, json, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::{ListTagsForStreamInput, ListTagsForStreamOutput, Tag};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ListTagsForStreamInput = parse(input)?;
    let name = resolve_target(engine, &input.target)?;
    let limit = Some(input.limit.map_or(50, |l| l as u32));
    let (tags, has_more_tags) = engine
        .list_tags(&name, input.exclusive_start_tag_key.as_deref(), limit)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&ListTagsForStreamOutput {
        tags: tags.into_iter().map(|(key, value)| Tag { key, value }).collect(),
        has_more_tags,
    })
}
