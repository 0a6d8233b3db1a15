//! Enhanced fan-out: the consumer lifecycle and SubscribeToShard, driven by the AWS SDK for
//! Rust's event stream client.

use crate::common::*;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput;
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use aws_sdk_kinesis::types::{ConsumerStatus, ShardIteratorType, SubscribeToShardEvent, SubscribeToShardEventStream};
use std::time::Duration;

/// A server with a one-shard stream "s" and an ACTIVE consumer "app" of it (the consumer's ARN).
async fn with_consumer() -> (TestServer, Client, String) {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "s", 1).await;
    let consumer = register(&c, &server.arn("s"), "app").await;
    (server, c, consumer)
}

const SHARD: &str = "shardId-000000000000";

/// The error a subscription ends with, within 10 s.
async fn ends_with_error(sub: &mut SubscribeToShardOutput) -> SubscribeToShardEventStreamError {
    let ended = tokio::time::timeout(Duration::from_secs(10), sub.event_stream.recv())
        .await
        .expect("the end within 10 s");
    ended
        .expect_err("the subscription ends with an error")
        .into_service_error()
}

/// The records' data of an event, as strings.
fn data(e: &SubscribeToShardEvent) -> Vec<String> {
    e.records()
        .iter()
        .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap())
        .collect()
}

/// The next SubscribeToShardEvent, within 10 s.
async fn next_event(sub: &mut SubscribeToShardOutput) -> Option<SubscribeToShardEvent> {
    let got = tokio::time::timeout(Duration::from_secs(10), sub.event_stream.recv())
        .await
        .expect("an event within 10 s")
        .expect("a well-formed event");
    match got? {
        SubscribeToShardEventStream::SubscribeToShardEvent(e) => Some(e),
        other => panic!("unexpected event {other:?}"),
    }
}

/// Receives events until `n` records have come; returns their data as strings.
async fn receive(sub: &mut SubscribeToShardOutput, n: usize) -> (Vec<String>, SubscribeToShardEvent) {
    let mut got = Vec::new();
    loop {
        let e = next_event(sub).await.expect("the subscription is still open");
        got.extend(data(&e));
        assert!(got.len() <= n, "more records than written: {got:?}");
        if got.len() == n {
            return (got, e);
        }
    }
}

