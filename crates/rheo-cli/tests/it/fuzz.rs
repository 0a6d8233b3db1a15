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

const SQS_TARGETS: [&str; 12] = [
    "CreateQueue",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "TagQueue",
    "StartMessageMoveTask",
    "AddPermission",
];

/// SQS-shaped JSON: the members SQS reads, with values of any type.
fn sqs_request_like() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9_.:/=+ -]{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("q")),
        Just(serde_json::Value::from("q.fifo")),
        Just(serde_json::Value::from("AAAA")),
        Just(serde_json::Value::from("arn:aws:sqs:us-east-1:000000000000:q")),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[A-Z][a-zA-Z]{0,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let names = prop_oneof![
        Just("QueueName"),
        Just("QueueUrl"),
        Just("MessageBody"),
        Just("Attributes"),
        Just("MessageAttributes"),
        Just("Entries"),
        Just("ReceiptHandle"),
        Just("VisibilityTimeout"),
        Just("MaxNumberOfMessages"),
        Just("WaitTimeSeconds"),
        Just("AttributeNames"),
        Just("MessageGroupId"),
        Just("MessageDeduplicationId"),
        Just("DelaySeconds"),
        Just("Tags"),
        Just("SourceArn"),
        Just("Label"),
    ];
    proptest::collection::btree_map(names, value, 0..6)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_sqs_requests_get_sqs_errors_and_the_server_keeps_serving() {
    use http_body_util::{BodyExt, Full};
    let server = TestServer::start().await;
    let sqs = server.sqs();
    sqs.create_queue().queue_name("q").send().await.unwrap();
    let cases: Vec<(usize, String)> = {
        let mut runner = TestRunner::new(Config::default());
        let strategy = (
            0..SQS_TARGETS.len(),
            prop_oneof![3 => sqs_request_like(), 1 => bodies()],
        );
        (0..400)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    };
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    for (t, body) in cases {
        let req = well_formed_signature(http::Request::post(format!("{}/", server.url())))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{}", SQS_TARGETS[t]))
            .body(Full::new(bytes::Bytes::from(body.clone())))
            .unwrap();
        let resp = tokio::time::timeout(std::time::Duration::from_secs(30), http.request(req))
            .await
            .expect("answered")
            .unwrap();
        let status = resp.status().as_u16();
        let query_error = resp.headers().get("x-amzn-query-error").cloned();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        assert!(
            matches!(status, 200 | 400 | 403 | 404),
            "{} {body} -> {status} {v}",
            SQS_TARGETS[t]
        );
        if status != 200 {
            let kind = v["__type"].as_str().unwrap_or_default();
            let serialization = kind == "SerializationException";
            assert!(
                serialization || kind.starts_with("com.amazonaws.sqs#"),
                "{} {body} -> {v}",
                SQS_TARGETS[t]
            );
            assert!(
                serialization || query_error.is_some(),
                "{} {body}: no x-amzn-query-error",
                SQS_TARGETS[t]
            );
        }
    }
    // Still serving.
    let url = sqs
        .create_queue()
        .queue_name("after")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("still here")
        .send()
        .await
        .unwrap();
    let got = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(got.messages()[0].body(), Some("still here"));
}
