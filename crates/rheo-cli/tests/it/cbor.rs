//! AWS CBOR 1.1, as the Java SDK speaks it, through a small CBOR client built here (on
//! minicbor, independent of Rheo's transcoder): blobs as byte strings, timestamps as tag 1
//! around epoch milliseconds.

use crate::common::*;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};
use std::collections::BTreeMap;

/// A CBOR value as this client builds and reads them.
#[derive(Debug, Clone, PartialEq)]
enum C {
    Map(BTreeMap<String, C>),
    Arr(Vec<C>),
    Str(String),
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Tag 1 around epoch milliseconds.
    Time(i64),
    Null,
}

impl C {
    fn get(&self, key: &str) -> &C {
        match self {
            C::Map(m) => m.get(key).unwrap_or_else(|| panic!("no {key} in {self:?}")),
            _ => panic!("{self:?} is not a map"),
        }
    }
    fn str(&self) -> &str {
        match self {
            C::Str(s) => s,
            _ => panic!("{self:?} is not text"),
        }
    }
    fn arr(&self) -> &[C] {
        match self {
            C::Arr(a) => a,
            _ => panic!("{self:?} is not an array"),
        }
    }
}

fn map<const N: usize>(entries: [(&str, C); N]) -> C {
    C::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn s(v: &str) -> C {
    C::Str(v.to_owned())
}

fn encode(e: &mut Encoder<Vec<u8>>, v: &C) {
    match v {
        C::Map(m) => {
            e.map(m.len() as u64).unwrap();
            for (k, v) in m {
                e.str(k).unwrap();
                encode(e, v);
            }
        }
        C::Arr(a) => {
            e.array(a.len() as u64).unwrap();
            a.iter().for_each(|v| encode(e, v));
        }
        C::Str(s) => drop(e.str(s).unwrap()),
        C::Bytes(b) => drop(e.bytes(b).unwrap()),
        C::Int(i) => drop(e.i64(*i).unwrap()),
        C::Float(f) => drop(e.f64(*f).unwrap()),
        C::Bool(b) => drop(e.bool(*b).unwrap()),
        C::Time(ms) => drop(e.tag(Tag::new(1)).unwrap().i64(*ms).unwrap()),
        C::Null => drop(e.null().unwrap()),
    }
}

fn decode(d: &mut Decoder<'_>) -> C {
    match d.datatype().unwrap() {
        Type::Map => {
            let n = d.map().unwrap().unwrap();
            C::Map((0..n).map(|_| (d.str().unwrap().to_owned(), decode(d))).collect())
        }
        Type::Array => {
            let n = d.array().unwrap().unwrap();
            C::Arr((0..n).map(|_| decode(d)).collect())
        }
        Type::String => C::Str(d.str().unwrap().to_owned()),
        Type::Bytes => C::Bytes(d.bytes().unwrap().to_vec()),
        Type::F16 | Type::F32 | Type::F64 => C::Float(d.f64().unwrap()),
        Type::Bool => C::Bool(d.bool().unwrap()),
        Type::Null => {
            d.null().unwrap();
            C::Null
        }
        Type::Tag => {
            assert_eq!(u64::from(d.tag().unwrap()), 1, "only timestamps are tagged");
            C::Time(d.i64().unwrap())
        }
        _ => C::Int(d.i64().unwrap()),
    }
}

/// Calls an operation in CBOR; returns the status, the response's Content-Type and its body.
async fn call(server: &TestServer, op: &str, input: &C) -> (u16, String, C) {
    let mut e = Encoder::new(Vec::new());
    encode(&mut e, input);
    call_raw(server, op, e.into_writer()).await
}

async fn call_raw(server: &TestServer, op: &str, body: Vec<u8>) -> (u16, String, C) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = well_formed_signature(http::Request::post(format!("{}/", server.url())))
        .header("content-type", "application/x-amz-cbor-1.1")
        .header("x-amz-target", format!("Kinesis_20131202.{op}"))
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    if bytes.is_empty() {
        // An operation without output: an empty body, as AWS sends.
        return (status, content_type, C::Null);
    }
    let mut d = Decoder::new(&bytes);
    let value = decode(&mut d);
    assert_eq!(d.position(), bytes.len(), "one CBOR value");
    (status, content_type, value)
}

/// Registers consumer "j" of the stream `arn`, in CBOR; returns the response.
async fn register_j(server: &TestServer, arn: &str) -> C {
    let input = map([("StreamARN", s(arn)), ("ConsumerName", s("j"))]);
    ok(server, "RegisterStreamConsumer", input).await
}

