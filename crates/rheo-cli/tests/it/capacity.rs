//! Capacity modes: on-demand streams that scale from their observed writes, UpdateStreamMode,
//! UpdateMaxRecordSize, UpdateStreamWarmThroughput and UpdateStreamRecordDistributionStrategy.
//! The manual clock stands in for the seconds of writing the scaler measures.

use crate::common::*;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, RecordDistributionStrategy, StreamMode, StreamModeDetails};
use std::collections::BTreeSet;

async fn create_on_demand(c: &Client, name: &str) {
    let details = StreamModeDetails::builder()
        .stream_mode(StreamMode::OnDemand)
        .build()
        .unwrap();
    c.create_stream()
        .stream_name(name)
        .stream_mode_details(details)
        .send()
        .await
        .unwrap();
    wait_active(c, name).await;
}

/// Puts `n` records with the given keys in batches of 500; every one must be acknowledged.
async fn put_all(c: &Client, stream: &str, keys: &[String], from: usize, n: usize, size: usize) {
    for start in (from..from + n).step_by(500) {
        let batch = (start..(start + 500).min(from + n))
            .map(|i| {
                let mut data = format!("r{i}:").into_bytes();
                data.resize(size.max(data.len()), b'.');
                let e = PutRecordsRequestEntry::builder().partition_key(&keys[i % keys.len()]);
                e.data(Blob::new(data)).build().unwrap()
            })
            .collect();
        let out = c
            .put_records()
            .stream_name(stream)
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count(), Some(0), "no write is refused");
    }
}

/// Moves the clock one second and lets the scaler run; returns the open shard count once the
/// stream is ACTIVE again.
async fn next_second(server: &TestServer, c: &Client, stream: &str) -> usize {
    server.clock.advance_ms(1000);
    server.engine.tick().await;
    server.engine.tick().await;
    wait_active(c, stream).await;
    open_ids(&all_shards(c, stream).await).len()
}

#[tokio::test]
async fn an_on_demand_stream_splits_a_hot_shard_and_loses_no_write() {
    let server = TestServer::start().await;
    let c = server.client();
    create_on_demand(&c, "od").await;
    // Keys that all land in shard 0 (the lowest quarter of the hash key space).
    let hot: Vec<String> = (0..)
        .map(|i| format!("hot-{i}"))
        .filter(|k| md5_hash_key(k) < u128::MAX / 4)
        .take(64)
        .collect();
    // 1,500 records a second, 50% over a shard's 1,000.
    let mut written = 0;
    let mut seconds = 0;
    while open_ids(&all_shards(&c, "od").await).len() == 4 {
        put_all(&c, "od", &hot, written, 1500, 10).await;
        written += 1500;
        next_second(&server, &c, "od").await;
        seconds += 1;
        assert!(seconds <= 10, "the hot shard was split");
    }
    assert!(seconds >= 3, "not before the shard stayed hot for 3 seconds: {seconds}");
    // Keep writing after the split.
    put_all(&c, "od", &hot, written, 1500, 10).await;
    written += 1500;
    let shards = all_shards(&c, "od").await;
    let open = open_ids(&shards);
    assert_eq!(
        open.len(),
        5,
        "one split, no uniform rescale (the peak fits 4 shards doubled)"
    );
    let parent = &shards[0];
    assert!(
        parent
            .sequence_number_range()
            .unwrap()
            .ending_sequence_number()
            .is_some()
    );
    let children: Vec<_> = shards
        .iter()
        .filter(|s| s.parent_shard_id() == Some("shardId-000000000000"))
        .collect();
    assert_eq!(children.len(), 2);
    let parent_range = parent.hash_key_range().unwrap();
    let (start, end): (u128, u128) = (
        parent_range.starting_hash_key().parse().unwrap(),
        parent_range.ending_hash_key().parse().unwrap(),
    );
    assert_eq!(
        children[1].hash_key_range().unwrap().starting_hash_key(),
        (start + (end - start) / 2 + 1).to_string(),
        "split in the middle"
    );
    // Every record, once.
    let records = read_by_lineage(&c, "od").await;
    let unique: BTreeSet<&str> = records.iter().map(|(_, d)| d.split(':').next().unwrap()).collect();
    assert_eq!(records.len(), written);
    assert_eq!(unique.len(), written);
}

