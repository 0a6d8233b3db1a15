//! DeleteTopic: the topic and its subscriptions; one that does not exist is no error.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::TopicArnInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: TopicArnInput = parse(input)?;
    ctx.sns
        .delete_topic(&required(input.topic_arn, "TopicArn")?)
        .map_err(api_error)?;
    json(&serde_json::json!({}))
}