async fn ok(server: &TestServer, op: &str, input: C) -> C {
    let (status, content_type, out) = call(server, op, &input).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-amz-cbor-1.1"),
        "{op}: {out:?}"
    );
    out
}

/// Lets the on-demand scaler finish what it starts (it reshards a stream switched to ON_DEMAND
/// or given warm throughput), so the next control operation finds the stream ACTIVE.
async fn settle_scaling(server: &TestServer) {
    for _ in 0..3 {
        server.engine.tick().await;
        server.engine.tick().await;
        wait_active(&server.client(), "c").await;
    }
}

#[tokio::test]
async fn every_operation_answers_in_cbor() {
    let server = TestServer::start().await;
    let arn = server.arn("c");
    let name = || ("StreamName", s("c"));
    ok(&server, "CreateStream", map([name(), ("ShardCount", C::Int(2))])).await;
    let summary = ok(&server, "DescribeStreamSummary", map([name()])).await;
    let summary = summary.get("StreamDescriptionSummary");
    assert_eq!(summary.get("StreamCreationTimestamp"), &C::Time(server.clock_now()));
    assert_eq!(summary.get("OpenShardCount"), &C::Int(2));
    let described = ok(&server, "DescribeStream", map([name()])).await;
    assert_eq!(described.get("StreamDescription").get("Shards").arr().len(), 2);
    let listed = ok(&server, "ListStreams", map([])).await;
    assert_eq!(listed.get("StreamNames").arr(), [s("c")]);
    let shards = ok(&server, "ListShards", map([name()])).await;
    assert_eq!(shards.get("Shards").arr().len(), 2);
    ok(&server, "DescribeLimits", map([])).await;
    let tags = C::Map([("team".to_owned(), s("data"))].into());
    ok(&server, "AddTagsToStream", map([name(), ("Tags", tags)])).await;
    let t = ok(&server, "ListTagsForStream", map([name()])).await;
    assert_eq!(t.get("Tags").arr()[0].get("Key"), &s("team"));
    ok(&server, "ListTagsForResource", map([("ResourceARN", s(&arn))])).await;
    let keys = C::Arr(vec![s("team")]);
    ok(&server, "RemoveTagsFromStream", map([name(), ("TagKeys", keys)])).await;
    ok(
        &server,
        "TagResource",
        map([
            ("ResourceARN", s(&arn)),
            ("Tags", C::Map([("a".to_owned(), s("b"))].into())),
        ]),
    )
    .await;
    ok(
        &server,
        "UntagResource",
        map([("ResourceARN", s(&arn)), ("TagKeys", C::Arr(vec![s("a")]))]),
    )
    .await;
    ok(
        &server,
        "IncreaseStreamRetentionPeriod",
        map([name(), ("RetentionPeriodHours", C::Int(48))]),
    )
    .await;
    ok(
        &server,
        "DecreaseStreamRetentionPeriod",
        map([name(), ("RetentionPeriodHours", C::Int(24))]),
    )
    .await;
    ok(
        &server,
        "UpdateMaxRecordSize",
        map([("StreamARN", s(&arn)), ("MaxRecordSizeInKiB", C::Int(2048))]),
    )
    .await;
    let put = ok(
        &server,
        "PutRecord",
        map([name(), ("PartitionKey", s("k")), ("Data", C::Bytes(vec![0, 1, 255]))]),
    )
    .await;
    let shard = put.get("ShardId").str().to_owned();
    let at = ok(
        &server,
        "GetShardIterator",
        map([
            name(),
            ("ShardId", s(&shard)),
            ("ShardIteratorType", s("AT_TIMESTAMP")),
            ("Timestamp", C::Time(server.clock_now())),
        ]),
    )
    .await;
    let got = ok(
        &server,
        "GetRecords",
        map([("ShardIterator", at.get("ShardIterator").clone())]),
    )
    .await;
    let record = &got.get("Records").arr()[0];
    assert_eq!(record.get("Data"), &C::Bytes(vec![0, 1, 255]));
    assert_eq!(record.get("ApproximateArrivalTimestamp"), &C::Time(server.clock_now()));
    assert_eq!(record.get("SequenceNumber"), put.get("SequenceNumber"));
    ok(
        &server,
        "SplitShard",
        map([
            name(),
            ("ShardToSplit", s("shardId-000000000000")),
            ("NewStartingHashKey", s("1000")),
        ]),
    )
    .await;
    wait_active(&server.client(), "c").await;
    ok(
        &server,
        "UpdateShardCount",
        map([
            name(),
            ("TargetShardCount", C::Int(4)),
            ("ScalingType", s("UNIFORM_SCALING")),
        ]),
    )
    .await;
    wait_active(&server.client(), "c").await;
    let open = ok(
        &server,
        "ListShards",
        map([name(), ("ShardFilter", map([("Type", s("AT_LATEST"))]))]),
    )
    .await;
    let ids: Vec<String> = open
        .get("Shards")
        .arr()
        .iter()
        .map(|s| s.get("ShardId").str().to_owned())
        .collect();
    let adjacent = ok(&server, "ListShards", map([name()])).await;
    let sorted = {
        let mut v: Vec<&C> = adjacent
            .get("Shards")
            .arr()
            .iter()
            .filter(|s| ids.contains(&s.get("ShardId").str().to_owned()))
            .collect();
        v.sort_by_key(|s| {
            s.get("HashKeyRange")
                .get("StartingHashKey")
                .str()
                .parse::<u128>()
                .unwrap()
        });
        v.iter().map(|s| s.get("ShardId").str().to_owned()).collect::<Vec<_>>()
    };
    ok(
        &server,
        "MergeShards",
        map([
            name(),
            ("ShardToMerge", s(&sorted[0])),
            ("AdjacentShardToMerge", s(&sorted[1])),
        ]),
    )
    .await;
    wait_active(&server.client(), "c").await;
    ok(
        &server,
        "UpdateStreamMode",
        map([
            ("StreamARN", s(&arn)),
            ("StreamModeDetails", map([("StreamMode", s("ON_DEMAND"))])),
        ]),
    )
    .await;
    settle_scaling(&server).await;
    ok(
        &server,
        "UpdateStreamWarmThroughput",
        map([("StreamARN", s(&arn)), ("WarmThroughputMiBps", C::Int(5))]),
    )
    .await;
    settle_scaling(&server).await;
    ok(
        &server,
        "UpdateStreamRecordDistributionStrategy",
        map([("StreamARN", s(&arn)), ("RecordDistributionStrategy", s("AUTO"))]),
    )
    .await;
    let consumer = register_j(&server, &arn).await;
    let consumer = consumer.get("Consumer");
    assert_eq!(consumer.get("ConsumerCreationTimestamp"), &C::Time(server.clock_now()));
    let consumer_arn = consumer.get("ConsumerARN").clone();
    ok(
        &server,
        "DescribeStreamConsumer",
        map([("ConsumerARN", consumer_arn.clone())]),
    )
    .await;
    let consumers = ok(&server, "ListStreamConsumers", map([("StreamARN", s(&arn))])).await;
    assert_eq!(consumers.get("Consumers").arr().len(), 1);
    ok(
        &server,
        "DeregisterStreamConsumer",
        map([("ConsumerARN", consumer_arn)]),
    )
    .await;
    ok(
        &server,
        "DeleteStream",
        map([name(), ("EnforceConsumerDeletion", C::Bool(true))]),
    )
    .await;
}

