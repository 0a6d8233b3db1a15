//! DescribeLogStreams: a group's streams by name (or reversed), by prefix.

use super::{group_of, no_group};
use crate::error::ApiError;
use crate::ops::{Node, json, parse};
use rheo_functions::Functions;
use rheo_wire::logs::DescribeLogStreamsInput;

pub fn handle(functions: &Functions, input: Node<'_>) -> Result<Vec<u8>, ApiError> {
    let i: DescribeLogStreamsInput = parse(input)?;
    let group = group_of(i.log_group_name, i.log_group_identifier)?;
    let mut streams = functions.logs().streams(&group).ok_or_else(no_group)?;
    if i.descending == Some(true) {
        streams.reverse();
    }
    let limit = i.limit.unwrap_or(50).clamp(1, 50);
    let list: Vec<serde_json::Value> = streams
        .into_iter()
        .filter(|s| i.log_stream_name_prefix.as_deref().is_none_or(|p| s.name.starts_with(p)))
        .take(limit)
        .map(|s| {
            serde_json::json!({
                "logStreamName": s.name,
                "creationTime": s.created_ms,
                "firstEventTimestamp": s.first_event_ms,
                "lastEventTimestamp": s.last_event_ms,
                "lastIngestionTime": s.last_event_ms,
                "arn": format!("arn:aws:logs:{}:{}:log-group:{group}:log-stream:{}", functions.region(), functions.account(), s.name),
                "storedBytes": 0,
            })
        })
        .collect();
    json(&serde_json::json!({"logStreams": list}))
}
