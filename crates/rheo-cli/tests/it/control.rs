//! Stream management: lifecycle, describe, list and paging, limits, on-demand mode, ARNs.

use crate::common::*;
use aws_sdk_kinesis::types::{ShardFilter, ShardFilterType, StreamMode, StreamModeDetails};

#[tokio::test]
async fn stream_lifecycle_passes_through_creating_and_deleting() {
    let server = TestServer::with(Options {
        transition_delay_ms: 300,
        ..Default::default()
    })
    .await;
    let c = server.client();
    c.create_stream()
        .stream_name("life")
        .shard_count(3)
        .send()
        .await
        .unwrap();
    let d = c.describe_stream().stream_name("life").send().await.unwrap();
    let desc = d.stream_description().unwrap();
    assert_eq!(desc.stream_status().as_str(), "CREATING");
    assert_eq!(desc.stream_arn(), server.arn("life"));
    // Writes to a stream that is not ACTIVE yet are refused.
    let put = c
        .put_record()
        .stream_name("life")
        .partition_key("k")
        .data(vec![1u8].into())
        .send()
        .await;
    assert_eq!(code(put), "ResourceNotFoundException");
    server.clock.advance_ms(300);
    wait_active(&c, "life").await;
    let d = c.describe_stream().stream_name("life").send().await.unwrap();
    let desc = d.stream_description().unwrap();
    assert_eq!(desc.shards().len(), 3);
    assert_eq!(desc.retention_period_hours(), 24);
    assert!(!desc.has_more_shards());
    // Shards split the hash key space evenly and contiguously.
    let ranges: Vec<(u128, u128)> = desc
        .shards()
        .iter()
        .map(|s| {
            let r = s.hash_key_range().unwrap();
            (
                r.starting_hash_key().parse().unwrap(),
                r.ending_hash_key().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranges[0].0, 0);
    assert_eq!(ranges[2].1, u128::MAX);
    assert_eq!(ranges[0].1 + 1, ranges[1].0);
    assert_eq!(ranges[1].1 + 1, ranges[2].0);
    assert_eq!(
        code(c.create_stream().stream_name("life").shard_count(1).send().await),
        "ResourceInUseException"
    );

    c.delete_stream().stream_name("life").send().await.unwrap();
    let s = c.describe_stream_summary().stream_name("life").send().await.unwrap();
    assert_eq!(
        s.stream_description_summary().unwrap().stream_status().as_str(),
        "DELETING"
    );
    server.clock.advance_ms(300);
    assert_eq!(
        code(c.describe_stream().stream_name("life").send().await),
        "ResourceNotFoundException"
    );
    // The name can be used again, with fresh storage.
    c.create_stream()
        .stream_name("life")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    server.clock.advance_ms(300);
    wait_active(&c, "life").await;
    let records = first_records(&c, "life", "shardId-000000000000").await;
    assert!(records.is_empty());
}

#[tokio::test]
async fn on_demand_streams_start_with_four_shards() {
    let server = TestServer::start().await;
    let c = server.client();
    let mode = StreamModeDetails::builder()
        .stream_mode(StreamMode::OnDemand)
        .build()
        .unwrap();
    c.create_stream()
        .stream_name("od")
        .stream_mode_details(mode)
        .send()
        .await
        .unwrap();
    wait_active(&c, "od").await;
    let s = c.describe_stream_summary().stream_name("od").send().await.unwrap();
    let s = s.stream_description_summary().unwrap();
    assert_eq!(s.open_shard_count(), 4);
    assert_eq!(s.stream_mode_details().unwrap().stream_mode().as_str(), "ON_DEMAND");
    let limits = c.describe_limits().send().await.unwrap();
    assert_eq!(limits.open_shard_count(), 4);
    assert_eq!(limits.on_demand_stream_count(), 1);
    assert_eq!(limits.shard_limit(), 200);
}

#[tokio::test]
async fn list_streams_pages_by_limit_start_name_and_token() {
    let server = TestServer::start().await;
    let c = server.client();
    for name in ["a1", "a2", "a3", "a4", "a5"] {
        c.create_stream().stream_name(name).shard_count(1).send().await.unwrap();
    }
    let page = c.list_streams().limit(2).send().await.unwrap();
    assert_eq!(page.stream_names(), ["a1", "a2"]);
    assert!(page.has_more_streams());
    assert_eq!(page.stream_summaries().len(), 2);
    assert_eq!(page.stream_summaries()[0].stream_arn(), server.arn("a1"));
    let next = c
        .list_streams()
        .limit(2)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.stream_names(), ["a3", "a4"]);
    let rest = c.list_streams().exclusive_start_stream_name("a4").send().await.unwrap();
    assert_eq!(rest.stream_names(), ["a5"]);
    assert!(!rest.has_more_streams());
    assert!(rest.next_token().is_none());
}

#[tokio::test]
async fn describe_stream_and_list_shards_page() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "many", 5).await;
    let d = c.describe_stream().stream_name("many").limit(2).send().await.unwrap();
    let desc = d.stream_description().unwrap();
    assert_eq!(desc.shards().len(), 2);
    assert!(desc.has_more_shards());
    let d = c
        .describe_stream()
        .stream_name("many")
        .exclusive_start_shard_id("shardId-000000000001")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = d
        .stream_description()
        .unwrap()
        .shards()
        .iter()
        .map(|s| s.shard_id())
        .collect();
    assert_eq!(
        ids,
        ["shardId-000000000002", "shardId-000000000003", "shardId-000000000004"]
    );

    let mut ids = Vec::new();
    let first = c.list_shards().stream_name("many").max_results(2).send().await.unwrap();
    ids.extend(first.shards().iter().map(|s| s.shard_id().to_owned()));
    let mut token = first.next_token().map(str::to_owned);
    while let Some(t) = token {
        let page = c.list_shards().next_token(t).max_results(2).send().await.unwrap();
        ids.extend(page.shards().iter().map(|s| s.shard_id().to_owned()));
        token = page.next_token().map(str::to_owned);
    }
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[4], "shardId-000000000004");
    // A token names its stream: giving both is an error, as is giving neither.
    let again = c.list_shards().stream_name("many").max_results(1).send().await.unwrap();
    let t = again.next_token().unwrap();
    assert_eq!(
        code(c.list_shards().stream_name("many").next_token(t).send().await),
        "InvalidArgumentException"
    );
    assert_eq!(code(c.list_shards().send().await), "InvalidArgumentException");

    let after = c
        .list_shards()
        .stream_name("many")
        .exclusive_start_shard_id("shardId-000000000003")
        .send()
        .await
        .unwrap();
    assert_eq!(after.shards().len(), 1);
    let filter = |t: ShardFilterType| ShardFilter::builder().r#type(t).build().unwrap();
    for t in [
        ShardFilterType::AtLatest,
        ShardFilterType::AtTrimHorizon,
        ShardFilterType::FromTrimHorizon,
    ] {
        let r = c
            .list_shards()
            .stream_name("many")
            .shard_filter(filter(t.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.shards().len(), 5, "{t:?}");
    }
    let after_id = ShardFilter::builder()
        .r#type(ShardFilterType::AfterShardId)
        .shard_id("shardId-000000000000")
        .build()
        .unwrap();
    let r = c
        .list_shards()
        .stream_name("many")
        .shard_filter(after_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.shards().len(), 4);
    let no_id = ShardFilter::builder()
        .r#type(ShardFilterType::AfterShardId)
        .build()
        .unwrap();
    assert_eq!(
        code(c.list_shards().stream_name("many").shard_filter(no_id).send().await),
        "InvalidArgumentException"
    );
    let ts = aws_sdk_kinesis::primitives::DateTime::from_millis(server.clock_now());
    let at = ShardFilter::builder()
        .r#type(ShardFilterType::AtTimestamp)
        .timestamp(ts)
        .build()
        .unwrap();
    assert_eq!(
        c.list_shards()
            .stream_name("many")
            .shard_filter(at)
            .send()
            .await
            .unwrap()
            .shards()
            .len(),
        5
    );
}

