//! Records aggregated by the Kinesis Producer Library, as Firehose de-aggregates them when it
//! reads a Kinesis stream. Format (the KPL's `aggregation-format.md`): the magic bytes
//! `F3 89 9A C2`, an `AggregatedRecord` protobuf message, and the 16-byte MD5 of that message.
//! A record without the magic, or whose digest or message does not check, is a plain record.

use md5::Digest as _;
use prost::Message as _;

const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// Most user records one aggregated record is split into.
const MAX_USER_RECORDS: usize = 100_000;

#[derive(Clone, PartialEq, prost::Message)]
struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<Record>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Record {
    #[prost(uint64, tag = "1")]
    partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", tag = "3")]
    data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Tag {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

/// The user records of an aggregated record (partition key and data), or `None` for a plain
/// record.
pub fn deaggregate(data: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let body = data.strip_prefix(&MAGIC)?;
    let split = body.len().checked_sub(16)?;
    let (message, digest) = body.split_at(split);
    if md5::Md5::digest(message).as_slice() != digest {
        return None;
    }
    let agg = AggregatedRecord::decode(message).ok()?;
    // Partition keys are at most 256 characters in Kinesis; a record whose table says otherwise,
    // or that claims more user records than a record can reasonably hold, is not the KPL's.
    if agg.partition_key_table.iter().any(|k| k.len() > 256) || agg.records.len() > MAX_USER_RECORDS {
        return None;
    }
    agg.records
        .into_iter()
        .map(|r| {
            let pk = usize::try_from(r.partition_key_index)
                .ok()
                .and_then(|i| agg.partition_key_table.get(i))?;
            Some((pk.clone(), r.data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A record made by aws-kinesis-agg (the reference Python aggregator): `RecordAggregator`
    /// with ("pk1", b"hello") and ("pk2", b"world").
    const GOLDEN: &str =
        "f3899ac20a03706b310a03706b321a0908001a0568656c6c6f1a0908011a05776f726c6487c22af1ed18e292eb55b018413a3cff";

    #[test]
    fn aggregated_records_split() {
        let got = deaggregate(&hex(GOLDEN)).unwrap();
        assert_eq!(
            got,
            [
                ("pk1".to_owned(), b"hello".to_vec()),
                ("pk2".to_owned(), b"world".to_vec())
            ]
        );
        // A bad digest, a short record, or no magic: a plain record.
        let mut bad = hex(GOLDEN);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(deaggregate(&bad), None);
        assert_eq!(deaggregate(&MAGIC), None);
        assert_eq!(deaggregate(b"{\"plain\":true}"), None);
    }
}
