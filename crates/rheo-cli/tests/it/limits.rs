//! Throughput limits: off by default; with the `aws` profile a shard takes 1,000 records/s and
//! 1 MiB/s of writes and 5 GetRecords calls/s, refusing the rest with
//! ProvisionedThroughputExceededException. The manual clock stands in for time passing.

use crate::common::*;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use std::collections::BTreeSet;

fn entries(from: usize, to: usize) -> Vec<PutRecordsRequestEntry> {
    (from..to)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{}", i % 7))
                .data(Blob::new(format!("r{i}")))
                .build()
                .unwrap()
        })
        .collect()
}

/// Every payload in the (one-shard) stream.
async fn payloads(c: &Client, stream: &str) -> Vec<String> {
    let mut it = iterator(c, stream, "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let mut out = Vec::new();
    loop {
        let r = records_at(c, it).await;
        if r.records().is_empty() {
            return out;
        }
        out.extend(
            r.records()
                .iter()
                .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap()),
        );
        it = r.next_shard_iterator().unwrap().to_owned();
    }
}

#[tokio::test]
async fn limits_off_throttle_nothing() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "free", 1).await;
    assert_eq!(
        admin(&server.url(), "GET", "/_rheo/throughput-limits", "").await,
        (200, serde_json::json!({"profile": "off"}))
    );
    // 5,000 records and 20 reads within one instant of the clock: far above AWS's limits.
    for n in 0..10 {
        let out = c
            .put_records()
            .stream_name("free")
            .set_records(Some(entries(n * 500, n * 500 + 500)))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count(), Some(0));
    }
    for _ in 0..20 {
        first_records(&c, "free", "shardId-000000000000").await;
    }
    assert_eq!(payloads(&c, "free").await.len(), 5000);
}

#[tokio::test]
async fn a_producer_above_the_aws_limits_is_throttled_and_retrying_lands_every_record() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "hot", 1).await;
    let (status, body) = admin(&server.url(), "PUT", "/_rheo/throughput-limits", r#"{"profile":"aws"}"#).await;
    assert_eq!((status, body), (200, serde_json::json!({"profile": "aws"})));
    // 3,000 records offered at once (3× a shard's records per second), then the throttled ones
    // again every 250 ms of clock time.
    let mut waiting: Vec<usize> = (0..3000).collect();
    let (mut throttled, mut rounds) = (0, 0);
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for chunk in waiting.chunks(500) {
            let batch = chunk.iter().flat_map(|&i| entries(i, i + 1)).collect();
            let out = c
                .put_records()
                .stream_name("hot")
                .set_records(Some(batch))
                .send()
                .await
                .unwrap();
            for (&i, r) in chunk.iter().zip(out.records()) {
                if let Some(code) = r.error_code() {
                    assert_eq!(code, "ProvisionedThroughputExceededException");
                    assert_eq!(
                        r.error_message(),
                        Some("Rate exceeded for shard shardId-000000000000 in stream hot under account 000000000000.")
                    );
                    assert!(r.sequence_number().is_none() && r.shard_id().is_none());
                    still.push(i);
                }
            }
            let failed = out.records().iter().filter(|r| r.error_code().is_some()).count();
            assert_eq!(out.failed_record_count(), Some(failed as i32));
        }
        if rounds == 0 {
            assert_eq!(
                3000 - still.len(),
                1000,
                "a full shard takes one second's worth at once"
            );
        } else {
            assert!(
                3000 - still.len() <= 1000 + 250 * rounds,
                "then 1,000 records per second"
            );
        }
        throttled += still.len();
        waiting = still;
        server.clock.advance_ms(250);
        rounds += 1;
        assert!(rounds < 100, "the producer makes progress");
    }
    assert!(throttled > 2000, "records were throttled: {throttled}");
    let stored = payloads(&c, "hot").await;
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), 3000, "every record landed once");
    assert_eq!(unique.len(), 3000);
}

