//! Each AWS error class, with its exact `__type`, status and message.

use crate::common::*;
use serde_json::json;

fn kind(v: &serde_json::Value) -> &str {
    v["__type"].as_str().unwrap_or_default()
}

fn message(v: &serde_json::Value) -> &str {
    v["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn validation_errors_use_aws_wording() {
    let server = TestServer::start().await;
    let (status, body) = server
        .raw("CreateStream", r#"{"StreamName":"bad name!","ShardCount":0}"#)
        .await;
    assert_eq!(status, 400);
    assert_eq!(kind(&body), "ValidationException");
    assert_eq!(
        message(&body),
        // AWS checks ShardCount before StreamName (kinesalite test/createStream.js, against AWS).
        "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    );
    let (_, body) = server.raw("CreateStream", r#"{"ShardCount":1}"#).await;
    assert_eq!(
        message(&body),
        "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"
    );
    let long = "x".repeat(129);
    let (_, body) = server
        .raw("DescribeStream", &json!({ "StreamName": long }).to_string())
        .await;
    assert!(
        message(&body).ends_with("Member must have length less than or equal to 128"),
        "{body}"
    );
    let (_, body) = server
        .raw(
            "PutRecords",
            r#"{"StreamName":"s","Records":[{"Data":"AA=="},{"PartitionKey":"","Data":"AA=="}]}"#,
        )
        .await;
    assert_eq!(kind(&body), "ValidationException");
    assert!(
        message(&body).starts_with("2 validation errors detected: Value null at 'records.1.member.partitionKey'"),
        "{body}"
    );
    let (_, body) = server
        .raw(
            "GetShardIterator",
            r#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"OLDEST"}"#,
        )
        .await;
    assert!(message(&body).contains("Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"));
    let (_, body) = server.raw("GetRecords", r#"{"ShardIterator":"x","Limit":10001}"#).await;
    assert!(
        message(&body)
            .contains("at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000")
    );
}

#[tokio::test]
async fn serialization_and_unknown_operation() {
    let server = TestServer::start().await;
    for body in [
        "{",
        "[1,2]",
        r#"{"StreamName": 5}"#,
        r#"{"ShardCount":"two","StreamName":"s"}"#,
        "\u{0}\u{1}",
    ] {
        let (status, v) = server.raw("CreateStream", body).await;
        assert_eq!((status, kind(&v)), (400, "SerializationException"), "body {body:?}");
    }
    let (status, v) = server
        .raw(
            "PutRecord",
            r#"{"StreamName":"s","PartitionKey":"k","Data":"not base64!"}"#,
        )
        .await;
    assert_eq!((status, kind(&v)), (400, "SerializationException"));
    let (status, v) = server.raw("FlyToTheMoon", "{}").await;
    assert_eq!((status, kind(&v)), (400, "UnknownOperationException"));
}

#[tokio::test]
async fn resource_errors_carry_aws_messages() {
    let server = TestServer::with(Options {
        shard_limit: 10,
        ..Default::default()
    })
    .await;
    let (status, v) = server.raw("DescribeStream", r#"{"StreamName":"missing"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(kind(&v), "ResourceNotFoundException");
    assert_eq!(message(&v), "Stream missing under account 000000000000 not found.");
    server.raw("CreateStream", r#"{"StreamName":"s","ShardCount":8}"#).await;
    let (_, v) = server.raw("CreateStream", r#"{"StreamName":"s","ShardCount":1}"#).await;
    assert_eq!(kind(&v), "ResourceInUseException");
    assert_eq!(message(&v), "Stream s under account 000000000000 already exists.");
    let (_, v) = server.raw("CreateStream", r#"{"StreamName":"t","ShardCount":3}"#).await;
    assert_eq!(kind(&v), "LimitExceededException");
    assert!(message(&v).starts_with("This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 8. Limit: 10."));
    let (_, v) = server
        .raw(
            "GetShardIterator",
            r#"{"StreamName":"s","ShardId":"shardId-000000000042","ShardIteratorType":"LATEST"}"#,
        )
        .await;
    assert_eq!(kind(&v), "ResourceNotFoundException");
    assert_eq!(
        message(&v),
        "Shard shardId-000000000042 in stream s under account 000000000000 does not exist"
    );
    let (_, v) = server
        .raw(
            "IncreaseStreamRetentionPeriod",
            r#"{"StreamName":"s","RetentionPeriodHours":8761}"#,
        )
        .await;
    assert_eq!(kind(&v), "InvalidArgumentException");
    assert_eq!(
        message(&v),
        "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long."
    );
    let (_, v) = server
        .raw(
            "DecreaseStreamRetentionPeriod",
            r#"{"StreamName":"s","RetentionPeriodHours":23}"#,
        )
        .await;
    assert_eq!(
        message(&v),
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."
    );
    let (_, v) = server
        .raw(
            "IncreaseStreamRetentionPeriod",
            r#"{"StreamName":"s","RetentionPeriodHours":72}"#,
        )
        .await;
    assert_eq!(v, serde_json::Value::Null, "an empty body, as AWS sends for no output");
    let (_, v) = server
        .raw(
            "IncreaseStreamRetentionPeriod",
            r#"{"StreamName":"s","RetentionPeriodHours":48}"#,
        )
        .await;
    assert_eq!(kind(&v), "InvalidArgumentException");
    let (_, v) = server.raw("DescribeStream", r#"{}"#).await;
    assert_eq!(kind(&v), "InvalidArgumentException");
    // A stream of another account: AccessDenied.
    let (status, v) = server
        .raw(
            "DescribeStreamSummary",
            r#"{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s"}"#,
        )
        .await;
    assert_eq!((status, kind(&v)), (400, "AccessDeniedException"));
}

#[tokio::test]
async fn iterators_expire_and_garbage_iterators_are_refused() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "exp", 1).await;
    let it = c
        .get_shard_iterator()
        .stream_name("exp")
        .shard_id("shardId-000000000000")
        .shard_iterator_type("TRIM_HORIZON".into())
        .send()
        .await
        .unwrap();
    let it = it.shard_iterator().unwrap();
    c.get_records().shard_iterator(it).send().await.unwrap();
    server.clock.advance_ms(300_001);
    assert_eq!(
        code(c.get_records().shard_iterator(it).send().await),
        "ExpiredIteratorException"
    );
    let (_, v) = server
        .raw(
            "GetRecords",
            r#"{"ShardIterator":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        )
        .await;
    assert_eq!(kind(&v), "InvalidArgumentException");
    assert_eq!(message(&v), "Invalid ShardIterator.");
    // A sequence number of another shard.
    create_active(&c, "two", 2).await;
    let put = c
        .put_record()
        .stream_name("two")
        .partition_key("a")
        .explicit_hash_key("0")
        .data(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let (_, v) = server
        .raw(
            "GetShardIterator",
            &json!({"StreamName":"two","ShardId":"shardId-000000000001","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber": put.sequence_number()}).to_string(),
        )
        .await;
    assert_eq!(kind(&v), "InvalidArgumentException");
    assert!(message(&v).starts_with("Invalid StartingSequenceNumber. It encodes shardId-000000000000"));
    // AT_TIMESTAMP cannot point into the future.
    let future = server.clock_now() + 60_000;
    let body = json!({"StreamName": "two", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
                      "Timestamp": future as f64 / 1000.0});
    let (_, v) = server.raw("GetShardIterator", &body.to_string()).await;
    assert_eq!(kind(&v), "InvalidArgumentException");
    assert!(
        message(&v).starts_with("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis.")
    );
    // ListShards tokens expire too.
    let page = c.list_shards().stream_name("two").max_results(1).send().await.unwrap();
    server.clock.advance_ms(300_001);
    assert_eq!(
        code(c.list_shards().next_token(page.next_token().unwrap()).send().await),
        "ExpiredNextTokenException"
    );
}

/// One request over a fresh connection, unsigned unless the caller adds a signature; returns
/// the status, the headers and the body.
async fn plain(server: &TestServer, req: http::request::Builder, body: &str) -> (u16, http::HeaderMap, Vec<u8>) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let req = req
        .uri(format!("{}/", server.url()))
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}

/// The connection level as AWS answers it (kinesalite's connection tests against AWS): an
/// unknown target before any signature, a body that is not JSON, the ids on every response,
/// CORS for browsers, and methods other than POST.
#[tokio::test]
async fn the_front_door_answers_as_aws_does() {
    let server = TestServer::with(Options {
        credentials: vec!["AKIDGOOD:secret"],
        ..Options::default()
    })
    .await;
    let json = |target: &str| {
        http::Request::post("/")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
    };
    // Unknown and missing targets: UnknownOperationException, unsigned and all.
    for target in [
        "Kinesis_20131202.FlyToTheMoon",
        "Kinesis_20131202.",
        "Whatever.ListStreams",
        "",
    ] {
        let (status, h, body) = plain(&server, json(target), "{}").await;
        assert_eq!(status, 400, "{target}");
        assert_eq!(body, br#"{"__type":"UnknownOperationException"}"#, "{target}");
        assert!(h.contains_key("x-amzn-requestid") && h.contains_key("x-amz-id-2"));
    }
    // A known target without a signature is asked for one.
    let (status, _, body) = plain(&server, json("Kinesis_20131202.ListStreams"), "{}").await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("MissingAuthenticationTokenException"));
    // Every response carries both ids; x-amz-id-2 is 72 random bytes in base64.
    let signed = TestServer::start().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let req = well_formed_signature(json("Kinesis_20131202.ListStreams"));
        let (status, h, _) = plain(&signed, req, "{}").await;
        assert_eq!(status, 200);
        let id2 = h["x-amz-id-2"].to_str().unwrap().to_owned();
        assert_eq!(id2.len(), 96);
        assert!(seen.insert(id2));
        let id = h["x-amzn-requestid"].to_str().unwrap();
        assert_eq!(id.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
    }
    // No body, or a body that is not JSON: SerializationException with no message.
    for body in ["", "hello", "{", " "] {
        let req = well_formed_signature(json("Kinesis_20131202.ListStreams"));
        let (status, _, got) = plain(&signed, req, body).await;
        assert_eq!(
            (status, got.as_slice()),
            (400, &br#"{"__type":"SerializationException"}"#[..]),
            "{body:?}"
        );
    }
    // A type mismatch: SerializationException, its text under `Message`.
    let req = well_formed_signature(json("Kinesis_20131202.CreateStream"));
    let (_, _, got) = plain(&signed, req, r#"{"StreamName":true}"#).await;
    let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"__type": "SerializationException", "Message": "class java.lang.Boolean can not be converted to an String"})
    );
    // CORS: a preflight needs no signature; responses to an Origin expose AWS's headers.
    let preflight = http::Request::options("/")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-amz-target",
        );
    let (status, h, body) = plain(&server, preflight, "").await;
    assert_eq!((status, body.len()), (200, 0));
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization,content-type,x-amz-target"
    );
    assert_eq!(h["access-control-max-age"], "172800");
    // Responses to an Origin expose AWS's headers (an unknown target needs no signature).
    let req = json("Kinesis_20131202.Nope").header("origin", "https://app.example");
    let (status, h, _) = plain(&server, req, "{}").await;
    assert_eq!(status, 400);
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(
        h["access-control-expose-headers"],
        "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"
    );
    // A body in a Content-Type AWS does not read.
    let odd = |target: &str| {
        http::Request::post("/")
            .header("content-type", "text/plain")
            .header("x-amz-target", target)
    };
    let (status, _, body) = plain(&signed, odd("Kinesis_20131202.ListStreams"), "{}").await;
    assert_eq!((status, body.as_slice()), (404, &b"<UnknownOperationException/>\n"[..]));
    let (status, _, body) = plain(&signed, odd("Kinesis_20131202"), "{}").await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).starts_with("<AccessDeniedException>"));
    // Without credentials (any signature passes) there is no CORS: a preflight is refused, and
    // a web page cannot read answers.
    let preflight = http::Request::options("/")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST");
    let (status, h, _) = plain(&signed, preflight, "").await;
    assert_eq!(status, 403);
    assert!(!h.contains_key("access-control-allow-origin"));
    let req = well_formed_signature(json("Kinesis_20131202.ListStreams")).header("origin", "https://app.example");
    let (status, h, _) = plain(&signed, req, "{}").await;
    assert_eq!(status, 200);
    assert!(!h.contains_key("access-control-allow-origin"));
    // Methods other than POST.
    let (status, _, body) = plain(&signed, http::Request::get("/"), "").await;
    assert_eq!(status, 403);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n"
    );
}
