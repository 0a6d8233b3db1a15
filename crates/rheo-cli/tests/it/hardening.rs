//! Regression tests for the hardening review (issue 10): each test names the item it covers
//! and failed on the server before the fix.

use crate::common::*;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

/// Item 1: an ordering hint at the top of the counter space is refused with AWS's error; the
/// shard keeps taking writes and a reader reaches its end.
#[tokio::test]
async fn an_ordering_hint_at_the_top_of_the_counter_space_cannot_brick_a_shard() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "top", 1).await;
    let first = put(&c, "top", "k", "before").await;
    for hint in [
        "4918446744073709551614000000000000",
        "4918446744073709551615000000000000",
    ] {
        let e = c
            .put_record()
            .stream_name("top")
            .partition_key("k")
            .data(Blob::new("x"))
            .sequence_number_for_ordering(hint)
            .send()
            .await;
        assert_eq!(code(e), "InvalidArgumentException", "{hint}");
    }
    // A hint from the shard itself still orders the next record after it.
    let ordered = c
        .put_record()
        .stream_name("top")
        .partition_key("k")
        .data(Blob::new("after"))
        .sequence_number_for_ordering(first.sequence_number())
        .send()
        .await
        .unwrap();
    assert!(ordered.sequence_number() > first.sequence_number());
    let later = put(&c, "top", "k", "later").await;
    assert!(later.sequence_number() > ordered.sequence_number());
    // The reader reaches the end and its next iterator stays there.
    let mut it = iterator(&c, "top", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let out = records_at(&c, it).await;
        seen.extend(
            out.records()
                .iter()
                .map(|r| String::from_utf8_lossy(r.data().as_ref()).into_owned()),
        );
        it = out.next_shard_iterator().unwrap().to_owned();
    }
    assert_eq!(seen, ["before", "after", "later"]);
}

/// Item 4: a presigned X-Amz-Date with a multibyte character is refused with AWS's error, and
/// the server goes on serving.
#[tokio::test]
async fn a_multibyte_presigned_date_is_an_error_not_a_panic() {
    let server = TestServer::start().await;
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    // 16 bytes, 'T' at byte 8 and 'Z' at byte 15: the shape the parser sliced by byte offsets.
    let date = "201%C3%A9083T123456Z";
    let uri = format!(
        "{}/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fkinesis%2Faws4_request&X-Amz-Date={date}&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        server.url()
    );
    let req = http::Request::post(uri)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Kinesis_20131202.ListStreams")
        .body(Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["__type"], "IncompleteSignatureException");
    server.client().list_streams().send().await.unwrap();
}

/// Item 5: iterators and pagination tokens are tagged with a MAC: edited, renamed or
/// hand-made ones are refused.
#[tokio::test]
async fn iterators_and_tokens_cannot_be_forged() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "mac-a", 3).await;
    create_active(&c, "mac-b", 1).await;
    put(&c, "mac-a", "k", "v").await;
    let it = iterator(&c, "mac-a", "shardId-000000000000", ShardIteratorType::Latest).await;
    let std = base64::engine::general_purpose::STANDARD;
    let raw = std.decode(&it).unwrap();
    // Reposition (the position's bytes), re-time (the mint time's), rename (the name's).
    for at in [13usize, 21, 28, 30] {
        let mut edited = raw.clone();
        edited[at] ^= 0x40;
        let e = c.get_records().shard_iterator(std.encode(&edited)).send().await;
        assert_eq!(code(e), "InvalidArgumentException", "byte {at}");
    }
    // A pagination token made by hand, as they were before (base64 JSON).
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = c
        .list_shards()
        .stream_name("mac-a")
        .max_results(1)
        .send()
        .await
        .unwrap();
    let token = token.next_token().unwrap();
    let decoded = url_safe.decode(token).unwrap();
    // The same JSON without its tag (what a hand-made token is), and with it edited.
    let json = &decoded[..decoded.len() - 16];
    assert!(serde_json::from_slice::<serde_json::Value>(json).is_ok());
    let renamed = String::from_utf8_lossy(json).replace("mac-a", "mac-b");
    for forged in [url_safe.encode(json), url_safe.encode(renamed)] {
        let e = c.list_shards().next_token(forged).send().await;
        assert_eq!(code(e), "InvalidArgumentException");
    }
    // The genuine token pages on.
    let page = c.list_shards().next_token(token).max_results(5).send().await.unwrap();
    assert_eq!(page.shards().len(), 2);
}