#[tokio::test]
async fn on_demand_capacity_follows_double_the_peak_and_warm_throughput() {
    let server = TestServer::start().await;
    let c = server.client();
    create_on_demand(&c, "peak").await;
    let keys: Vec<String> = (0..400).map(|i| format!("k{i}")).collect();
    // 1,536 records of 2,000 bytes (just under 3 MiB) in one second over every shard:
    // capacity for twice that means 6 shards.
    put_all(&c, "peak", &keys, 0, 1536, 2000).await;
    assert_eq!(next_second(&server, &c, "peak").await, 6);
    // Quiet seconds do not scale it back down: the peak is remembered.
    assert_eq!(next_second(&server, &c, "peak").await, 6);
    // Warm throughput of 10 MiB/s: scaled up (at most doubling per step) to 10 shards.
    let arn = server.arn("peak");
    let out = c
        .update_stream_warm_throughput()
        .stream_arn(&arn)
        .warm_throughput_mibps(10)
        .send()
        .await
        .unwrap();
    let warm = out.warm_throughput().unwrap();
    assert_eq!((warm.target_mibps(), warm.current_mibps()), (Some(10), Some(6)));
    assert_eq!(next_second(&server, &c, "peak").await, 10);
    let summary = c.describe_stream_summary().stream_arn(&arn).send().await.unwrap();
    let summary = summary.stream_description_summary().unwrap();
    let warm = summary.warm_throughput().unwrap();
    assert_eq!((warm.target_mibps(), warm.current_mibps()), (Some(10), Some(10)));
    // Above 10 GiB/s is over the limit.
    let r = c
        .update_stream_warm_throughput()
        .stream_arn(&arn)
        .warm_throughput_mibps(10_241)
        .send()
        .await;
    assert_eq!(code(r), "LimitExceededException");
}

#[tokio::test]
async fn update_stream_mode_switches_between_provisioned_and_on_demand() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "m", 2).await;
    let arn = server.arn("m");
    let on_demand = StreamModeDetails::builder()
        .stream_mode(StreamMode::OnDemand)
        .build()
        .unwrap();
    let provisioned = StreamModeDetails::builder()
        .stream_mode(StreamMode::Provisioned)
        .build()
        .unwrap();
    c.update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(on_demand.clone())
        .send()
        .await
        .unwrap();
    let summary = c.describe_stream_summary().stream_name("m").send().await.unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(
        summary.stream_mode_details().unwrap().stream_mode(),
        &StreamMode::OnDemand
    );
    assert_eq!(summary.open_shard_count(), 2, "shards are kept");
    // On-demand streams scale themselves: clients may not reshard them.
    let r = c
        .update_shard_count()
        .stream_name("m")
        .target_shard_count(4)
        .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
        .send()
        .await;
    assert_eq!(code(r), "ValidationException");
    // The same mode again is refused.
    let r = c
        .update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(on_demand)
        .send()
        .await;
    assert_eq!(code(r), "InvalidArgumentException");
    // Warm throughput belongs to on-demand streams.
    let r = c
        .update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(provisioned.clone())
        .warm_throughput_mibps(5)
        .send()
        .await;
    assert_eq!(code(r), "InvalidArgumentException");
    c.update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(provisioned)
        .send()
        .await
        .unwrap();
    let summary = c.describe_stream_summary().stream_name("m").send().await.unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(
        summary.stream_mode_details().unwrap().stream_mode(),
        &StreamMode::Provisioned
    );
    assert!(summary.warm_throughput().is_none());
    let r = c
        .update_stream_warm_throughput()
        .stream_name("m")
        .warm_throughput_mibps(5)
        .send()
        .await;
    assert_eq!(code(r), "InvalidArgumentException");
    // StreamARN is required, and must name an existing stream.
    let (status, err) = server
        .raw(
            "UpdateStreamMode",
            r#"{"StreamModeDetails":{"StreamMode":"ON_DEMAND"}}"#,
        )
        .await;
    assert_eq!((status, err["__type"].as_str()), (400, Some("ValidationException")));
    let missing = server.arn("missing");
    let body = format!(r#"{{"StreamARN":"{missing}","StreamModeDetails":{{"StreamMode":"ON_DEMAND"}}}}"#);
    assert_eq!(
        server.raw("UpdateStreamMode", &body).await.1["__type"],
        "ResourceNotFoundException"
    );
}

async fn set_distribution(
    c: &Client,
    arn: &str,
    strategy: RecordDistributionStrategy,
) -> Result<(), aws_sdk_kinesis::Error> {
    let call = c.update_stream_record_distribution_strategy().stream_arn(arn);
    let out = call.record_distribution_strategy(strategy).send().await;
    out.map(|_| ()).map_err(aws_sdk_kinesis::Error::from)
}

