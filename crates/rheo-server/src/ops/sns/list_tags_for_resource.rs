//! ListTagsForResource (topics).

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::TagResourceInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: TagResourceInput = parse(input)?;
    let tags = ctx
        .sns
        .tags(&required(input.resource_arn, "ResourceArn")?)
        .map_err(api_error)?;
    let tags: Vec<serde_json::Value> = tags
        .into_iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    json(&serde_json::json!({ "Tags": tags }))
}