#[tokio::test]
async fn put_record_get_records_and_bytes_are_throttled_with_aws_errors() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "s", 1).await;
    admin(&server.url(), "PUT", "/_rheo/throughput-limits", r#"{"profile":"aws"}"#).await;
    // Bytes: ten 100 KiB records fill a shard's 1 MiB per second; the eleventh is refused.
    let data = base64_of(&vec![b'x'; 100 * 1024]);
    let body = format!(r#"{{"StreamName":"s","PartitionKey":"p","Data":"{data}"}}"#);
    for _ in 0..10 {
        assert_eq!(server.raw("PutRecord", &body).await.0, 200);
    }
    let (status, err) = server.raw("PutRecord", &body).await;
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "ProvisionedThroughputExceededException");
    assert_eq!(
        err["message"],
        "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000."
    );
    server.clock.advance_ms(1000);
    assert_eq!(server.raw("PutRecord", &body).await.0, 200);
    // Reads: five GetRecords calls per second; the sixth is refused, and allowed 200 ms later.
    let it = iterator(&c, "s", "shardId-000000000000", ShardIteratorType::Latest).await;
    let get = format!(r#"{{"ShardIterator":"{it}"}}"#);
    for _ in 0..5 {
        assert_eq!(server.raw("GetRecords", &get).await.0, 200);
    }
    let (status, err) = server.raw("GetRecords", &get).await;
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ProvisionedThroughputExceededException"))
    );
    server.clock.advance_ms(200);
    assert_eq!(server.raw("GetRecords", &get).await.0, 200);
    // Read bytes: reading the 1.1 MiB written above twice in one second passes 2 MiB, which
    // blocks reads until the debt is repaid.
    server.clock.advance_ms(1000);
    let from_start = iterator(&c, "s", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let get = format!(r#"{{"ShardIterator":"{from_start}"}}"#);
    for _ in 0..2 {
        assert_eq!(server.raw("GetRecords", &get).await.0, 200);
    }
    assert_eq!(
        server.raw("GetRecords", &get).await.0,
        400,
        "2.2 MiB read: the bucket is in debt"
    );
    server.clock.advance_ms(1000);
    assert_eq!(server.raw("GetRecords", &get).await.0, 200);
}

#[tokio::test]
async fn limits_switch_per_stream_and_at_run_time() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "limited", 1).await;
    create_active(&c, "free", 1).await;
    let url = server.url();
    let put_1500 = |stream: &'static str| {
        let c = c.clone();
        async move {
            let mut failed = 0;
            for n in 0..3 {
                let out = c
                    .put_records()
                    .stream_name(stream)
                    .set_records(Some(entries(n * 500, n * 500 + 500)))
                    .send()
                    .await
                    .unwrap();
                failed += out.failed_record_count().unwrap();
            }
            failed
        }
    };
    // The server is off; one stream turns AWS's limits on for itself.
    let (status, body) = admin(
        &url,
        "PUT",
        "/_rheo/streams/limited/throughput-limits",
        r#"{"profile":"aws"}"#,
    )
    .await;
    assert_eq!((status, body), (200, serde_json::json!({"profile": "aws"})));
    assert_eq!(put_1500("limited").await, 500);
    assert_eq!(put_1500("free").await, 0);
    // The server turns them on; a stream may still opt out.
    server.clock.advance_ms(10_000);
    admin(&url, "PUT", "/_rheo/throughput-limits", r#"{"profile":"aws"}"#).await;
    admin(
        &url,
        "PUT",
        "/_rheo/streams/limited/throughput-limits",
        r#"{"profile":"off"}"#,
    )
    .await;
    assert_eq!(put_1500("limited").await, 0);
    assert_eq!(put_1500("free").await, 500);
    // null: the stream follows the server again.
    server.clock.advance_ms(10_000);
    let (_, body) = admin(
        &url,
        "PUT",
        "/_rheo/streams/limited/throughput-limits",
        r#"{"profile":null}"#,
    )
    .await;
    assert_eq!(body, serde_json::json!({"profile": null}));
    assert_eq!(put_1500("limited").await, 500);
    // A stream's own setting is kept in the catalog.
    let (_, body) = admin(&url, "GET", "/_rheo/streams/free/throughput-limits", "").await;
    assert_eq!(body, serde_json::json!({"profile": null}));
    // Bad requests get a message.
    let (status, body) = admin(&url, "PUT", "/_rheo/throughput-limits", r#"{"profile":"fast"}"#).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("unknown variant"), "{body}");
    assert_eq!(
        admin(&url, "GET", "/_rheo/streams/nope/throughput-limits", "").await.0,
        404
    );
    assert_eq!(admin(&url, "GET", "/_rheo/nothing", "").await.0, 404);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
