//! Records: routing by hash key, per-shard order, the five iterator types, GetRecords paging.

use crate::common::*;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};

fn entry(pk: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(pk)
        .data(Blob::new(data))
        .build()
        .unwrap()
}

/// Reads everything from `it` until a call returns no records.
async fn drain(c: &Client, mut it: String) -> Vec<aws_sdk_kinesis::types::Record> {
    let mut out = Vec::new();
    loop {
        let r = c.get_records().shard_iterator(&it).send().await.unwrap();
        if r.records().is_empty() {
            return out;
        }
        out.extend(r.records().iter().cloned());
        it = r.next_shard_iterator().unwrap().to_owned();
    }
}

#[tokio::test]
async fn records_route_by_md5_of_the_partition_key_or_the_explicit_hash_key() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "route", 4).await;
    let shards = c.list_shards().stream_name("route").send().await.unwrap();
    let ranges: Vec<(String, u128, u128)> = shards
        .shards()
        .iter()
        .map(|s| {
            let r = s.hash_key_range().unwrap();
            (
                s.shard_id().to_owned(),
                r.starting_hash_key().parse().unwrap(),
                r.ending_hash_key().parse().unwrap(),
            )
        })
        .collect();
    let owner = |h: u128| ranges.iter().find(|(_, a, b)| *a <= h && h <= *b).unwrap().0.clone();
    let keys: Vec<String> = (0..200).map(|i| format!("key-{i}")).collect();
    let batch: Vec<_> = keys.iter().map(|k| entry(k, k.as_bytes())).collect();
    let out = c
        .put_records()
        .stream_name("route")
        .set_records(Some(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
    let mut used = std::collections::BTreeSet::new();
    for (k, r) in keys.iter().zip(out.records()) {
        assert_eq!(r.shard_id().unwrap(), owner(md5_hash_key(k)), "record {k}");
        used.insert(r.shard_id().unwrap().to_owned());
    }
    assert_eq!(used.len(), 4, "200 keys reach every shard");
    // Each record is readable from the shard it was routed to.
    for (shard, _, _) in &ranges {
        let got = drain(&c, iterator(&c, "route", shard, ShardIteratorType::TrimHorizon).await).await;
        for rec in &got {
            assert_eq!(owner(md5_hash_key(rec.partition_key().unwrap())), *shard);
            assert_eq!(rec.data().as_ref(), rec.partition_key().unwrap().as_bytes());
        }
    }
    // ExplicitHashKey overrides the partition key.
    let top = u128::MAX.to_string();
    let r = c
        .put_record()
        .stream_name("route")
        .partition_key("key-0")
        .explicit_hash_key(&top)
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.shard_id(), "shardId-000000000003");
    let r = c
        .put_record()
        .stream_name("route")
        .partition_key("key-0")
        .explicit_hash_key("0")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.shard_id(), "shardId-000000000000");
    let too_big = (u128::MAX as f64 * 2.0).to_string();
    let bad = c
        .put_record()
        .stream_name("route")
        .partition_key("k")
        .explicit_hash_key(&too_big[..39])
        .data(Blob::new("x"))
        .send()
        .await;
    assert!(matches!(
        code(bad).as_str(),
        "InvalidArgumentException" | "ValidationException"
    ));
}

#[tokio::test]
async fn per_shard_order_and_sequence_numbers_increase() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "order", 1).await;
    let mut seqs = Vec::new();
    for i in 0..30 {
        let r = put(&c, "order", "p", format!("m{i}")).await;
        seqs.push(r.sequence_number().to_owned());
    }
    for b in 0..3 {
        let batch: Vec<_> = (0..10).map(|i| entry("q", format!("b{b}-{i}").as_bytes())).collect();
        let out = c
            .put_records()
            .stream_name("order")
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
        seqs.extend(out.records().iter().map(|r| r.sequence_number().unwrap().to_owned()));
    }
    let as_num = |s: &str| s.parse::<f64>().unwrap();
    for w in seqs.windows(2) {
        assert!(w[0].len() == w[1].len() && w[0] < w[1], "{} < {}", w[0], w[1]);
        assert!(as_num(&w[0]) <= as_num(&w[1]));
    }
    let got = drain(
        &c,
        iterator(&c, "order", "shardId-000000000000", ShardIteratorType::TrimHorizon).await,
    )
    .await;
    assert_eq!(got.len(), 60);
    let got_seqs: Vec<&str> = got.iter().map(|r| r.sequence_number()).collect();
    assert_eq!(got_seqs, seqs.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(got[0].data().as_ref(), b"m0");
    assert_eq!(got[59].data().as_ref(), b"b2-9");
    let times: Vec<i64> = got
        .iter()
        .map(|r| r.approximate_arrival_timestamp().unwrap().to_millis().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "arrival times are monotonic");

    // SequenceNumberForOrdering: the new record sorts after the one named.
    let last = seqs.last().unwrap();
    let r = c
        .put_record()
        .stream_name("order")
        .partition_key("p")
        .sequence_number_for_ordering(last)
        .data(Blob::new("z"))
        .send()
        .await
        .unwrap();
    assert!(r.sequence_number() > last.as_str());
}

