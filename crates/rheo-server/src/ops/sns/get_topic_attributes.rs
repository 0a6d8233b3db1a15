//! GetTopicAttributes.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::TopicArnInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: TopicArnInput = parse(input)?;
    let attrs = ctx
        .sns
        .get_topic_attributes(&required(input.topic_arn, "TopicArn")?)
        .map_err(api_error)?;
    json(&serde_json::json!({ "Attributes": attrs }))
}
