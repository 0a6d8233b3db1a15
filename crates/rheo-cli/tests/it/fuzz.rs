//! Hostile input: random bodies for every action never panic, hang or break the server.

use crate::common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

const TARGETS: [&str; 20] = [
    "CreateStream",
    "DeleteStream",
    "DescribeStream",
    "DescribeStreamSummary",
    "ListStreams",
    "ListShards",
    "DescribeLimits",
    "PutRecord",
    "PutRecords",
    "GetShardIterator",
    "GetRecords",
    "IncreaseStreamRetentionPeriod",
    "DecreaseStreamRetentionPeriod",
    "AddTagsToStream",
    "RemoveTagsFromStream",
    "ListTagsForStream",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "Nonsense",
];

/// JSON values shaped like requests: the right member names with values of any type.
fn request_like() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-zA-Z0-9_.:/=+ -]{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("s")),
        Just(serde_json::Value::from("shardId-000000000000")),
        Just(serde_json::Value::from("AAAA")),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[A-Z][a-zA-Z]{0,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let names = prop_oneof![
        Just("StreamName"),
        Just("ShardCount"),
        Just("Records"),
        Just("Data"),
        Just("PartitionKey"),
        Just("ShardId"),
        Just("ShardIteratorType"),
        Just("ShardIterator"),
        Just("Limit"),
        Just("Tags"),
        Just("TagKeys"),
        Just("StreamARN"),
        Just("ResourceARN"),
        Just("NextToken"),
        Just("ShardFilter"),
        Just("Timestamp"),
        Just("RetentionPeriodHours"),
        Just("ExplicitHashKey"),
        Just("StartingSequenceNumber"),
        Just("StreamModeDetails"),
        Just("MaxResults"),
    ];
    proptest::collection::btree_map(names, value, 0..6)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).to_string())
}

fn bodies() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => request_like(),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_get_aws_errors_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "s", 2).await;
    let cases: Vec<(usize, String)> = {
        let mut runner = TestRunner::new(Config {
            cases: 600,
            ..Config::default()
        });
        let strategy = (0..TARGETS.len(), bodies());
        (0..600)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    };
    for (t, body) in cases {
        let (status, v) = server.raw(TARGETS[t], &body).await;
        assert!(status == 200 || status == 400, "{} {body} -> {status} {v}", TARGETS[t]);
        if status == 400 {
            let kind = v["__type"].as_str().unwrap_or_default();
            assert!(kind.ends_with("Exception"), "{} {body} -> {v}", TARGETS[t]);
        }
    }
    // Still serving: a new stream takes and returns a record. (The random requests may well
    // have deleted or changed stream "s"; that is allowed.)
    create_active(&c, "after-the-fuzzing", 1).await;
    let put = put(&c, "after-the-fuzzing", "k", "still here").await;
    let records = first_records(&c, "after-the-fuzzing", put.shard_id()).await;
    assert_eq!(records[0].data().as_ref(), b"still here");
}