#[tokio::test]
async fn all_five_iterator_types() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "iters", 1).await;
    let shard = "shardId-000000000000";
    let mut seqs = Vec::new();
    for i in 0..5 {
        let r = put(&c, "iters", "p", format!("{i}")).await;
        seqs.push(r.sequence_number().to_owned());
    }
    let mid = server.clock_now();
    server.clock.advance_ms(1000);
    for i in 5..10 {
        let r = put(&c, "iters", "p", format!("{i}")).await;
        seqs.push(r.sequence_number().to_owned());
    }
    let data = |recs: &[aws_sdk_kinesis::types::Record]| -> Vec<String> {
        recs.iter()
            .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap())
            .collect()
    };
    let all = drain(&c, iterator(&c, "iters", shard, ShardIteratorType::TrimHorizon).await).await;
    assert_eq!(data(&all), (0..10).map(|i| i.to_string()).collect::<Vec<_>>());

    let latest = iterator(&c, "iters", shard, ShardIteratorType::Latest).await;
    assert!(
        c.get_records()
            .shard_iterator(&latest)
            .send()
            .await
            .unwrap()
            .records()
            .is_empty()
    );
    put(&c, "iters", "p", "10").await;
    assert_eq!(data(&drain(&c, latest).await), ["10"]);

    let at = iterator_with(
        &c,
        "iters",
        shard,
        ShardIteratorType::AtSequenceNumber,
        Some(&seqs[3]),
        None,
    )
    .await;
    assert_eq!(data(&drain(&c, at).await)[0], "3");
    let after = iterator_with(
        &c,
        "iters",
        shard,
        ShardIteratorType::AfterSequenceNumber,
        Some(&seqs[3]),
        None,
    )
    .await;
    assert_eq!(data(&drain(&c, after).await)[0], "4");
    let ts = iterator_with(
        &c,
        "iters",
        shard,
        ShardIteratorType::AtTimestamp,
        None,
        Some(mid + 500),
    )
    .await;
    assert_eq!(data(&drain(&c, ts).await)[0], "5");
    // A timestamp before the stream reads from the start.
    let early = iterator_with(&c, "iters", shard, ShardIteratorType::AtTimestamp, None, Some(0)).await;
    assert_eq!(data(&drain(&c, early).await).len(), 11);
}

#[tokio::test]
async fn get_records_honours_limit_and_reports_millis_behind() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "paged", 1).await;
    for b in 0..4 {
        let batch: Vec<_> = (0..250).map(|i| entry("p", format!("{b}-{i}").as_bytes())).collect();
        c.put_records()
            .stream_name("paged")
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
    }
    server.clock.advance_ms(5000);
    let it = iterator(&c, "paged", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let first = c.get_records().shard_iterator(&it).limit(300).send().await.unwrap();
    assert_eq!(first.records().len(), 300);
    assert!(
        first.millis_behind_latest().unwrap() >= 5000,
        "behind by the clock step"
    );
    let rest = c
        .get_records()
        .shard_iterator(first.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.records().len(), 700);
    assert_eq!(rest.millis_behind_latest(), Some(0));
    assert_eq!(rest.records()[0].data().as_ref(), b"1-50");
    let empty = c
        .get_records()
        .shard_iterator(rest.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert!(empty.records().is_empty());
    assert!(
        empty.next_shard_iterator().is_some(),
        "an open shard always gives a next iterator"
    );
}

#[tokio::test]
async fn large_records_and_large_batches_round_trip() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "big", 2).await;
    let mib = vec![0x5au8; 1024 * 1024];
    put(&c, "big", "p", mib.clone()).await;
    let batch: Vec<_> = (0..5).map(|i| entry(&format!("k{i}"), &mib[..1024 * 1000])).collect();
    let out = c
        .put_records()
        .stream_name("big")
        .set_records(Some(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
    // Responses over 1 MiB of data are streamed in chunks; every byte must arrive intact.
    let mut got = Vec::new();
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        got.extend(drain(&c, iterator(&c, "big", shard, ShardIteratorType::TrimHorizon).await).await);
    }
    assert_eq!(got.len(), 6);
    for r in &got {
        let expected = if r.partition_key() == Some("p") {
            &mib[..]
        } else {
            &mib[..1024 * 1000]
        };
        assert!(
            r.data().as_ref() == expected,
            "record {:?} arrives intact",
            r.partition_key()
        );
    }
    // Over the limits: one record over 1 MiB, a batch over 5 MiB.
    let over = vec![0u8; 1024 * 1024 + 1];
    assert_eq!(
        code(
            c.put_record()
                .stream_name("big")
                .partition_key("p")
                .data(Blob::new(over))
                .send()
                .await
        ),
        "ValidationException"
    );
    let batch: Vec<_> = (0..6).map(|i| entry(&format!("k{i}"), &mib)).collect();
    assert_eq!(
        code(c.put_records().stream_name("big").set_records(Some(batch)).send().await),
        "InvalidArgumentException"
    );
}

