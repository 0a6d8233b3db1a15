//! ListStreams.

use super::{engine_error, json, mode_out, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_types::StreamName;
use rheo_wire::model::Node;
use rheo_wire::shapes::{ListStreamsInput, ListStreamsOutput, StreamSummary};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: ListStreamsInput = parse(input)?;
    let start = input
        .exclusive_start_stream_name
        .as_deref()
        .and_then(|s| StreamName::parse(s).ok());
    let (streams, has_more) = engine
        .list_streams(
            input.limit.map(|l| l as u32),
            start.as_ref(),
            input.next_token.as_deref(),
        )
        .await
        .map_err(|e| engine_error(engine, e))?;
    let next_token = streams
        .last()
        .filter(|_| has_more)
        .map(|s| engine.list_streams_token(&s.name));
    json(&ListStreamsOutput {
        stream_names: streams.iter().map(|s| s.name.to_string()).collect(),
        has_more_streams: has_more,
        next_token,
        stream_summaries: streams
            .iter()
            .map(|s| StreamSummary {
                stream_name: s.name.to_string(),
                stream_arn: s.arn.clone(),
                stream_status: s.status,
                stream_mode_details: mode_out(s),
                stream_creation_timestamp: rheo_wire::timestamp(s.created_ms),
            })
            .collect(),
    })
}
