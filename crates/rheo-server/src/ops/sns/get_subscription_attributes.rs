//! GetSubscriptionAttributes.

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::SubscriptionArnInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: SubscriptionArnInput = parse(input)?;
    let attrs = ctx
        .sns
        .get_subscription_attributes(&required(input.subscription_arn, "SubscriptionArn")?)
        .map_err(api_error)?;
    json(&serde_json::json!({ "Attributes": attrs }))
}
