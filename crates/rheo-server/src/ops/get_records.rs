//! GetRecords, written with the fast response writer.

use super::{check, engine_error, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_types::Arn;
use rheo_wire::records::{RecordOut, write_get_records};
use rheo_wire::shapes::GetRecordsInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: GetRecordsInput = parse(body)?;
    let mut v = Violations::default();
    v.required("shardIterator", &input.shard_iterator);
    v.string("shardIterator", input.shard_iterator.as_deref(), 1, 512, None);
    v.range("limit", input.limit, Some(1), Some(10_000));
    v.stream_arn("streamARN", input.stream_arn.as_deref());
    check(v)?;
    let stream = input
        .stream_arn
        .as_deref()
        .and_then(|a| Arn::parse(a).ok())
        .map(|a| a.stream);
    let out = engine
        .get_records(
            input.shard_iterator.as_deref().unwrap_or_default(),
            input.limit.map(|l| l as u32),
            stream.as_ref(),
        )
        .await
        .map_err(|e| engine_error(engine, e))?;
    let data_bytes = out.records.iter().map(|r| r.data.len()).sum();
    let records = out.records.iter().map(|r| RecordOut {
        sequence_number: r.sequence_number,
        arrival_ms: r.arrival_ms,
        partition_key: &r.partition_key,
        data: &r.data,
    });
    Ok(write_get_records(
        records,
        data_bytes,
        out.next_iterator.as_deref(),
        out.millis_behind_latest,
    ))
}