#[tokio::test]
async fn consumers_register_describe_list_and_deregister() {
    let server = TestServer::with(Options {
        transition_delay_ms: 1000,
        ..Options::default()
    })
    .await;
    let c = server.client();
    c.create_stream().stream_name("s").shard_count(1).send().await.unwrap();
    server.clock.advance_ms(1000);
    wait_active(&c, "s").await;
    let out = try_register(&c, &server.arn("s"), "app").await.unwrap();
    let consumer = out.consumer().unwrap();
    assert_eq!(consumer.consumer_status(), &ConsumerStatus::Creating);
    let arn = consumer.consumer_arn().to_owned();
    let secs = server.clock_now() / 1000;
    assert_eq!(arn, format!("{}/consumer/app:{secs}", server.arn("s")));
    // The same name again is refused, even while CREATING.
    let again = try_register(&c, &server.arn("s"), "app").await;
    assert_eq!(code(again), "ResourceInUseException");
    // Not readable until ACTIVE.
    let early = try_subscribe(&c, &arn, SHARD, ShardIteratorType::Latest, None, None).await;
    assert_eq!(code(early), "ResourceInUseException");
    server.clock.advance_ms(1000);
    // Described by ARN, and by stream ARN and name.
    let by_arn = c.describe_stream_consumer().consumer_arn(&arn).send().await.unwrap();
    let d = by_arn.consumer_description().unwrap();
    assert_eq!(d.consumer_status(), &ConsumerStatus::Active);
    assert_eq!(d.stream_arn(), server.arn("s"));
    assert_eq!(d.consumer_creation_timestamp().to_millis().unwrap() / 1000, secs);
    let by_name = c
        .describe_stream_consumer()
        .stream_arn(server.arn("s"))
        .consumer_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.consumer_description().unwrap().consumer_arn(), arn);
    let neither = c.describe_stream_consumer().consumer_name("app").send().await;
    assert_eq!(code(neither), "InvalidArgumentException");
    let missing = c
        .describe_stream_consumer()
        .stream_arn(server.arn("s"))
        .consumer_name("nobody")
        .send()
        .await;
    assert_eq!(code(missing), "ResourceNotFoundException");
    // Listing pages in registration order.
    for name in ["b", "c"] {
        server.clock.advance_ms(10);
        register(&c, &server.arn("s"), name).await;
    }
    let page = c
        .list_stream_consumers()
        .stream_arn(server.arn("s"))
        .max_results(2)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = page.consumers().iter().map(|c| c.consumer_name()).collect();
    assert_eq!(names, ["app", "b"]);
    let rest = c
        .list_stream_consumers()
        .stream_arn(server.arn("s"))
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = rest.consumers().iter().map(|c| c.consumer_name()).collect();
    assert_eq!((names, rest.next_token()), (vec!["c"], None));
    let summary = c.describe_stream_summary().stream_name("s").send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().consumer_count(), Some(3));
    // A stream with consumers is deleted only when asked to take them along.
    let refused = c.delete_stream().stream_name("s").send().await;
    assert_eq!(code(refused), "ResourceInUseException");
    // Deregistering: DELETING, then gone; registering again gives a new ARN.
    c.deregister_stream_consumer().consumer_arn(&arn).send().await.unwrap();
    let d = c.describe_stream_consumer().consumer_arn(&arn).send().await.unwrap();
    assert_eq!(
        d.consumer_description().unwrap().consumer_status(),
        &ConsumerStatus::Deleting
    );
    server.clock.advance_ms(1000);
    let gone = c.describe_stream_consumer().consumer_arn(&arn).send().await;
    assert_eq!(code(gone), "ResourceNotFoundException");
    let again = register(&c, &server.arn("s"), "app").await;
    assert_ne!(again, arn);
    // The per-stream limit of 20.
    for i in 3..20 {
        register(&c, &server.arn("s"), &format!("x{i}")).await;
    }
    let over = try_register(&c, &server.arn("s"), "one-too-many").await;
    assert_eq!(code(over), "LimitExceededException");
    c.delete_stream()
        .stream_name("s")
        .enforce_consumer_deletion(true)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn subscribe_to_shard_pushes_every_record_in_order_from_each_starting_position() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "s", 1).await;
    let shard = "shardId-000000000000";
    let mut seqs = Vec::new();
    for i in 0..10 {
        server.clock.advance_ms(10);
        seqs.push(put(&c, "s", "k", format!("r{i}")).await.sequence_number().to_owned());
    }
    let consumer = register(&c, &server.arn("s"), "app").await;
    // TRIM_HORIZON: the ten records, then new ones pushed as they are written.
    let mut sub = subscribe(&c, &consumer, shard, ShardIteratorType::TrimHorizon, None, None).await;
    let (got, last) = receive(&mut sub, 10).await;
    let want: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    assert_eq!(got, want);
    assert_eq!(last.continuation_sequence_number(), seqs[9]);
    assert_eq!(last.millis_behind_latest(), 0);
    for i in 10..15 {
        put(&c, "s", "k", format!("r{i}")).await;
    }
    let (got, _) = receive(&mut sub, 5).await;
    assert_eq!(got, (10..15).map(|i| format!("r{i}")).collect::<Vec<_>>());
    drop(sub);
    // Each starting position, with a fresh lease each time (the previous one was dropped).
    let cases: [(ShardIteratorType, Option<&str>, Option<i64>, usize); 3] = [
        (ShardIteratorType::AtSequenceNumber, Some(&seqs[4]), None, 4),
        (ShardIteratorType::AfterSequenceNumber, Some(&seqs[4]), None, 5),
        (ShardIteratorType::TrimHorizon, None, None, 0),
    ];
    for (kind, seq, ts, from) in cases {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut sub = subscribe(&c, &consumer, shard, kind.clone(), seq, ts).await;
        let (got, _) = receive(&mut sub, 15 - from).await;
        assert_eq!(got, (from..15).map(|i| format!("r{i}")).collect::<Vec<_>>(), "{kind:?}");
    }
    // AT_TIMESTAMP of the sixth record.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let records = first_records(&c, "s", shard).await;
    let ts = records[5].approximate_arrival_timestamp().unwrap().to_millis().unwrap();
    let mut sub = subscribe(&c, &consumer, shard, ShardIteratorType::AtTimestamp, None, Some(ts)).await;
    let (got, _) = receive(&mut sub, 10).await;
    assert_eq!(got, (5..15).map(|i| format!("r{i}")).collect::<Vec<_>>());
    drop(sub);
    // LATEST: only what is written after subscribing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut sub = subscribe(&c, &consumer, shard, ShardIteratorType::Latest, None, None).await;
    put(&c, "s", "k", "new").await;
    let (got, _) = receive(&mut sub, 1).await;
    assert_eq!(got, ["new"]);
}