#[tokio::test]
async fn random_binary_records_of_every_size_round_trip_byte_for_byte() {
    let server = TestServer::start().await;
    ok(
        &server,
        "CreateStream",
        map([("StreamName", s("b")), ("ShardCount", C::Int(1))]),
    )
    .await;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut sizes: Vec<usize> = vec![1, 2, 3, 23, 24, 255, 256, 65_535, 65_536, 1024 * 1024];
    sizes.extend((0..40).map(|_| rng.usize(1..200_000)));
    let mut written = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..*size).map(|_| rng.u8(..)).collect();
        ok(
            &server,
            "PutRecord",
            map([
                ("StreamName", s("b")),
                ("PartitionKey", s(&format!("k{i}"))),
                ("Data", C::Bytes(data.clone())),
            ]),
        )
        .await;
        written.push(data);
    }
    // And in PutRecords batches.
    let batch: Vec<Vec<u8>> = (0..200)
        .map(|_| (0..rng.usize(1..5000)).map(|_| rng.u8(..)).collect())
        .collect();
    let entries = batch
        .iter()
        .enumerate()
        .map(|(i, d)| map([("PartitionKey", s(&format!("p{i}"))), ("Data", C::Bytes(d.clone()))]))
        .collect();
    let out = ok(
        &server,
        "PutRecords",
        map([("StreamName", s("b")), ("Records", C::Arr(entries))]),
    )
    .await;
    assert_eq!(out.get("FailedRecordCount"), &C::Int(0));
    written.extend(batch);
    let it = ok(
        &server,
        "GetShardIterator",
        map([
            ("StreamName", s("b")),
            ("ShardId", s("shardId-000000000000")),
            ("ShardIteratorType", s("TRIM_HORIZON")),
        ]),
    )
    .await;
    let mut iterator = it.get("ShardIterator").clone();
    let mut read = Vec::new();
    while read.len() < written.len() {
        let page = ok(&server, "GetRecords", map([("ShardIterator", iterator)])).await;
        for r in page.get("Records").arr() {
            let C::Bytes(b) = r.get("Data") else {
                panic!("Data is a byte string")
            };
            read.push(b.clone());
        }
        iterator = page.get("NextShardIterator").clone();
    }
    assert_eq!(read.len(), written.len());
    for (i, (r, w)) in read.iter().zip(&written).enumerate() {
        assert!(r == w, "record {i} of {} bytes differs", w.len());
    }
}

