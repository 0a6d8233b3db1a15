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
    let (from, to) = match token_index(i.next_token.as_deref())? {
        Some(n) if i.next_token.as_deref().is_some_and(|t| t.starts_with("b/")) => (n.saturating_sub(limit), n),
        Some(n) => (n, n.saturating_add(limit)),
        None if i.start_from_head == Some(true) => (0, limit),
        None => (events.len().saturating_sub(limit), events.len()),
    };
    let to = to.min(events.len());
    let from = from.min(to);
    let page: Vec<serde_json::Value> = events
        .get(from..to)
        .unwrap_or_default()
        .iter()
        .map(|(_, e)| serde_json::json!({"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms}))
        .collect();
    json(&serde_json::json!({
        "events": page,
        "nextForwardToken": format!("f/{to:056}"),
        "nextBackwardToken": format!("b/{from:056}"),
    }))
}
