//! SetTopicAttributes: one attribute.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::SetAttributeInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SetAttributeInput = parse(input)?;
    ctx.sns
        .set_topic_attribute(
            &required(input.topic_arn, "TopicArn")?,
            &required(input.attribute_name, "AttributeName")?,
            &input.attribute_value.unwrap_or_default(),
        )
        .map_err(api_error)?;
    json(&serde_json::json!({}))
}