#[tokio::test]
async fn every_stream_operation_accepts_the_stream_arn() {
    let server = TestServer::start().await;
    let c = server.client();
    let arn = server.arn("byarn");
    c.create_stream()
        .stream_name("byarn")
        .shard_count(2)
        .send()
        .await
        .unwrap();
    wait_active(&c, "byarn").await;
    let d = c.describe_stream().stream_arn(&arn).send().await.unwrap();
    assert_eq!(d.stream_description().unwrap().stream_name(), "byarn");
    c.describe_stream_summary().stream_arn(&arn).send().await.unwrap();
    assert_eq!(c.list_shards().stream_arn(&arn).send().await.unwrap().shards().len(), 2);
    let put = c
        .put_record()
        .stream_arn(&arn)
        .partition_key("k")
        .data(b"v".to_vec().into())
        .send()
        .await
        .unwrap();
    let entry = aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
        .partition_key("k")
        .data(b"w".to_vec().into())
        .build()
        .unwrap();
    c.put_records().stream_arn(&arn).records(entry).send().await.unwrap();
    let it = c
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(put.shard_id())
        .shard_iterator_type("AT_SEQUENCE_NUMBER".into())
        .starting_sequence_number(put.sequence_number())
        .send()
        .await
        .unwrap();
    let r = c
        .get_records()
        .stream_arn(&arn)
        .shard_iterator(it.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.records().len(), 2);
    c.increase_stream_retention_period()
        .stream_arn(&arn)
        .retention_period_hours(48)
        .send()
        .await
        .unwrap();
    c.decrease_stream_retention_period()
        .stream_arn(&arn)
        .retention_period_hours(24)
        .send()
        .await
        .unwrap();
    c.add_tags_to_stream()
        .stream_arn(&arn)
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.list_tags_for_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
    c.remove_tags_from_stream()
        .stream_arn(&arn)
        .tag_keys("k")
        .send()
        .await
        .unwrap();
    // A name and an ARN that disagree are refused.
    assert_eq!(
        code(c.describe_stream().stream_name("other").stream_arn(&arn).send().await),
        "InvalidArgumentException"
    );
    c.delete_stream().stream_arn(&arn).send().await.unwrap();
}

