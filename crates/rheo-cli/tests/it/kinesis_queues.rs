//! Kinesis queues over a real socket. Records are put with the official `aws-sdk-kinesis`;
//! the queue operations are sent as AWS JSON 1.1 requests by hand, because the newest
//! `aws-sdk-kinesis` on crates.io (1.130) has no queue operations yet (boto3 and the aws CLI,
//! which have them, drive the same operations in CI: `.ci/kinesis_queues_check.py`).

use crate::common::{TestServer, code, raw};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{StreamMode, StreamModeDetails};
use base64::Engine as _;
use serde_json::{Value, json};
use std::time::Duration;

async fn call(url: &str, op: &str, body: Value) -> (u16, Value) {
    raw(url, op, &body.to_string()).await
}

pub(crate) async fn ok(url: &str, op: &str, body: Value) -> Value {
    let (status, v) = call(url, op, body).await;
    assert_eq!(status, 200, "{op}: {v}");
    v
}

pub(crate) async fn on_demand(c: &aws_sdk_kinesis::Client, name: &str) {
    c.create_stream()
        .stream_name(name)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    crate::common::wait_active(c, name).await;
}

pub(crate) async fn create_queue(url: &str, stream_arn: &str, name: &str, attrs: Value, start: &str) -> String {
    let v = ok(
        url,
        "CreateQueue",
        json!({
            "QueueName": name,
            "StreamConfigurationList": [{"StreamARN": stream_arn, "StartingPosition": {"Type": start}}],
            "QueueAttributes": attrs,
        }),
    )
    .await;
    v["QueueDescription"]["QueueARN"].as_str().unwrap().to_owned()
}

pub(crate) async fn receive(url: &str, op: &str, arn: &str, wait: u32) -> Vec<Value> {
    let v = ok(url, op, json!({"QueueARN": arn, "Limit": 10, "WaitTimeSeconds": wait})).await;
    v["QueueRecords"].as_array().unwrap().clone()
}

fn data(r: &Value) -> String {
    let b = base64::engine::general_purpose::STANDARD
        .decode(r["Data"].as_str().unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

fn handles(records: &[&Value]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|r| json!({"ReceiptHandle": r["ReceiptHandle"]}))
            .collect(),
    )
}