#[tokio::test]
async fn auto_distribution_ignores_partition_keys_and_spreads_records() {
    let server = TestServer::start().await;
    let c = server.client();
    create_on_demand(&c, "spread").await;
    let arn = server.arn("spread");
    set_distribution(&c, &arn, RecordDistributionStrategy::Auto)
        .await
        .unwrap();
    let summary = c.describe_stream_summary().stream_arn(&arn).send().await.unwrap();
    assert_eq!(
        summary
            .stream_description_summary()
            .unwrap()
            .record_distribution_strategy(),
        Some(&RecordDistributionStrategy::Auto)
    );
    // One partition key and one explicit hash key, yet every shard gets a quarter.
    put_all(&c, "spread", &["same".to_owned()], 0, 400, 10).await;
    for shard in open_ids(&all_shards(&c, "spread").await) {
        let (records, _) = read_shard(&c, "spread", &shard).await;
        assert_eq!(records.len(), 100, "{shard} holds its share");
    }
    // Back to partition keys: one key, one shard.
    set_distribution(&c, &arn, RecordDistributionStrategy::UserPartitionKey)
        .await
        .unwrap();
    put_all(&c, "spread", &["same".to_owned()], 400, 40, 10).await;
    let mut grew = 0;
    for shard in open_ids(&all_shards(&c, "spread").await) {
        grew += usize::from(read_shard(&c, "spread", &shard).await.0.len() > 100);
    }
    assert_eq!(grew, 1);
    // AUTO is for on-demand streams only.
    create_active(&c, "prov", 1).await;
    let r = set_distribution(&c, &server.arn("prov"), RecordDistributionStrategy::Auto).await;
    assert_eq!(code(r), "InvalidArgumentException");
}

#[tokio::test]
async fn update_max_record_size_admits_records_up_to_ten_mib() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "big", 1).await;
    let arn = server.arn("big");
    let two_mib: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let put = |data: Vec<u8>| {
        c.put_record()
            .stream_name("big")
            .partition_key("p")
            .data(Blob::new(data))
            .send()
    };
    assert_eq!(
        code(put(two_mib.clone()).await),
        "ValidationException",
        "1 MiB by default"
    );
    c.update_max_record_size()
        .stream_arn(&arn)
        .max_record_size_in_kib(10240)
        .send()
        .await
        .unwrap();
    let summary = c.describe_stream_summary().stream_arn(&arn).send().await.unwrap();
    assert_eq!(
        summary.stream_description_summary().unwrap().max_record_size_in_kib(),
        Some(10240)
    );
    let nine_mib: Vec<u8> = (0..9 * 1024 * 1024).map(|i| (i * 13 % 256) as u8).collect();
    put(two_mib.clone()).await.unwrap();
    put(nine_mib.clone()).await.unwrap();
    let records = first_records(&c, "big", "shardId-000000000000").await;
    assert_eq!(records.len(), 1, "a 10 MiB read holds the first record alone");
    assert_eq!(records[0].data().as_ref(), two_mib.as_slice());
    let after = aws_sdk_kinesis::types::ShardIteratorType::AfterSequenceNumber;
    let first = Some(records[0].sequence_number());
    let it = iterator_with(&c, "big", "shardId-000000000000", after, first, None).await;
    let next = records_at(&c, it).await;
    assert_eq!(next.records().len(), 1);
    assert_eq!(
        next.records()[0].data().as_ref(),
        nine_mib.as_slice(),
        "9 MiB read back byte for byte"
    );
    // Above 10 MiB, and sizes outside 1024..=10240 KiB, are refused.
    let (status, err) = server
        .raw(
            "UpdateMaxRecordSize",
            &format!(r#"{{"StreamARN":"{arn}","MaxRecordSizeInKiB":512}}"#),
        )
        .await;
    assert_eq!((status, err["__type"].as_str()), (400, Some("ValidationException")));
    let over = vec![0u8; 10 * 1024 * 1024 + 1];
    assert_eq!(code(put(over).await), "ValidationException");
}

#[tokio::test]
async fn at_most_fifty_on_demand_streams_even_when_switched_at_once() {
    let server = TestServer::with(Options {
        shard_limit: 1000,
        ..Options::default()
    })
    .await;
    let c = server.client();
    for i in 0..49 {
        create_on_demand(&c, &format!("od{i}")).await;
    }
    create_active(&c, "p1", 1).await;
    create_active(&c, "p2", 1).await;
    let on_demand = StreamModeDetails::builder()
        .stream_mode(StreamMode::OnDemand)
        .build()
        .unwrap();
    // Two switches race for the 50th place: the limit is checked under the lock that applies
    // the change, so exactly one wins.
    let switch = |name: &str| {
        c.update_stream_mode()
            .stream_arn(server.arn(name))
            .stream_mode_details(on_demand.clone())
            .send()
    };
    let (a, b) = tokio::join!(switch("p1"), switch("p2"));
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let refused = if outcomes[0] { b.map(|_| ()) } else { a.map(|_| ()) };
    assert_eq!(code(refused), "LimitExceededException");
    let more = c
        .create_stream()
        .stream_name("od-more")
        .stream_mode_details(on_demand.clone())
        .send()
        .await;
    assert_eq!(code(more), "LimitExceededException");
    let limits = c.describe_limits().send().await.unwrap();
    assert_eq!(limits.on_demand_stream_count(), 50);
    assert_eq!(limits.on_demand_stream_count_limit(), 50);
}
