//! GetLogEvents: one stream's events, newest `limit` (default 10,000) unless startFromHead,
//! with forward and backward tokens.

use super::{group_of, no_group, no_stream, token_index};
use crate::error::ApiError;
use crate::ops::{Node, json, parse};
use rheo_functions::Functions;
use rheo_wire::logs::GetLogEventsInput;

pub fn handle(functions: &Functions, input: Node<'_>) -> Result<Vec<u8>, ApiError> {
    let i: GetLogEventsInput = parse(input)?;
    let group = group_of(i.log_group_name, i.log_group_identifier)?;
    let logs = functions.logs();
    let streams = logs.streams(&group).ok_or_else(no_group)?;
    if !streams.iter().any(|s| s.name == i.log_stream_name) {
        return Err(no_stream());
    }
    let events = logs
        .filter(
            &group,
            std::slice::from_ref(&i.log_stream_name),
            i.start_time,
            i.end_time,
            None,
        )
        .unwrap_or_default();
    let limit = i.limit.unwrap_or(10_000).clamp(1, 10_000);
    // Tokens name event numbers, which stay valid as old events are dropped: `f/N` the events
    // from N on, `b/N` those before N.
    let token = i.next_token.as_deref();
    let backward = token.is_some_and(|t| t.starts_with("b/"));
    let at = token_index(token)?.map(|n| n as u64);
    let page: Vec<&rheo_functions::logs::LogEvent> = match at {
        Some(n) if backward => {
            let before: Vec<_> = events.iter().map(|(_, e)| e).filter(|e| e.id < n).collect();
            let skip = before.len().saturating_sub(limit);
            before.into_iter().skip(skip).collect()
        }
        Some(n) => events
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.id >= n)
            .take(limit)
            .collect(),
        None if i.start_from_head == Some(true) => events.iter().map(|(_, e)| e).take(limit).collect(),
        None => events
            .iter()
            .map(|(_, e)| e)
            .skip(events.len().saturating_sub(limit))
            .collect(),
    };
    let next = page.last().map_or(at.unwrap_or(0), |e| e.id.saturating_add(1));
    let prev = page.first().map_or(at.unwrap_or(0), |e| e.id);
    let page: Vec<serde_json::Value> = page
        .iter()
        .map(
            |e| serde_json::json!({"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms}),
        )
        .collect();
    json(&serde_json::json!({
        "events": page,
        "nextForwardToken": format!("f/{next:056}"),
        "nextBackwardToken": format!("b/{prev:056}"),
    }))
}
