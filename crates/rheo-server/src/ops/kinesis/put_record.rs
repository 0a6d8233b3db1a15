//! PutRecord.

use super::put_records::{RawEntry, check_record_sizes, entry};
use super::{ApiError, engine_error, json, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_types::SequenceNumber;
use rheo_wire::model::Node;
use rheo_wire::shapes::{PutRecordInput, PutRecordOutput, SeqOut, ShardOut};

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: PutRecordInput = parse(input)?;
    let record = entry(RawEntry {
        data: input.data,
        partition_key: input.partition_key,
        explicit_hash_key: input.explicit_hash_key,
    })?;
    let name = resolve_target(engine, &input.target)?;
    let size = record.data.len().saturating_add(record.partition_key.len());
    check_record_sizes(engine, &name, std::iter::once((None, &record)), size)?;
    let ordering = match input.sequence_number_for_ordering.as_deref() {
        // Zero orders after nothing (AWS accepts it; kinesalite's tests against AWS).
        Some("0") | None => None,
        Some(s) => Some(SequenceNumber::parse(s).map_err(|_| {
            ApiError::invalid_argument(format!(
                "ExclusiveMinimumSequenceNumber {s} used in PutRecord on stream {name} under account {} is invalid.",
                engine.config().account
            ))
        })?),
    };
    let (shard, seq) = engine
        .put_record(&name, record, ordering)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&PutRecordOutput {
        shard_id: ShardOut(shard),
        sequence_number: SeqOut(seq),
        encryption_type: super::encryption_type(&engine.encryption_key(&name)),
    })
}
