//! PutRecords, and the record checks PutRecord shares.

use super::{ApiError, check, engine_error, parse, resolve};
use crate::faults::FaultRule;
use crate::router::Reply;
use bytes::Bytes;
use rheo_engine::Engine;
use rheo_engine::data::{PutEntry, PutOutcome, RecordFailure};
use rheo_types::HashKey;
use rheo_types::StreamName;
use rheo_types::limits::{DEFAULT_MAX_RECORD_BYTES, PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_BYTES_LARGE};
use rheo_wire::model::Node;
use rheo_wire::shapes::{Blob, PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry, SeqOut, ShardOut};
use rheo_wire::validate::Violations;
use std::borrow::Cow;

/// A record's members, checked against the model.
pub struct RawEntry<'a> {
    pub data: Option<Blob>,
    pub partition_key: Option<Cow<'a, str>>,
    pub explicit_hash_key: Option<String>,
}

/// The record a checked entry makes (the model check requires its partition key).
pub fn entry(raw: RawEntry<'_>) -> Result<PutEntry, ApiError> {
    let explicit_hash_key = match raw.explicit_hash_key.as_deref() {
        Some(h) => Some(HashKey::parse(h).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {h}"
            ))
        })?),
        None => None,
    };
    let pk = raw.partition_key.unwrap_or_default();
    Ok(PutEntry {
        partition_key: Bytes::copy_from_slice(pk.as_bytes()),
        explicit_hash_key,
        data: Bytes::from(raw.data.map(|b| b.0).unwrap_or_default()),
    })
}

/// Checks records against the stream's largest record (UpdateMaxRecordSize), with the same
/// ValidationException as the model's limit; returns that size.
///
/// The lookup takes the engine's catalog lock, so it is skipped when no record is larger than,
/// and the request (`total` bytes) no larger than, what every stream takes.
pub fn check_record_sizes<'e>(
    engine: &Engine,
    name: &StreamName,
    entries: impl Iterator<Item = (Option<usize>, &'e PutEntry)> + Clone,
    total: usize,
) -> Result<usize, ApiError> {
    let small = |(_, e): (Option<usize>, &PutEntry)| e.data.len() <= DEFAULT_MAX_RECORD_BYTES;
    if total <= PUT_RECORDS_MAX_BYTES && entries.clone().all(small) {
        return Ok(DEFAULT_MAX_RECORD_BYTES);
    }
    let max = engine.max_record_bytes(name).map_err(|e| engine_error(engine, e))?;
    let mut v = Violations::default();
    for (index, e) in entries.filter(|(_, e)| e.data.len() > max) {
        let prefix = index.map_or_else(String::new, |i| format!("records.{}.member.", i.saturating_add(1)));
        v.blob(&format!("{prefix}data"), e.data.len(), max);
    }
    check(v)?;
    Ok(max)
}

/// `fault`: a fault injection rule that fails records one by one.
/// Fails each record with the rule's probability and writes the others.
async fn put_with_faults(
    engine: &Engine,
    name: &StreamName,
    entries: Vec<PutEntry>,
    fault: &FaultRule,
) -> Result<Vec<PutOutcome>, rheo_engine::Error> {
    let failed: Vec<bool> = entries.iter().map(|_| fault.roll()).collect();
    let kept = entries
        .into_iter()
        .zip(&failed)
        .filter(|(_, f)| !**f)
        .map(|(e, _)| e)
        .collect();
    let mut written = engine.put_records(name, kept).await?.into_iter();
    let code = fault.error_name("PutRecords");
    let message = format!(
        "Rate exceeded for stream {name} under account {} (fault injected by Rheo).",
        engine.config().account
    );
    Ok(failed
        .into_iter()
        .map(|f| match f {
            true => Err(RecordFailure {
                code,
                message: message.clone(),
            }),
            false => written.next().unwrap_or_else(|| {
                Err(RecordFailure {
                    code: "InternalFailure",
                    message: "Internal service failure.".into(),
                })
            }),
        })
        .collect())
}

pub async fn handle(engine: &Engine, input: Node<'_>, fault: Option<&FaultRule>) -> Reply {
    let input: PutRecordsInput = parse(input)?;
    let records = input.records.unwrap_or_default();
    let mut entries = Vec::with_capacity(records.len());
    for r in records {
        entries.push(entry(RawEntry {
            data: r.data,
            partition_key: r.partition_key,
            explicit_hash_key: r.explicit_hash_key,
        })?);
    }
    let name = resolve(engine, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let total = entries.iter().fold(0usize, |n, e| {
        n.saturating_add(e.data.len()).saturating_add(e.partition_key.len())
    });
    let indexed = entries.iter().enumerate().map(|(i, e)| (Some(i), e));
    let max = check_record_sizes(engine, &name, indexed, total)?;
    let (limit, mb) = match max > DEFAULT_MAX_RECORD_BYTES {
        true => (PUT_RECORDS_MAX_BYTES_LARGE, 10),
        false => (PUT_RECORDS_MAX_BYTES, 5),
    };
    if total > limit {
        return Err(ApiError::invalid_argument(format!(
            "Records size exceeds {mb} MB limit"
        )));
    }
    let outcomes = match fault {
        None => engine.put_records(&name, entries).await,
        Some(f) => put_with_faults(engine, &name, entries, f).await,
    }
    .map_err(|e| engine_error(engine, e))?;
    let failed = outcomes.iter().filter(|o| o.is_err()).count() as u32;
    let records: Vec<PutRecordsResultEntry> = outcomes
        .into_iter()
        .map(|o| match o {
            Ok((shard, seq)) => PutRecordsResultEntry {
                sequence_number: Some(SeqOut(seq)),
                shard_id: Some(ShardOut(shard)),
                error_code: None,
                error_message: None,
            },
            Err(f) => PutRecordsResultEntry {
                sequence_number: None,
                shard_id: None,
                error_code: Some(f.code),
                error_message: Some(f.message),
            },
        })
        .collect();
    let mut out = Vec::with_capacity(records.len().saturating_mul(110).saturating_add(64));
    let body = PutRecordsOutput {
        failed_record_count: failed,
        records,
        encryption_type: super::encryption_type(&engine.encryption_key(&name)),
    };
    serde_json::to_writer(&mut out, &body).map_err(|_| ApiError::internal())?;
    Ok(out)
}
