//! Subscribe: SQS and Lambda subscriptions are confirmed at once; HTTP(S) ones are sent a
//! SubscriptionConfirmation.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::SubscribeInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SubscribeInput = parse(input)?;
    let arn = ctx
        .sns
        .subscribe(
            &required(input.topic_arn, "TopicArn")?,
            &required(input.protocol, "Protocol")?,
            &required(input.endpoint, "Endpoint")?,
            input.attributes.unwrap_or_default(),
            input.return_subscription_arn.unwrap_or(false),
            &ctx.base_url,
        )
        .await
        .map_err(api_error)?;
    json(&serde_json::json!({ "SubscriptionArn": arn }))
}
