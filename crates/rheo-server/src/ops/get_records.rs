//! GetRecords, written with the fast response writer.

use super::{check, engine_error, parse};
use crate::body::ResponseBody;
use crate::error::ApiError;
use bytes::Bytes;
use rheo_engine::Engine;
use rheo_engine::data::GetRecordsOutput;
use rheo_types::Arn;
use rheo_wire::records::{RecordOut, write_get_records, write_prefix, write_record, write_suffix};
use rheo_wire::shapes::GetRecordsInput;
use rheo_wire::validate::Violations;

pub async fn handle(engine: &Engine, body: &[u8]) -> Result<ResponseBody, ApiError> {
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
    let data_bytes: usize = out.records.iter().map(|r| r.data.len()).sum();
    if data_bytes <= STREAM_ABOVE_BYTES {
        let records = out.records.iter().map(record_out);
        let body = write_get_records(
            records,
            data_bytes,
            out.next_iterator.as_deref(),
            out.millis_behind_latest,
        );
        return Ok(ResponseBody::full(body));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(send_in_chunks(out, tx));
    Ok(ResponseBody::Stream(rx))
}

/// Responses with more record data than this are streamed in chunks of about this size.
const STREAM_ABOVE_BYTES: usize = 1024 * 1024;

fn record_out(r: &rheo_engine::data::Record) -> RecordOut<'_> {
    RecordOut {
        sequence_number: r.sequence_number,
        arrival_ms: r.arrival_ms,
        partition_key: &r.partition_key,
        data: &r.data,
    }
}

/// Encodes the response chunk by chunk while earlier chunks are being sent. Ends early if the
/// client goes away.
async fn send_in_chunks(out: GetRecordsOutput, tx: tokio::sync::mpsc::Sender<Bytes>) {
    let capacity = STREAM_ABOVE_BYTES * 3 / 2;
    let mut buf = Vec::with_capacity(capacity);
    write_prefix(&mut buf);
    for (i, r) in out.records.iter().enumerate() {
        write_record(&mut buf, &record_out(r), i == 0);
        if buf.len() >= STREAM_ABOVE_BYTES {
            let chunk = std::mem::replace(&mut buf, Vec::with_capacity(capacity));
            if tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
        }
    }
    write_suffix(&mut buf, out.next_iterator.as_deref(), out.millis_behind_latest);
    let _ = tx.send(Bytes::from(buf)).await;
}
