//! ConfirmSubscription: by the token sent to the endpoint (also reached, unsigned, through the
//! SubscribeURL of the confirmation message).

use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_wire::sns::ConfirmSubscriptionInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: ConfirmSubscriptionInput = parse(input)?;
    let arn = ctx
        .sns
        .confirm(
            &required(input.topic_arn, "TopicArn")?,
            &required(input.token, "Token")?,
        )
        .map_err(api_error)?;
    json(&serde_json::json!({ "SubscriptionArn": arn }))
}
