//! GetShardIterator.

use super::{ApiError, check, check_target, engine_error, json, millis, parse, resolve_target};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_engine::data::StartingPosition;
use rheo_wire::shapes::{GetShardIteratorInput, GetShardIteratorOutput};
use rheo_wire::validate::Violations;

const TYPES: [&str; 5] = [
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
    "LATEST",
    "AT_TIMESTAMP",
];

pub async fn handle(engine: &Engine, body: &[u8]) -> Reply {
    let input: GetShardIteratorInput = parse(body)?;
    let mut v = Violations::default();
    check_target(&mut v, &input.target);
    v.required("shardId", &input.shard_id);
    v.shard_id("shardId", input.shard_id.as_deref());
    v.required("shardIteratorType", &input.shard_iterator_type);
    v.one_of("shardIteratorType", input.shard_iterator_type.as_deref(), &TYPES);
    v.sequence_number("startingSequenceNumber", input.starting_sequence_number.as_deref());
    check(v)?;
    let kind = input.shard_iterator_type.as_deref().unwrap_or_default();
    let seq = input.starting_sequence_number.clone();
    let start = match (kind, seq, input.timestamp) {
        ("AT_SEQUENCE_NUMBER", Some(s), _) => StartingPosition::AtSequenceNumber(s),
        ("AFTER_SEQUENCE_NUMBER", Some(s), _) => StartingPosition::AfterSequenceNumber(s),
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None, _) => {
            return Err(ApiError::invalid_argument(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and no StartingSequenceNumber."
            )));
        }
        ("AT_TIMESTAMP", _, Some(ts)) => StartingPosition::AtTimestamp(millis(ts)),
        ("AT_TIMESTAMP", _, None) => {
            return Err(ApiError::invalid_argument(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.",
            ));
        }
        (_, Some(_), _) => {
            return Err(ApiError::invalid_argument(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and also a StartingSequenceNumber."
            )));
        }
        ("TRIM_HORIZON", None, _) => StartingPosition::TrimHorizon,
        _ => StartingPosition::Latest,
    };
    let name = resolve_target(engine, &input.target)?;
    let shard = input.shard_id.as_deref().unwrap_or_default();
    let it = engine
        .get_shard_iterator(&name, shard, start)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&GetShardIteratorOutput { shard_iterator: it })
}