#[tokio::test]
async fn a_second_subscription_is_refused_then_takes_over_after_five_seconds() {
    let (server, c, consumer) = with_consumer().await;
    let shard = SHARD;
    let mut first = subscribe(&c, &consumer, shard, ShardIteratorType::Latest, None, None).await;
    assert!(next_event(&mut first).await.unwrap().records().is_empty());
    let second = try_subscribe(&c, &consumer, shard, ShardIteratorType::Latest, None, None).await;
    assert_eq!(code(second), "ResourceInUseException");
    // Another consumer reads the same shard independently.
    let other = register(&c, &server.arn("s"), "other").await;
    let mut third = subscribe(&c, &other, shard, ShardIteratorType::Latest, None, None).await;
    assert!(next_event(&mut third).await.unwrap().records().is_empty());
    // Five seconds on, a new subscription takes over; the first ends with ResourceInUseException.
    server.clock.advance_ms(5000);
    let mut taker = subscribe(&c, &consumer, shard, ShardIteratorType::Latest, None, None).await;
    let err = ends_with_error(&mut first).await;
    assert!(err.is_resource_in_use_exception(), "{err:?}");
    put(&c, "s", "k", "after").await;
    let (got, _) = receive(&mut taker, 1).await;
    assert_eq!(got, ["after"]);
}

#[tokio::test]
async fn a_subscription_ends_after_five_minutes() {
    let (server, c, consumer) = with_consumer().await;
    let mut sub = subscribe(&c, &consumer, SHARD, ShardIteratorType::Latest, None, None).await;
    assert!(next_event(&mut sub).await.is_some());
    server.clock.advance_ms(5 * 60 * 1000);
    assert!(next_event(&mut sub).await.is_none(), "the stream ends");
}

