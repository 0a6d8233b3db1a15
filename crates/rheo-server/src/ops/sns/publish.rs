//! Publish: to a topic (TargetArn naming a topic works too; phone numbers and platform
//! endpoints are not served).

use super::{Ctx, Node, api_error, json, parse};
use crate::error::ApiError;
use crate::router::Reply;
use rheo_queues::topics::{Publish, SnsError};
use rheo_wire::sns::{PublishEntry, PublishInput};

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: PublishInput = parse(input)?;
    let Some(topic) = input.topic_arn.or(input.target_arn) else {
        return Err(api_error(SnsError::InvalidParameter(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter".into(),
        )));
    };
    let p = entry_in(input.entry)?;
    let out = ctx.sns.publish(&topic, p, &ctx.base_url).await.map_err(api_error)?;
    let mut v = serde_json::Map::new();
    v.insert("MessageId".into(), out.message_id.into());
    if let Some(s) = out.sequence_number {
        v.insert("SequenceNumber".into(), s.into());
    }
    json(&v)
}

pub fn entry_in(e: PublishEntry) -> Result<Publish, ApiError> {
    Ok(Publish {
        message: e.message.unwrap_or_default(),
        subject: e.subject,
        structure: e.message_structure,
        attributes: crate::ops::sqs::attributes_in(e.message_attributes)?,
        group: e.message_group_id,
        dedup_id: e.message_deduplication_id,
    })
}
