//! ListSubscriptionsByTopic: one topic's subscriptions, 100 a page.

use super::{Ctx, Node, api_error, parse, required, subscriptions_out};
use crate::router::Reply;
use rheo_wire::sns::TopicArnInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: TopicArnInput = parse(input)?;
    let topic = required(input.topic_arn, "TopicArn")?;
    let (rows, next) = ctx
        .sns
        .list_subscriptions(Some(&topic), input.next_token.as_deref())
        .map_err(api_error)?;
    subscriptions_out(rows, next)
}
