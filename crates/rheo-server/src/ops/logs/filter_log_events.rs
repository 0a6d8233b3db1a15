//! FilterLogEvents: a group's events across its streams (or the ones named, or by prefix),
//! between startTime and endTime, whose messages hold every term of the filter pattern;
//! oldest first, `limit` (default 10,000) a page.

use super::{group_of, no_group, token_index};
use crate::error::ApiError;
use crate::ops::{Node, json, parse};
use rheo_functions::Functions;
use rheo_wire::logs::FilterLogEventsInput;

pub fn handle(functions: &Functions, input: Node<'_>) -> Result<Vec<u8>, ApiError> {
    let i: FilterLogEventsInput = parse(input)?;
    let group = group_of(i.log_group_name, i.log_group_identifier)?;
    let logs = functions.logs();
    let all_streams = logs.streams(&group).ok_or_else(no_group)?;
    let mut names = i.log_stream_names.unwrap_or_default();
    if let Some(prefix) = &i.log_stream_name_prefix {
        names.extend(
            all_streams
                .iter()
                .filter(|s| s.name.starts_with(prefix.as_str()))
                .map(|s| s.name.clone()),
        );
        if names.is_empty() {
            return json(&serde_json::json!({"events": [], "searchedLogStreams": []}));
        }
    }
    let events = logs
        .filter(&group, &names, i.start_time, i.end_time, i.filter_pattern.as_deref())
        .unwrap_or_default();
    let limit = i.limit.unwrap_or(10_000).clamp(1, 10_000);
    let from = token_index(i.next_token.as_deref())?.unwrap_or(0).min(events.len());
    let to = from.saturating_add(limit).min(events.len());
    let page: Vec<serde_json::Value> = events
        .get(from..to)
        .unwrap_or_default()
        .iter()
        .map(|(stream, e)| {
            serde_json::json!({
                "logStreamName": stream,
                "timestamp": e.timestamp_ms,
                "message": e.message,
                "ingestionTime": e.ingestion_ms,
                "eventId": format!("{:056}", e.id),
            })
        })
        .collect();
    let mut out = serde_json::json!({"events": page, "searchedLogStreams": []});
    if to < events.len()
        && let Some(o) = out.as_object_mut()
    {
        o.insert("nextToken".into(), format!("f/{to}").into());
    }
    json(&out)
}
