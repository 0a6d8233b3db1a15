//! Unsubscribe (also reached, unsigned, through a notification's UnsubscribeURL).

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::SubscriptionArnInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SubscriptionArnInput = parse(input)?;
    ctx.sns
        .unsubscribe(&required(input.subscription_arn, "SubscriptionArn")?)
        .map_err(api_error)?;
    json(&serde_json::json!({}))
}
