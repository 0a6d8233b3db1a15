//! Resharding over the wire: SplitShard, MergeShards and UpdateShardCount while producers keep
//! writing, a reader that follows shard lineage, ShardFilter results, and AWS's errors.

use crate::common::*;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    PutRecordsRequestEntry, ScalingType, ShardFilter, ShardFilterType, ShardIteratorType, StreamMode, StreamModeDetails,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[tokio::test]
async fn reshards_under_concurrent_writes_keep_every_record_once_and_in_key_order() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "rs", 2).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    for w in 0..4 {
        let (c, stop) = (c.clone(), stop.clone());
        producers.push(tokio::spawn(async move {
            let mut next: BTreeMap<String, u32> = BTreeMap::new();
            let mut acked = Vec::new();
            let mut round = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Sequential puts per key: the next record of a key is sent only after the
                // previous one was acknowledged, so per-key order is defined.
                let batch: Vec<(String, u32)> = (0..16)
                    .map(|k| {
                        let key = format!("w{w}-k{}", (k + round) % 24);
                        let n = next.get(&key).copied().unwrap_or(0);
                        (key, n)
                    })
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect();
                let entries = batch
                    .iter()
                    .map(|(k, n)| {
                        PutRecordsRequestEntry::builder()
                            .partition_key(k)
                            .data(Blob::new(format!("{k}:{n}")))
                            .build()
                            .unwrap()
                    })
                    .collect();
                let out = c
                    .put_records()
                    .stream_name("rs")
                    .set_records(Some(entries))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.failed_record_count(), Some(0), "no record fails during a reshard");
                for (k, n) in batch {
                    next.insert(k.clone(), n + 1);
                    acked.push(format!("{k}:{n}"));
                }
                round += 1;
            }
            acked
        }));
    }
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(150));
    pause().await;
    // Split shard 0 in the middle of its range.
    let shards = all_shards(&c, "rs").await;
    let r = shards[0].hash_key_range().unwrap();
    let mid = (r.starting_hash_key().parse::<u128>().unwrap() + r.ending_hash_key().parse::<u128>().unwrap()) / 2 + 1;
    c.split_shard()
        .stream_name("rs")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key(mid.to_string())
        .send()
        .await
        .unwrap();
    wait_active(&c, "rs").await;
    pause().await;
    assert_eq!(
        open_ids(&all_shards(&c, "rs").await),
        ["shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
    );
    // Merge the two halves back (addressed by ARN this time).
    c.merge_shards()
        .stream_arn(server.arn("rs"))
        .shard_to_merge("shardId-000000000002")
        .adjacent_shard_to_merge("shardId-000000000003")
        .send()
        .await
        .unwrap();
    wait_active(&c, "rs").await;
    pause().await;
    // Up to 4, then down to 3 (uneven: short-lived shards in between).
    for target in [4, 3] {
        let out = c
            .update_shard_count()
            .stream_name("rs")
            .target_shard_count(target)
            .scaling_type(ScalingType::UniformScaling)
            .send()
            .await
            .unwrap();
        assert_eq!(out.target_shard_count(), Some(target));
        assert_eq!(out.stream_arn(), Some(server.arn("rs").as_str()));
        wait_active(&c, "rs").await;
        let shards = all_shards(&c, "rs").await;
        assert_eq!(open_ids(&shards).len(), target as usize);
        pause().await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for p in producers {
        acked.extend(p.await.unwrap());
    }
    assert!(
        acked.len() > 500,
        "the producers kept writing through the reshards ({})",
        acked.len()
    );
    // The open shards split the hash space evenly into 3 and carry the lineage.
    let shards = all_shards(&c, "rs").await;
    let summary = c.describe_stream_summary().stream_name("rs").send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().open_shard_count(), 3);
    for s in &shards {
        let start = s.sequence_number_range().unwrap().starting_sequence_number();
        for p in s.parent_shard_id().into_iter().chain(s.adjacent_parent_shard_id()) {
            let parent = shards.iter().find(|x| x.shard_id() == p).unwrap();
            let end = parent
                .sequence_number_range()
                .unwrap()
                .ending_sequence_number()
                .unwrap();
            // 56 digits each: string order is numeric order.
            assert_eq!((start.len(), end.len()), (56, 56));
            assert!(start > end, "{} starts after its parent {p} ends", s.shard_id());
        }
    }
    // Read everything through the lineage: each acknowledged record once, in order per key.
    let read = read_by_lineage(&c, "rs").await;
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut unique = HashSet::new();
    for (key, data) in &read {
        assert!(unique.insert(data.clone()), "{data} read twice");
        let (k, n) = data.rsplit_once(':').unwrap();
        assert_eq!(k, key);
        let n: i64 = n.parse().unwrap();
        let last = seen.insert(key.clone(), n).unwrap_or(-1);
        assert_eq!(n, last + 1, "records of {key} out of order");
    }
    let acked: HashSet<String> = acked.into_iter().collect();
    assert_eq!(unique, acked, "every acknowledged record is read, and nothing else");
}

