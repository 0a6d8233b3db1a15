//! A hand-written writer for GetRecords responses.
//!
//! A GetRecords response can hold 10 MiB of data; serde_json's generic path made base64 strings
//! the bottleneck, so this writes the JSON directly and encodes each blob straight into the
//! output buffer.

use crate::BASE64;
use base64::Engine as _;

/// One record as GetRecords returns it.
pub struct RecordOut<'a> {
    pub sequence_number: rheo_types::SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: &'a [u8],
    pub data: &'a [u8],
}

/// The response in pieces, so it can be streamed: the opening, each record, then the closing
/// (`{"Records":[...],"NextShardIterator":...,"MillisBehindLatest":...}`).
pub fn write_prefix(out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"Records\":[");
}

pub fn write_record(out: &mut Vec<u8>, r: &RecordOut<'_>, first: bool) {
    if !first {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"SequenceNumber\":\"");
    r.sequence_number.write_to(out);
    out.extend_from_slice(b"\",\"ApproximateArrivalTimestamp\":");
    write_timestamp(out, r.arrival_ms);
    out.extend_from_slice(b",\"Data\":\"");
    let start = out.len();
    out.resize(
        start.saturating_add(base64::encoded_len(r.data.len(), true).unwrap_or(0)),
        0,
    );
    let n = BASE64
        .encode_slice(r.data, out.get_mut(start..).unwrap_or_default())
        .unwrap_or(0);
    out.truncate(start.saturating_add(n));
    out.extend_from_slice(b"\",\"PartitionKey\":");
    write_partition_key(out, r.partition_key);
    out.push(b'}');
}

pub fn write_suffix(
    out: &mut Vec<u8>,
    next_iterator: Option<&str>,
    child_shards: Option<&[crate::shapes::ChildShard]>,
    millis_behind_latest: i64,
) {
    out.extend_from_slice(b"],");
    if let Some(it) = next_iterator {
        out.extend_from_slice(b"\"NextShardIterator\":");
        write_json_string(out, it);
        out.push(b',');
    }
    write_children_and_lag(out, child_shards, millis_behind_latest);
}

/// The end of a SubscribeToShardEvent payload, after its records:
/// `],"ContinuationSequenceNumber":...,"ChildShards":[...],"MillisBehindLatest":...}`.
/// The continuation is absent at the end of a closed shard, where the children are named.
pub fn write_event_suffix(
    out: &mut Vec<u8>,
    continuation: Option<rheo_types::SequenceNumber>,
    child_shards: Option<&[crate::shapes::ChildShard]>,
    millis_behind_latest: i64,
) {
    out.extend_from_slice(b"],");
    if let Some(seq) = continuation {
        out.extend_from_slice(b"\"ContinuationSequenceNumber\":\"");
        seq.write_to(out);
        out.extend_from_slice(b"\",");
    }
    write_children_and_lag(out, child_shards, millis_behind_latest);
}

/// `"ChildShards":[...],` when given, then `"MillisBehindLatest":N}`: how both responses end.
fn write_children_and_lag(
    out: &mut Vec<u8>,
    child_shards: Option<&[crate::shapes::ChildShard]>,
    millis_behind_latest: i64,
) {
    if let Some(children) = child_shards {
        out.extend_from_slice(b"\"ChildShards\":");
        // Writing plain structs of strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, children);
        out.push(b',');
    }
    out.extend_from_slice(b"\"MillisBehindLatest\":");
    out.extend_from_slice(millis_behind_latest.to_string().as_bytes());
    out.push(b'}');
}

/// Epoch seconds with millisecond precision, e.g. `1700000000.123`.
#[expect(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "the decimal digits of a non-negative i64 (at most 20, the buffer's size) and of its last three digits"
)]
fn write_timestamp(out: &mut Vec<u8>, ms: i64) {
    if ms < 0 {
        // Arrival times are never before 1970; keep the output right anyway.
        out.extend_from_slice((ms as f64 / 1000.0).to_string().as_bytes());
        return;
    }
    let (secs, frac) = (ms / 1000, ms % 1000);
    let mut digits = [0u8; 20];
    let mut n = secs as u64;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

/// Partition keys are UTF-8 (checked on the way in); plain ASCII needs no escaping.
fn write_partition_key(out: &mut Vec<u8>, pk: &[u8]) {
    if pk.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(pk);
        out.push(b'"');
    } else {
        write_json_string(out, &String::from_utf8_lossy(pk));
    }
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly as JSON requires; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn output_is_json_with_the_same_records(
            recs in proptest::collection::vec((any::<String>(), proptest::collection::vec(any::<u8>(), 0..100), -4_000_000_000_000i64..4_000_000_000_000), 0..5)
        ) {
            let seqs: Vec<rheo_types::SequenceNumber> =
                (0..recs.len()).map(|i| rheo_types::SequenceNumber { counter: i as u64 * 7919, shard: i as u32, epoch_s: 1_700_000_000 }).collect();
            let mut out = Vec::new();
            write_prefix(&mut out);
            for (i, ((pk, data, ms), seq)) in recs.iter().zip(&seqs).enumerate() {
                let r = RecordOut { sequence_number: *seq, arrival_ms: *ms, partition_key: pk.as_bytes(), data };
                write_record(&mut out, &r, i == 0);
            }
            write_suffix(&mut out, Some("it"), None, 7);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(v["MillisBehindLatest"].as_i64(), Some(7));
            prop_assert_eq!(v["NextShardIterator"].as_str(), Some("it"));
            for (i, (pk, data, ms)) in recs.iter().enumerate() {
                let r = &v["Records"][i];
                prop_assert_eq!(r["PartitionKey"].as_str(), Some(pk.as_str()));
                prop_assert_eq!(BASE64.decode(r["Data"].as_str().unwrap()).unwrap(), data.clone());
                prop_assert_eq!((r["ApproximateArrivalTimestamp"].as_f64().unwrap() * 1000.0).round() as i64, *ms);
                let seq = seqs[i].to_string();
                prop_assert_eq!(r["SequenceNumber"].as_str(), Some(seq.as_str()));
            }
        }
    }

    #[test]
    fn the_end_of_a_closed_shard_names_its_children_and_no_iterator() {
        let mut out = Vec::new();
        write_prefix(&mut out);
        let child = crate::shapes::ChildShard {
            shard_id: "shardId-000000000002".into(),
            parent_shards: vec!["shardId-000000000000".into(), "shardId-000000000001".into()],
            hash_key_range: crate::shapes::HashKeyRange {
                starting_hash_key: "0".into(),
                ending_hash_key: "9".into(),
            },
        };
        write_suffix(&mut out, None, Some(&[child]), 0);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "Records": [],
                "ChildShards": [{
                    "ShardId": "shardId-000000000002",
                    "ParentShards": ["shardId-000000000000", "shardId-000000000001"],
                    "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "9"}
                }],
                "MillisBehindLatest": 0
            })
        );
    }
}