#[tokio::test]
async fn a_subscription_reads_a_split_parent_to_its_end_then_names_the_children() {
    let (_server, c, consumer) = with_consumer().await;
    let parent = SHARD;
    let mut sub = subscribe(&c, &consumer, parent, ShardIteratorType::TrimHorizon, None, None).await;
    let keys: Vec<String> = (0..8).map(|i| format!("key-{i}")).collect();
    for i in 0..40 {
        put(&c, "s", &keys[i % keys.len()], format!("{}:{i}", keys[i % keys.len()])).await;
    }
    c.split_shard()
        .stream_name("s")
        .shard_to_split(parent)
        .new_starting_hash_key((u128::MAX / 2).to_string())
        .send()
        .await
        .unwrap();
    wait_active(&c, "s").await;
    for i in 40..80 {
        put(&c, "s", &keys[i % keys.len()], format!("{}:{i}", keys[i % keys.len()])).await;
    }
    // The parent's 40 records, then an event with ChildShards and no continuation; then the end.
    let mut got = Vec::new();
    let end = loop {
        let e = next_event(&mut sub).await.expect("events until the parent's end");
        got.extend(data(&e));
        if !e.child_shards().is_empty() {
            break e;
        }
    };
    assert_eq!(got.len(), 40);
    assert!(end.continuation_sequence_number().is_empty());
    let children: Vec<&str> = end.child_shards().iter().map(|c| c.shard_id()).collect();
    assert_eq!(children, ["shardId-000000000001", "shardId-000000000002"]);
    assert!(next_event(&mut sub).await.is_none());
    // The children from TRIM_HORIZON hold the rest (all written before subscribing, so each
    // child's first event carries all of its records); per key, values in order, each once.
    for child in children {
        let mut sub = subscribe(&c, &consumer, child, ShardIteratorType::TrimHorizon, None, None).await;
        let e = next_event(&mut sub).await.unwrap();
        got.extend(data(&e));
    }
    assert_eq!(got.len(), 80);
    for key in &keys {
        let values: Vec<usize> = got
            .iter()
            .filter_map(|r| r.strip_prefix(&format!("{key}:")))
            .map(|v| v.parse().unwrap())
            .collect();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(values, sorted, "{key}: in order, once each");
        assert_eq!(values.len(), 10);
    }
}

#[tokio::test]
async fn deregistering_a_consumer_ends_its_subscriptions_with_an_error() {
    let (_server, c, consumer) = with_consumer().await;
    let mut sub = subscribe(&c, &consumer, SHARD, ShardIteratorType::Latest, None, None).await;
    assert!(next_event(&mut sub).await.is_some());
    c.deregister_stream_consumer()
        .consumer_arn(&consumer)
        .send()
        .await
        .unwrap();
    let err = ends_with_error(&mut sub).await;
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn with_aws_limits_a_consumer_reads_two_mib_per_second() {
    let (server, c, consumer) = with_consumer().await;
    let record = vec![b'x'; 100 * 1024];
    for i in 0..40 {
        put(&c, "s", &format!("k{i}"), record.clone()).await;
    }
    let (status, _) = admin(
        &server.url(),
        "PUT",
        "/_rheo/streams/s/throughput-limits",
        r#"{"profile":"aws"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let mut sub = subscribe(&c, &consumer, SHARD, ShardIteratorType::TrimHorizon, None, None).await;
    // With the clock standing still, the consumer's bucket (2 MiB) lets through what it holds
    // plus the one event that empties it (at most 1 MiB), and then nothing more.
    let mut received = 0;
    while let Ok(event) = tokio::time::timeout(Duration::from_millis(500), sub.event_stream.recv()).await {
        let Some(SubscribeToShardEventStream::SubscribeToShardEvent(e)) = event.unwrap() else {
            panic!("the subscription ended");
        };
        received += e.records().len();
    }
    assert!((20..=30).contains(&received), "{received} records of 100 KiB");
    // Time passes: the rest arrives.
    server.clock.advance_ms(10_000);
    server.engine.tick().await;
    let (rest, _) = receive(&mut sub, 40 - received).await;
    assert_eq!(received + rest.len(), 40);
}

#[tokio::test]
async fn an_idle_subscription_gets_an_event_every_five_seconds() {
    let (server, c, consumer) = with_consumer().await;
    let put = put(&c, "s", "k", "only").await;
    let mut sub = subscribe(&c, &consumer, SHARD, ShardIteratorType::TrimHorizon, None, None).await;
    let (got, _) = receive(&mut sub, 1).await;
    assert_eq!(got, ["only"]);
    // Five seconds without records: a heartbeat with no records, the same continuation, and
    // MillisBehindLatest 0.
    server.clock.advance_ms(5000);
    server.engine.tick().await;
    let beat = next_event(&mut sub).await.unwrap();
    assert!(beat.records().is_empty());
    assert_eq!(beat.continuation_sequence_number(), put.sequence_number());
    assert_eq!(beat.millis_behind_latest(), 0);
}