#[tokio::test]
async fn invalid_reshards_get_aws_errors() {
    let server = TestServer::with(Options {
        transition_delay_ms: 60_000,
        shard_limit: 9,
        ..Default::default()
    })
    .await;
    let c = server.client();
    c.create_stream()
        .stream_name("bad")
        .shard_count(3)
        .send()
        .await
        .unwrap();
    // CREATING: the stream is not ACTIVE yet.
    let split = |shard: &str, key: &str| {
        c.split_shard()
            .stream_name("bad")
            .shard_to_split(shard)
            .new_starting_hash_key(key)
            .send()
    };
    assert_eq!(code(split("shardId-000000000000", "5").await), "ResourceInUseException");
    server.clock.advance_ms(60_000);
    wait_active(&c, "bad").await;
    let shards = all_shards(&c, "bad").await;
    let start1 = shards[1].hash_key_range().unwrap().starting_hash_key().to_owned();
    // Split at the first key of the range: one half would be empty.
    let (status, body) = server
        .raw(
            "SplitShard",
            &format!(r#"{{"StreamName":"bad","ShardToSplit":"shardId-000000000001","NewStartingHashKey":"{start1}"}}"#),
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidArgumentException"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not both greater than one plus the shard's StartingHashKey")
    );
    // Outside the shard altogether.
    assert_eq!(
        code(split("shardId-000000000001", "0").await),
        "InvalidArgumentException"
    );
    // A key that is not a 128-bit number.
    assert_eq!(
        code(split("shardId-000000000001", "340282366920938463463374607431768211456").await),
        "InvalidArgumentException"
    );
    // Pattern violations are ValidationExceptions.
    assert_eq!(code(split("shardId-000000000001", "01").await), "ValidationException");
    // No such shard.
    let (status, body) = server
        .raw(
            "SplitShard",
            r#"{"StreamName":"bad","ShardToSplit":"shardId-000000000009","NewStartingHashKey":"5"}"#,
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    assert_eq!(
        body["message"],
        "Could not find shard shardId-000000000009 in stream bad under account 000000000000."
    );
    // Non-adjacent merge.
    let merge = |a: &str, b: &str| {
        c.merge_shards()
            .stream_name("bad")
            .shard_to_merge(a)
            .adjacent_shard_to_merge(b)
            .send()
    };
    let r = merge("shardId-000000000000", "shardId-000000000002").await;
    let e = r.expect_err("not adjacent");
    assert_eq!(e.code(), Some("InvalidArgumentException"));
    assert_eq!(
        e.message(),
        Some(
            "Shards shardId-000000000000 and shardId-000000000002 in stream bad under account 000000000000 are not an adjacent pair of shards eligible for merging"
        )
    );
    // Target shard counts outside [half, double], and a bad scaling type.
    let scale = |n: i32| {
        c.update_shard_count()
            .stream_name("bad")
            .target_shard_count(n)
            .scaling_type(ScalingType::UniformScaling)
            .send()
    };
    assert_eq!(code(scale(7).await), "LimitExceededException");
    assert_eq!(code(scale(1).await), "LimitExceededException");
    assert_eq!(code(scale(0).await), "ValidationException");
    let (status, body) = server
        .raw(
            "UpdateShardCount",
            r#"{"StreamName":"bad","TargetShardCount":4,"ScalingType":"NOPE"}"#,
        )
        .await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("ValidationException")));
    // Above the shard limit (9): with another stream of 4 shards, scaling this one from 3 to 6
    // would make 10 open shards in the account.
    create_active_after(&server, &c, "other", 4).await;
    assert_eq!(code(scale(6).await), "LimitExceededException");
    // A valid split makes the stream UPDATING; a second reshard is refused until it is done.
    split(
        "shardId-000000000001",
        // AWS refuses StartingHashKey + 1 (it must be greater than one plus it).
        &(start1.parse::<u128>().unwrap() + 2).to_string(),
    )
    .await
    .unwrap();
    let status = c.describe_stream_summary().stream_name("bad").send().await.unwrap();
    assert_eq!(
        status.stream_description_summary().unwrap().stream_status().as_str(),
        "UPDATING"
    );
    assert_eq!(code(scale(4).await), "ResourceInUseException");
    // Reads and writes go on while UPDATING.
    put(&c, "bad", "k", b"during").await;
    server.clock.advance_ms(60_000);
    wait_active(&c, "bad").await;
    // The split shard is closed now: splitting or merging it again is refused.
    assert_eq!(
        code(split("shardId-000000000001", "5").await),
        "InvalidArgumentException"
    );
    assert_eq!(
        code(merge("shardId-000000000000", "shardId-000000000001").await),
        "InvalidArgumentException"
    );
    // On-demand streams are not resharded by hand (first make room under the shard limit).
    c.delete_stream().stream_name("other").send().await.unwrap();
    server.clock.advance_ms(60_000);
    server.engine.tick().await;
    c.create_stream()
        .stream_name("od")
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = server
        .raw(
            "UpdateShardCount",
            r#"{"StreamName":"od","TargetShardCount":5,"ScalingType":"UNIFORM_SCALING"}"#,
        )
        .await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("ValidationException")));
    assert_eq!(
        body["message"],
        "Request is invalid. Stream od under account 000000000000 is in On-Demand mode."
    );
    // The server is still serving after all of it.
    assert_eq!(open_ids(&all_shards(&c, "bad").await).len(), 4);
}

