//! CreateTopic: a topic, or the existing one of that name if its attributes match.

use super::{Ctx, Node, api_error, json, parse, required, tags_in};
use crate::router::Reply;
use rheo_wire::sns::CreateTopicInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: CreateTopicInput = parse(input)?;
    let name = required(input.name, "Name")?;
    let arn = ctx
        .sns
        .create_topic(&name, input.attributes.unwrap_or_default(), tags_in(input.tags))
        .map_err(api_error)?;
    json(&serde_json::json!({ "TopicArn": arn }))
}