/// AWS deletes a stream that is still being created (kinesalite test/deleteStream.js, against
/// AWS): the stream goes to DELETING, then away, and its name can be used again.
#[tokio::test]
async fn a_stream_being_created_can_be_deleted() {
    let server = TestServer::with(Options {
        transition_delay_ms: 300,
        ..Default::default()
    })
    .await;
    let c = server.client();
    c.create_stream()
        .stream_name("young")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let d = c.describe_stream_summary().stream_name("young").send().await.unwrap();
    assert_eq!(
        d.stream_description_summary().unwrap().stream_status().as_str(),
        "CREATING"
    );
    let (status, body) = server.raw("DeleteStream", r#"{"StreamName":"young"}"#).await;
    assert_eq!((status, body), (200, serde_json::Value::Null), "an empty body");
    let d = c.describe_stream_summary().stream_name("young").send().await.unwrap();
    assert_eq!(
        d.stream_description_summary().unwrap().stream_status().as_str(),
        "DELETING"
    );
    // Deleting it again while DELETING is refused.
    assert_eq!(
        code(c.delete_stream().stream_name("young").send().await),
        "ResourceInUseException"
    );
    server.clock.advance_ms(300);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        code(c.describe_stream_summary().stream_name("young").send().await),
        "ResourceNotFoundException"
    );
    c.create_stream()
        .stream_name("young")
        .shard_count(1)
        .send()
        .await
        .unwrap();
}