/// Sequence numbers in AWS's 56-digit layout: they name their shard and their stream, so a
/// number used on the wrong shard or from an earlier stream of the same name gets AWS's error;
/// Rheo's older 34-digit numbers still work; ordering hints AWS accepts are accepted.
#[tokio::test]
async fn sequence_numbers_encode_their_shard_and_stream() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "seq", 2).await;
    let mut by_shard = std::collections::HashMap::new();
    for i in 0..20 {
        let out = put(&c, "seq", &format!("k{i}"), "x").await;
        assert_eq!(out.sequence_number().len(), 56, "{}", out.sequence_number());
        by_shard.insert(out.shard_id().to_owned(), out.sequence_number().to_owned());
    }
    let (s0, s1) = (&by_shard["shardId-000000000000"], &by_shard["shardId-000000000001"]);
    let at = |shard: &str, seq: &str| {
        c.get_shard_iterator()
            .stream_name("seq")
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(seq)
            .send()
    };
    let err = at("shardId-000000000000", s1).await.unwrap_err();
    let err = err.as_service_error().unwrap();
    assert!(err.is_invalid_argument_exception());
    assert_eq!(
        err.meta().message(),
        Some(
            "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000"
        )
    );
    at("shardId-000000000000", s0).await.unwrap();
    // Rheo's older form: counter (20 digits) and shard (12), still read.
    let counter = {
        let n = s0.parse::<SeqDigits>().unwrap();
        n.0
    };
    let legacy = format!("49{counter:020}{:012}", 0);
    let it = at("shardId-000000000000", &legacy).await.unwrap();
    let got = records_at(&c, it.shard_iterator().unwrap().to_owned()).await;
    assert_eq!(got.records().first().map(|r| r.sequence_number()), Some(s0.as_str()));
    // The same name, created again a second later: the old number is not of this stream.
    c.delete_stream().stream_name("seq").send().await.unwrap();
    server.clock.advance_ms(2_000);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    create_active(&c, "seq", 2).await;
    let err = at("shardId-000000000000", s0).await.unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().meta().message().unwrap(),
        format!(
            "StartingSequenceNumber {s0} used in GetShardIterator on shard shardId-000000000000 in stream seq under account 000000000000 is invalid because it did not come from this stream."
        )
    );
    // Ordering hints AWS accepts: zero, and an all-zero version-2 number (of no shard).
    let all_zero = {
        // 2, then 180 zero bits, then the version 2: 2·16^46 + 2.
        "49039857307708443467467104868809893875799651909875269634"
    };
    for hint in ["0", all_zero, s1.as_str()] {
        c.put_record()
            .stream_name("seq")
            .partition_key("k")
            .data(Blob::new("ordered"))
            .sequence_number_for_ordering(hint)
            .send()
            .await
            .unwrap();
    }
}

/// The counter of a 56-digit sequence number (hex digits 11 to 26), for building the older
/// 34-digit form in a test.
struct SeqDigits(u64);

impl std::str::FromStr for SeqDigits {
    type Err = ();
    fn from_str(s: &str) -> Result<SeqDigits, ()> {
        // Decimal to base 16, by long division on the digits.
        let mut digits: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let mut hex = Vec::new();
        while digits.iter().any(|d| *d != 0) {
            let mut rem = 0;
            for d in digits.iter_mut() {
                let cur = rem * 10 + *d;
                *d = cur / 16;
                rem = cur % 16;
            }
            hex.push(rem);
        }
        hex.reverse();
        let counter: String = hex[11..27].iter().map(|d| char::from_digit(*d, 16).unwrap()).collect();
        u64::from_str_radix(&counter, 16).map(SeqDigits).map_err(|_| ())
    }
}