/// The whole lifecycle: create (and the stream rules), receive, acknowledge, visibility,
/// dead letters after MaxReceiveCount, restore, describe, list, update and delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_records_are_received_acknowledged_dead_lettered_and_restored() {
    let s = TestServer::start().await;
    let url = s.url();
    let c = s.client();
    on_demand(&c, "orders").await;
    crate::common::create_active(&c, "provisioned", 1).await;
    let stream_arn = s.arn("orders");

    // Queues need an on-demand stream, and a name at most once.
    let (status, v) = call(
        &url,
        "CreateQueue",
        json!({"QueueName": "p", "StreamConfigurationList": [{"StreamARN": s.arn("provisioned")}]}),
    )
    .await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ValidationException")),
        "{v}"
    );
    let (status, v) = call(
        &url,
        "CreateQueue",
        json!({"QueueName": "bad name!", "StreamConfigurationList": [{"StreamARN": stream_arn}]}),
    )
    .await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ValidationException")),
        "{v}"
    );

    let (status, v) = call(
        &url,
        "CreateQueue",
        json!({"QueueName": "t", "StreamConfigurationList": [{"StreamARN": stream_arn,
            "StartingPosition": {"Type": "LATEST", "Timestamp": 1.0}}]}),
    )
    .await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ValidationException")),
        "{v}"
    );

    let mut sequence_numbers = Vec::new();
    for i in 0..5 {
        let out = c
            .put_record()
            .stream_name("orders")
            .partition_key(format!("pk{i}"))
            .data(Blob::new(format!("order {i}")))
            .send()
            .await
            .unwrap();
        sequence_numbers.push(out.sequence_number().to_owned());
    }
    let arn = create_queue(
        &url,
        &stream_arn,
        "workers",
        json!({"VisibilityTimeoutSeconds": 30, "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 2}}),
        "TRIM_HORIZON",
    )
    .await;
    assert!(
        arn.starts_with("arn:aws:kinesis:us-east-1:000000000000:queue/"),
        "{arn}"
    );
    let (status, v) = call(
        &url,
        "CreateQueue",
        json!({"QueueName": "workers", "StreamConfigurationList": [{"StreamARN": stream_arn}]}),
    )
    .await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ResourceInUseException")),
        "{v}"
    );

    // A stream with queues can be neither deleted nor made provisioned.
    let e = c.delete_stream().stream_name("orders").send().await;
    assert_eq!(code(e), "ResourceInUseException");
    let e = c
        .update_stream_mode()
        .stream_arn(&stream_arn)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::Provisioned)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(e), "ResourceInUseException");
    // A queue shares the registered-consumer limit, but ConsumerCount leaves it out:
    // QueueCount counts it (the SDK predates the member, so the raw answer is read).
    let summary = c.describe_stream_summary().stream_name("orders").send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().consumer_count(), Some(0));
    let v = ok(&url, "DescribeStreamSummary", json!({"StreamName": "orders"})).await;
    assert_eq!(v["StreamDescriptionSummary"]["QueueCount"], 1, "{v}");

    let d = ok(&url, "DescribeQueue", json!({"QueueARN": arn})).await;
    let desc = &d["QueueDescription"];
    assert_eq!(desc["QueueName"], "workers");
    assert_eq!(desc["QueueStatus"], "ACTIVE");
    assert_eq!(desc["StreamConfigurationList"][0]["StreamARN"], stream_arn.as_str());
    assert_eq!(
        desc["StreamConfigurationList"][0]["StartingPosition"]["Type"],
        "TRIM_HORIZON"
    );
    assert!(desc["StreamConfigurationList"][0]["StartingPosition"]["Timestamp"].is_number());
    assert_eq!(desc["QueueAttributes"]["VisibilityTimeoutSeconds"], 30);
    assert_eq!(
        desc["QueueAttributes"]["DeadLetterConfiguration"],
        json!({"TargetType": "BUILT_IN", "MaxReceiveCount": 2})
    );

    // Every record once, with its stream data; RecordIds are stable and never repeat.
    let first = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
    assert_eq!(first.len(), 5);
    let mut ids: Vec<String> = first
        .iter()
        .map(|r| r["RecordId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = sequence_numbers.clone();
    want.sort();
    assert_eq!(ids, want);
    for r in &first {
        let i = sequence_numbers
            .iter()
            .position(|s| r["RecordId"] == s.as_str())
            .unwrap();
        assert_eq!(data(r), format!("order {i}"));
        assert_eq!(r["PartitionKey"], format!("pk{i}"));
        assert_eq!(r["ReceiveCount"], 1);
        assert!(r["ApproximateArrivalTimestamp"].is_number() && r["FirstReceiveTimestamp"].is_number());
    }
    assert!(
        receive(&url, "ReceiveQueueRecords", &arn, 1).await.is_empty(),
        "all in flight"
    );

    let by_data = |records: &[Value], d: &str| records.iter().find(|r| data(r) == d).unwrap().clone();
    let (r0, r1, r2) = (
        by_data(&first, "order 0"),
        by_data(&first, "order 1"),
        by_data(&first, "order 2"),
    );
    let v = ok(
        &url,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": arn, "Entries": handles(&[&r0, &r1])}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().unwrap().len(), 2, "{v}");
    assert!(v["Failed"].as_array().unwrap().is_empty());
    let v = ok(
        &url,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": arn, "Entries": [{"ReceiptHandle": "not-a-handle"}]}),
    )
    .await;
    assert_eq!(v["Failed"][0]["ErrorCode"], "InvalidArgumentException", "{v}");
    assert_eq!(v["Failed"][0]["ReceiptHandle"], "not-a-handle");

    // Visibility 0: receivable again at once, with its receive count up.
    let v = ok(
        &url,
        "UpdateQueueRecordsVisibility",
        json!({"QueueARN": arn, "Entries": [{"ReceiptHandle": r2["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}]}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().unwrap().len(), 1, "{v}");
    let again = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["RecordId"], r2["RecordId"]);
    assert_eq!(again[0]["ReceiveCount"], 2);
    assert_ne!(
        again[0]["ReceiptHandle"], r2["ReceiptHandle"],
        "a fresh handle per delivery"
    );

    // After the visibility timeout: the two received once come back; order 2, received twice
    // (MaxReceiveCount), becomes a dead letter.
    s.clock.advance_ms(31_000);
    let back = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
    let mut got: Vec<String> = back.iter().map(data).collect();
    got.sort();
    assert_eq!(got, ["order 3", "order 4"]);
    assert!(back.iter().all(|r| r["ReceiveCount"] == 2));
    let dead = receive(&url, "ReceiveDeadLetterQueueRecords", &arn, 1).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["RecordId"], r2["RecordId"]);
    assert_eq!(data(&dead[0]), "order 2");
    // A dead-letter handle is not a record handle, and the reverse.
    let v = ok(
        &url,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": arn, "Entries": handles(&[&dead[0]])}),
    )
    .await;
    assert_eq!(v["Failed"][0]["ErrorCode"], "InvalidArgumentException", "{v}");
    let v = ok(
        &url,
        "AcknowledgeDeadLetterQueueRecords",
        json!({"QueueARN": arn, "Entries": handles(&[&back[0]])}),
    )
    .await;
    assert_eq!(v["Failed"][0]["ErrorCode"], "InvalidArgumentException", "{v}");

    // Restored: delivered again with its receive count reset.
    let v = ok(
        &url,
        "RestoreDeadLetterQueueRecords",
        json!({"QueueARN": arn, "Entries": handles(&[&dead[0]])}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().unwrap().len(), 1, "{v}");
    assert!(receive(&url, "ReceiveDeadLetterQueueRecords", &arn, 1).await.is_empty());
    let restored = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0]["RecordId"], r2["RecordId"]);
    assert_eq!(restored[0]["ReceiveCount"], 1);

    // Dead letters have their own visibility and acknowledgement.
    s.clock.advance_ms(31_000);
    for _ in 0..2 {
        // order 2 is received a second time here, then becomes a dead letter again (with
        // order 3 and 4, received twice already).
        let _ = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
        s.clock.advance_ms(31_000);
    }
    let dead = receive(&url, "ReceiveDeadLetterQueueRecords", &arn, 1).await;
    let mut got: Vec<String> = dead.iter().map(data).collect();
    got.sort();
    assert_eq!(got, ["order 2", "order 3", "order 4"]);
    let v = ok(
        &url,
        "UpdateDeadLetterQueueRecordsVisibility",
        json!({"QueueARN": arn, "Entries": [{"ReceiptHandle": dead[0]["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}]}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().unwrap().len(), 1, "{v}");
    let dead_again = receive(&url, "ReceiveDeadLetterQueueRecords", &arn, 1).await;
    assert_eq!(dead_again.len(), 1);
    let all: Vec<&Value> = dead.iter().skip(1).chain(dead_again.iter()).collect();
    let v = ok(
        &url,
        "AcknowledgeDeadLetterQueueRecords",
        json!({"QueueARN": arn, "Entries": handles(&all)}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().unwrap().len(), 3, "{v}");
    s.clock.advance_ms(31_000);
    assert!(receive(&url, "ReceiveDeadLetterQueueRecords", &arn, 1).await.is_empty());
    assert!(receive(&url, "ReceiveQueueRecords", &arn, 1).await.is_empty());

    // Update, list, delete.
    let v = ok(
        &url,
        "UpdateQueue",
        json!({"QueueARN": arn, "QueueAttributes": {"VisibilityTimeoutSeconds": 5}}),
    )
    .await;
    assert_eq!(v["QueueDescription"]["QueueAttributes"]["VisibilityTimeoutSeconds"], 5);
    assert_eq!(
        v["QueueDescription"]["QueueAttributes"]["DeadLetterConfiguration"]["MaxReceiveCount"], 2,
        "unspecified attributes stay"
    );
    let second = create_queue(&url, &stream_arn, "audit", json!({}), "LATEST").await;
    let v = ok(
        &url,
        "ListQueues",
        json!({"StreamFilter": [{"StreamARN": stream_arn}], "MaxResults": 1}),
    )
    .await;
    assert_eq!(v["QueueSummaries"].as_array().unwrap().len(), 1);
    assert_eq!(v["QueueSummaries"][0]["QueueName"], "workers");
    assert_eq!(v["QueueSummaries"][0]["Streams"][0]["StreamARN"], stream_arn.as_str());
    let token = v["NextToken"].as_str().unwrap().to_owned();
    let v = ok(&url, "ListQueues", json!({"NextToken": token})).await;
    assert_eq!(v["QueueSummaries"][0]["QueueARN"], second.as_str());
    assert!(v.get("NextToken").is_none());
    let d = ok(&url, "DescribeQueue", json!({"QueueARN": second})).await;
    assert_eq!(
        d["QueueDescription"]["QueueAttributes"],
        json!({"VisibilityTimeoutSeconds": 30, "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 6}}),
        "AWS's defaults"
    );

    for q in [&arn, &second] {
        ok(&url, "DeleteQueue", json!({"QueueARN": q})).await;
    }
    let (status, v) = call(&url, "ReceiveQueueRecords", json!({"QueueARN": arn})).await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ResourceNotFoundException")),
        "{v}"
    );
    let (status, v) = call(&url, "DescribeQueue", json!({"QueueARN": format!("{arn}x")})).await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ResourceNotFoundException")),
        "{v}"
    );
    c.delete_stream().stream_name("orders").send().await.unwrap();
}

/// A long-polling receive is answered as soon as a record is put, and a LATEST queue
/// delivers only records put after it was created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_is_answered_when_a_record_arrives() {
    let s = TestServer::start().await;
    let url = s.url();
    let c = s.client();
    on_demand(&c, "events").await;
    crate::common::put(&c, "events", "old", "before the queue").await;
    s.clock.advance_ms(1);
    let arn = create_queue(&url, &s.arn("events"), "tail", json!({}), "LATEST").await;
    let poll = {
        let url = url.clone();
        let arn = arn.clone();
        tokio::spawn(async move { receive(&url, "ReceiveQueueRecords", &arn, 20).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "nothing to receive yet");
    let started = std::time::Instant::now();
    crate::common::put(&c, "events", "new", "after the queue").await;
    let got = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    assert_eq!(data(&got[0]), "after the queue");
}

/// Receives and acknowledgements survive a restart: an acknowledged record is not delivered
/// again, one in flight comes back when its visibility ends, and no record is taken twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(rheo_engine::ManualClock::default());
    let start = |dir: std::path::PathBuf, clock: std::sync::Arc<rheo_engine::ManualClock>| async move {
        let mut config = rheo_engine::EngineConfig::new(dir);
        config.transition_delay_ms = 0;
        let engine = rheo_engine::Engine::open(config, clock as std::sync::Arc<dyn rheo_engine::Clock>).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(rheo_server::serve(listener, engine, Default::default()));
        (url, task)
    };
    let (url, task) = start(dir.path().to_owned(), clock.clone()).await;
    let c = crate::common::client_for(&url);
    on_demand(&c, "durable").await;
    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/durable";
    let arn = create_queue(&url, stream_arn, "q", json!({}), "TRIM_HORIZON").await;
    for i in 0..20 {
        crate::common::put(&c, "durable", &format!("k{i}"), format!("r{i}")).await;
    }
    let got = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
    assert_eq!(got.len(), 10);
    let acked: Vec<&Value> = got.iter().take(4).collect();
    ok(
        &url,
        "AcknowledgeQueueRecords",
        json!({"QueueARN": arn, "Entries": handles(&acked)}),
    )
    .await;
    let acked: Vec<String> = acked.iter().map(|r| data(r)).collect();
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (url, _task) = start(dir.path().to_owned(), clock.clone()).await;
    let mut seen: Vec<String> = Vec::new();
    loop {
        let got = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
        if got.is_empty() {
            break;
        }
        seen.extend(got.iter().map(data));
        let all: Vec<&Value> = got.iter().collect();
        ok(
            &url,
            "AcknowledgeQueueRecords",
            json!({"QueueARN": arn, "Entries": handles(&all)}),
        )
        .await;
    }
    // The 10 not yet received; the 6 in flight are still invisible.
    assert_eq!(seen.len(), 10, "{seen:?}");
    clock.advance_ms(31_000);
    let back = receive(&url, "ReceiveQueueRecords", &arn, 1).await;
    assert_eq!(back.len(), 6);
    seen.extend(back.iter().map(data));
    seen.sort();
    let mut want: Vec<String> = (0..20)
        .map(|i| format!("r{i}"))
        .filter(|r| !acked.contains(r))
        .collect();
    want.sort();
    assert_eq!(seen, want, "every unacknowledged record once, no acknowledged one");
}
