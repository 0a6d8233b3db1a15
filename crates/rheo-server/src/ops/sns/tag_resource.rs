//! TagResource (topics).

use super::{Ctx, Node, api_error, json, parse, required, tags_in};
use crate::router::Reply;
use rheo_wire::sns::TagResourceInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: TagResourceInput = parse(input)?;
    ctx.sns
        .change_tags(
            &required(input.resource_arn, "ResourceArn")?,
            tags_in(input.tags),
            Vec::new(),
        )
        .map_err(api_error)?;
    json(&serde_json::json!({}))
}
