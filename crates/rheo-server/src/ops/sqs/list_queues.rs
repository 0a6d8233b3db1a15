//! ListQueues: URLs in name order; `QueueUrls` is left out when there are none (as AWS does).

use super::{Ctx, Node, api_error, json, parse};
use crate::router::Reply;
use rheo_queues::QueueError;
use rheo_wire::sqs::ListQueuesInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: ListQueuesInput = parse(input)?;
    let max = max_results(input.max_results)?;
    let page = ctx
        .sqs
        .list_queues(input.queue_name_prefix.as_deref(), max, input.next_token.as_deref())
        .map_err(api_error)?;
    let mut out = serde_json::Map::new();
    if !page.names.is_empty() {
        let urls: Vec<String> = page.names.iter().map(|n| ctx.url(n)).collect();
        out.insert("QueueUrls".into(), urls.into());
    }
    if let Some(t) = page.next_token {
        out.insert("NextToken".into(), t.into());
    }
    json(&out)
}

/// MaxResults: 1 to 1000 (and it enables NextToken).
pub fn max_results(v: Option<i64>) -> Result<Option<usize>, crate::error::ApiError> {
    match v {
        None => Ok(None),
        Some(n @ 1..=1000) => Ok(Some(n as usize)),
        Some(n) => Err(api_error(QueueError::InvalidParameterValue(format!(
            "Value {n} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
        )))),
    }
}
