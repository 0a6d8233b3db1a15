//! One module per SNS action (query protocol), plus what they share: the request context, the
//! error mapping and message attribute conversions.

pub mod confirm_subscription;
pub mod create_topic;
pub mod delete_topic;
pub mod error;
pub mod get_subscription_attributes;
pub mod get_topic_attributes;
pub mod list_subscriptions;
pub mod list_subscriptions_by_topic;
pub mod list_tags_for_resource;
pub mod list_topics;
pub mod publish;
pub mod publish_batch;
pub mod set_subscription_attributes;
pub mod set_topic_attributes;
pub mod subscribe;
pub mod tag_resource;
pub mod unsubscribe;
pub mod untag_resource;

pub use crate::ops::{Node, json, parse};
pub use error::api_error;

use crate::error::ApiError;
use crate::router::Reply;
use rheo_queues::topics::{Sns, SnsError};

/// What an SNS handler knows of its request besides the body.
pub struct Ctx {
    pub sns: Sns,
    /// `scheme://host[:port]` as the client called the server: confirmation and unsubscribe
    /// URLs start with it.
    pub base_url: String,
}

/// The SNS actions Rheo serves.
pub fn serves(action: &str) -> bool {
    SERVED.contains(&action)
}

const SERVED: &[&str] = &[
    "ConfirmSubscription",
    "CreateTopic",
    "DeleteTopic",
    "GetSubscriptionAttributes",
    "GetTopicAttributes",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "ListTagsForResource",
    "ListTopics",
    "Publish",
    "PublishBatch",
    "SetSubscriptionAttributes",
    "SetTopicAttributes",
    "Subscribe",
    "TagResource",
    "Unsubscribe",
    "UntagResource",
];

pub async fn dispatch(ctx: &Ctx, action: &str, input: Node<'_>) -> Reply {
    match action {
        "ConfirmSubscription" => confirm_subscription::handle(ctx, input).await,
        "CreateTopic" => create_topic::handle(ctx, input).await,
        "DeleteTopic" => delete_topic::handle(ctx, input).await,
        "GetSubscriptionAttributes" => get_subscription_attributes::handle(ctx, input).await,
        "GetTopicAttributes" => get_topic_attributes::handle(ctx, input).await,
        "ListSubscriptions" => list_subscriptions::handle(ctx, input).await,
        "ListSubscriptionsByTopic" => list_subscriptions_by_topic::handle(ctx, input).await,
        "ListTagsForResource" => list_tags_for_resource::handle(ctx, input).await,
        "ListTopics" => list_topics::handle(ctx, input).await,
        "Publish" => publish::handle(ctx, input).await,
        "PublishBatch" => publish_batch::handle(ctx, input).await,
        "SetSubscriptionAttributes" => set_subscription_attributes::handle(ctx, input).await,
        "SetTopicAttributes" => set_topic_attributes::handle(ctx, input).await,
        "Subscribe" => subscribe::handle(ctx, input).await,
        "TagResource" => tag_resource::handle(ctx, input).await,
        "Unsubscribe" => unsubscribe::handle(ctx, input).await,
        "UntagResource" => untag_resource::handle(ctx, input).await,
        _ => Err(ApiError::unknown_operation()),
    }
}

/// A required member: SNS answers its absence with InvalidParameter.
pub fn required<T>(value: Option<T>, name: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| api_error(SnsError::InvalidParameter(format!("Invalid parameter: {name}"))))
}

pub fn tags_in(tags: Option<Vec<rheo_wire::sns::Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect()
}

/// The rows of a subscription listing, as the model names their members.
pub fn subscriptions_out(rows: Vec<[String; 5]>, next: Option<String>) -> Reply {
    let subs: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|[arn, owner, protocol, endpoint, topic]| {
            serde_json::json!({"SubscriptionArn": arn, "Owner": owner, "Protocol": protocol, "Endpoint": endpoint, "TopicArn": topic})
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("Subscriptions".into(), subs.into());
    if let Some(t) = next {
        out.insert("NextToken".into(), t.into());
    }
    json(&out)
}