#[tokio::test]
async fn errors_come_back_in_cbor() {
    let server = TestServer::start().await;
    let (status, content_type, body) =
        call(&server, "DescribeStreamSummary", &map([("StreamName", s("missing"))])).await;
    assert_eq!((status, content_type.as_str()), (400, "application/x-amz-cbor-1.1"));
    assert_eq!(body.get("__type"), &s("ResourceNotFoundException"));
    assert_eq!(
        body.get("message"),
        &s("Stream missing under account 000000000000 not found.")
    );
    let (status, _, body) = call(
        &server,
        "CreateStream",
        &map([("StreamName", s("bad name")), ("ShardCount", C::Int(1))]),
    )
    .await;
    assert_eq!((status, body.get("__type")), (400, &s("ValidationException")));
    // Malformed CBOR: a map that promises an entry and ends.
    let (status, _, body) = call_raw(&server, "ListStreams", vec![0xa1]).await;
    assert_eq!((status, body.get("__type")), (400, &s("SerializationException")));
    let (status, _, body) = call(&server, "NoSuchThing", &map([])).await;
    assert_eq!((status, body.get("__type")), (400, &s("UnknownOperationException")));
    // The server goes on serving.
    let (status, _, _) = call(&server, "ListStreams", &map([])).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn subscribe_to_shard_events_carry_cbor_payloads() {
    let server = TestServer::start().await;
    let arn = server.arn("e");
    ok(
        &server,
        "CreateStream",
        map([("StreamName", s("e")), ("ShardCount", C::Int(1))]),
    )
    .await;
    ok(
        &server,
        "PutRecord",
        map([
            ("StreamName", s("e")),
            ("PartitionKey", s("k")),
            ("Data", C::Bytes(vec![9, 0, 200])),
        ]),
    )
    .await;
    let consumer = register_j(&server, &arn).await;
    let consumer_arn = consumer.get("Consumer").get("ConsumerARN").clone();
    let mut e = Encoder::new(Vec::new());
    encode(
        &mut e,
        &map([
            ("ConsumerARN", consumer_arn),
            ("ShardId", s("shardId-000000000000")),
            ("StartingPosition", map([("Type", s("TRIM_HORIZON"))])),
        ]),
    );
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = well_formed_signature(http::Request::post(format!("{}/", server.url())))
        .header("content-type", "application/x-amz-cbor-1.1")
        .header("x-amz-target", "Kinesis_20131202.SubscribeToShard")
        .body(Full::new(Bytes::from(e.into_writer())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/vnd.amazon.eventstream");
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let mut messages = Vec::new();
    while messages.len() < 2 {
        let frame = body.frame().await.unwrap().unwrap();
        buf.extend_from_slice(&frame.into_data().unwrap());
        while let Ok((m, used)) = rheo_wire::eventstream::decode(&buf) {
            buf.drain(..used);
            messages.push(m);
        }
    }
    assert_eq!(messages[0].header_str(":event-type"), Some("initial-response"));
    let event = &messages[1];
    assert_eq!(event.header_str(":event-type"), Some("SubscribeToShardEvent"));
    assert_eq!(event.header_str(":content-type"), Some("application/x-amz-cbor-1.1"));
    let payload = decode(&mut Decoder::new(&event.payload));
    let record = &payload.get("Records").arr()[0];
    assert_eq!(record.get("Data"), &C::Bytes(vec![9, 0, 200]));
    assert!(matches!(record.get("ApproximateArrivalTimestamp"), C::Time(_)));
}
