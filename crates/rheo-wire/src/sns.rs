//! Request shapes of the SNS operations Rheo serves (../shared/aws-models/sns-2010-03-31.json),
//! read from query forms into the request tree. Outputs are written as JSON values in the
//! model's member names and turned into XML by `query`.

use crate::sqs::MessageAttributeValue;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicInput {
    pub name: Option<String>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnInput {
    pub topic_arn: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NextTokenInput {
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetAttributeInput {
    pub topic_arn: Option<String>,
    pub subscription_arn: Option<String>,
    pub attribute_name: Option<String>,
    pub attribute_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeInput {
    pub topic_arn: Option<String>,
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub return_subscription_arn: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmSubscriptionInput {
    pub topic_arn: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnInput {
    pub subscription_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishInput {
    pub topic_arn: Option<String>,
    pub target_arn: Option<String>,
    pub phone_number: Option<String>,
    #[serde(flatten)]
    pub entry: PublishEntry,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishEntry {
    pub id: Option<String>,
    pub message: Option<String>,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    pub message_attributes: Option<BTreeMap<String, MessageAttributeValue>>,
    pub message_deduplication_id: Option<String>,
    pub message_group_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchInput {
    pub topic_arn: Option<String>,
    pub publish_batch_request_entries: Option<Vec<PublishEntry>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub resource_arn: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub tag_keys: Option<Vec<String>>,
}