/// Creates a stream on a server whose transition delay needs the clock moved.
async fn create_active_after(server: &TestServer, c: &Client, name: &str, shards: i32) {
    c.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    server.clock.advance_ms(60_000);
    wait_active(c, name).await;
}

#[tokio::test]
async fn shard_filters_see_the_lineage_and_closed_shards_expire_with_retention() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "sf", 1).await;
    put(&c, "sf", "before", b"1").await;
    let before_split = server.clock_now();
    server.clock.advance_ms(1_000);
    c.split_shard()
        .stream_name("sf")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .unwrap();
    wait_active(&c, "sf").await;
    server.clock.advance_ms(1_000);
    let after_split = server.clock_now();
    let filtered = |f: ShardFilter| {
        let c = c.clone();
        async move {
            let out = c.list_shards().stream_name("sf").shard_filter(f).send().await.unwrap();
            out.shards().iter().map(|s| s.shard_id().to_owned()).collect::<Vec<_>>()
        }
    };
    let of = |t: ShardFilterType| ShardFilter::builder().r#type(t).build().unwrap();
    let (p, a, b) = ("shardId-000000000000", "shardId-000000000001", "shardId-000000000002");
    assert_eq!(filtered(of(ShardFilterType::AtLatest)).await, [a, b]);
    assert_eq!(filtered(of(ShardFilterType::AtTrimHorizon)).await, [p]);
    assert_eq!(filtered(of(ShardFilterType::FromTrimHorizon)).await, [p, a, b]);
    let at = |t: ShardFilterType, ms: i64| {
        ShardFilter::builder()
            .r#type(t)
            .timestamp(DateTime::from_millis(ms))
            .build()
            .unwrap()
    };
    assert_eq!(filtered(at(ShardFilterType::AtTimestamp, before_split)).await, [p]);
    assert_eq!(filtered(at(ShardFilterType::AtTimestamp, after_split)).await, [a, b]);
    assert_eq!(
        filtered(at(ShardFilterType::FromTimestamp, before_split)).await,
        [p, a, b]
    );
    assert_eq!(filtered(at(ShardFilterType::FromTimestamp, after_split)).await, [a, b]);
    let after_id = ShardFilter::builder()
        .r#type(ShardFilterType::AfterShardId)
        .shard_id(p)
        .build()
        .unwrap();
    assert_eq!(filtered(after_id).await, [a, b]);
    // The parent's records are still readable, then its children are named.
    let (records, children) = read_shard(&c, "sf", p).await;
    assert_eq!(records, [("before".to_owned(), "1".to_owned())]);
    assert_eq!(children, Some(vec![a.to_owned(), b.to_owned()]));
    // LATEST on the closed parent: nothing more, straight to the children.
    let it = iterator(&c, "sf", p, ShardIteratorType::Latest).await;
    let out = records_at(&c, it).await;
    assert!(out.records().is_empty() && out.next_shard_iterator().is_none());
    assert_eq!(out.child_shards().len(), 2);
    assert_eq!(out.child_shards()[0].parent_shards(), [p]);
    // Once its records are past retention (24 h), the closed parent is gone.
    server.clock.advance_ms(24 * 3_600_000 + 1_000);
    server.engine.tick().await;
    assert_eq!(filtered(of(ShardFilterType::FromTrimHorizon)).await, [a, b]);
    let shards = all_shards(&c, "sf").await;
    assert_eq!(shards.len(), 2);
    let gone = c
        .get_shard_iterator()
        .stream_name("sf")
        .shard_id(p)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await;
    assert_eq!(code(gone), "ResourceNotFoundException");
    assert!(
        !server
            .dir
            .path()
            .join("data/streams")
            .read_dir()
            .unwrap()
            .any(|stream| { stream.unwrap().path().join("000000").exists() })
    );
}
