//! Fault injection: per-operation error rates and latency, set at start or at run time.

use crate::common::*;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use std::time::{Duration, Instant};

#[tokio::test]
async fn put_records_fail_record_by_record_at_the_configured_rate() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "f", 2).await;
    let url = server.url();
    let rules = r#"[{"operation":"PutRecords","error-rate":0.5}]"#;
    let (status, body) = admin(&url, "PUT", "/_rheo/faults", rules).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!([{"operation": "PutRecords", "error-rate": 0.5, "latency-ms": 0}])
    );
    let batch = (0..500)
        .map(|i| {
            let e = PutRecordsRequestEntry::builder().partition_key(format!("k{i}"));
            e.data(Blob::new(format!("r{i}"))).build().unwrap()
        })
        .collect();
    let out = c
        .put_records()
        .stream_name("f")
        .set_records(Some(batch))
        .send()
        .await
        .unwrap();
    let failed = out.failed_record_count().unwrap();
    assert!((150..350).contains(&failed), "about half of 500 records fail: {failed}");
    for r in out.records() {
        match r.error_code() {
            Some(code) => {
                assert_eq!(code, "ProvisionedThroughputExceededException");
                let message = r.error_message().unwrap();
                assert!(message.contains("stream f under account 000000000000"), "{message}");
                assert!(message.contains("fault injected"), "{message}");
            }
            None => assert!(r.sequence_number().is_some()),
        }
    }
    // Exactly the records reported as written were written.
    let mut stored = 0;
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        stored += first_records(&c, "f", shard).await.len();
    }
    assert_eq!(stored, 500 - failed as usize);
    // Cleared: nothing fails.
    assert_eq!(
        admin(&url, "DELETE", "/_rheo/faults", "").await,
        (200, serde_json::json!([]))
    );
    let one = PutRecordsRequestEntry::builder()
        .partition_key("k")
        .data(Blob::new("x"))
        .build()
        .unwrap();
    let out = c.put_records().stream_name("f").records(one).send().await.unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
}

#[tokio::test]
async fn whole_calls_fail_with_the_chosen_error_and_latency_is_added() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "f", 1).await;
    let url = server.url();
    let rules = r#"[
        {"operation":"ListStreams","error-rate":1,"error":"InternalFailure"},
        {"operation":"PutRecord","error-rate":1},
        {"operation":"GetRecords","latency-ms":200}
    ]"#;
    assert_eq!(admin(&url, "PUT", "/_rheo/faults", rules).await.0, 200);
    let (status, err) = server.raw("ListStreams", "{}").await;
    assert_eq!((status, err["__type"].as_str()), (500, Some("InternalFailure")));
    let (status, err) = server
        .raw("PutRecord", r#"{"StreamName":"f","PartitionKey":"p","Data":"eA=="}"#)
        .await;
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ProvisionedThroughputExceededException")),
        "a data operation's default error is its throttling error"
    );
    // Other operations are untouched.
    assert_eq!(
        server.raw("DescribeStreamSummary", r#"{"StreamName":"f"}"#).await.0,
        200
    );
    let started = Instant::now();
    first_records(&c, "f", "shardId-000000000000").await;
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "GetRecords was delayed"
    );
    // A bad rule is refused and leaves the rules as they were.
    let (status, body) = admin(
        &url,
        "PUT",
        "/_rheo/faults",
        r#"[{"operation":"ListStreams","error-rate":3}]"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("error-rate"), "{body}");
    assert_eq!(
        admin(&url, "GET", "/_rheo/faults", "")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn faults_can_be_set_when_the_server_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = ChildServer::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
            "--fault",
            "ListStreams:error-rate=1",
        ],
        &[],
    );
    let (status, err) = raw(&server.url, "ListStreams", "{}").await;
    assert_eq!((status, err["__type"].as_str()), (400, Some("LimitExceededException")));
    let (_, rules) = admin(&server.url, "GET", "/_rheo/faults", "").await;
    assert_eq!(rules[0]["operation"], "ListStreams");
}
