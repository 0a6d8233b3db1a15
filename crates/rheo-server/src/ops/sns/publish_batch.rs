//! PublishBatch: up to 10 messages, a result each.

use super::publish::entry_in;
use super::{Ctx, Node, api_error, json, parse, required};
use crate::router::Reply;
use rheo_queues::topics::SnsError;
use rheo_wire::sns::PublishBatchInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: PublishBatchInput = parse(input)?;
    let topic = required(input.topic_arn, "TopicArn")?;
    let entries = input.publish_batch_request_entries.unwrap_or_default();
    if entries.is_empty() {
        return Err(api_error(SnsError::EmptyBatchRequest(
            "The batch request doesn't contain any entries".into(),
        )));
    }
    if entries.len() > 10 {
        return Err(api_error(SnsError::TooManyEntriesInBatchRequest(
            "The batch request contains more entries than permissible".into(),
        )));
    }
    let ids: Vec<String> = entries.iter().map(|e| e.id.clone().unwrap_or_default()).collect();
    let valid = |id: &String| {
        (1..=80).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !ids.iter().all(valid) {
        return Err(api_error(SnsError::InvalidBatchEntryId(
            "The Id of a batch entry in a batch request doesn't abide by the specification.".into(),
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    if ids.iter().any(|i| !seen.insert(i.as_str())) {
        return Err(api_error(SnsError::BatchEntryIdsNotDistinct(
            "Two or more batch entries in the request have the same Id".into(),
        )));
    }
    let total: usize = entries.iter().map(|e| e.message.as_ref().map_or(0, String::len)).sum();
    if total > 256 * 1024 {
        return Err(api_error(SnsError::BatchRequestTooLong(
            "The length of all the messages put together is more than the limit.".into(),
        )));
    }
    let entries = entries.into_iter().map(entry_in).collect::<Result<Vec<_>, _>>()?;
    let results = ctx
        .sns
        .publish_batch(&topic, entries, &ctx.base_url)
        .await
        .map_err(api_error)?;
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (id, r) in ids.into_iter().zip(results) {
        match r {
            Ok(p) => {
                let mut v = serde_json::Map::new();
                v.insert("Id".into(), id.into());
                v.insert("MessageId".into(), p.message_id.into());
                if let Some(s) = p.sequence_number {
                    v.insert("SequenceNumber".into(), s.into());
                }
                ok.push(serde_json::Value::Object(v));
            }
            Err(e) => {
                let api = api_error(e);
                failed.push(serde_json::json!({"Id": id, "Code": api.kind, "Message": api.message, "SenderFault": !api.status.is_server_error()}));
            }
        }
    }
    json(&serde_json::json!({"Successful": ok, "Failed": failed}))
}
