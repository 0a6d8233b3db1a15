//! Kinesis channels (CreateChannel, DescribeChannel, ListChannels, UpdateChannel,
//! DeleteChannel): delivery from an on-demand stream to a bucket, run by the tenant's
//! `rheo_delivery::Delivery`. Each action is a line here: the service holds their logic, and
//! their error names are Firehose's (`ops/firehose/error.rs`).

use crate::ops::firehose::api_error;
use crate::router::Reply;
use rheo_delivery::Delivery;
use rheo_wire::model::Node;
use serde_json::Value;

pub fn is_channel_action(action: &str) -> bool {
    matches!(
        action,
        "CreateChannel" | "DescribeChannel" | "ListChannels" | "UpdateChannel" | "DeleteChannel"
    )
}

pub async fn dispatch(d: &Delivery, action: &str, input: Node<'_>) -> Reply {
    let (d, action, input): (Delivery, String, Value) = (d.clone(), action.to_owned(), crate::ops::parse(input)?);
    // Control-plane changes save the catalog (fsync): off the async threads.
    let out = tokio::task::spawn_blocking(move || {
        let arn = input.get("ChannelARN").and_then(Value::as_str).unwrap_or_default();
        match action.as_str() {
            "CreateChannel" => d.create_channel(&input),
            "DescribeChannel" => d.describe_channel(arn),
            "ListChannels" => d.list_channels(&input),
            "UpdateChannel" => d.update_channel(&input),
            _ => d.delete_channel(arn),
        }
    })
    .await
    .map_err(|_| crate::error::ApiError::internal())?;
    crate::ops::json(&out.map_err(api_error)?)
}
