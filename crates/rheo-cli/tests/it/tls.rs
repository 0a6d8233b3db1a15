//! TLS on the Kinesis port: the SDK over https with Rheo's self-signed certificate, HTTP/2
//! chosen by ALPN, and cleartext still served on the same port.

use crate::common::*;
use aws_sdk_kinesis::types::{ShardIteratorType, SubscribeToShardEventStream};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

async fn tls_server() -> TestServer {
    TestServer::with(Options {
        tls: true,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn the_sdk_works_over_https_with_the_self_signed_certificate() {
    let server = tls_server().await;
    let c = server.https_client();
    create_active(&c, "secure", 1).await;
    let put = put(&c, "secure", "k", "over tls").await;
    let records = first_records(&c, "secure", put.shard_id()).await;
    assert_eq!(records[0].data().as_ref(), b"over tls");
    // Enhanced fan-out over TLS (HTTP/2, as the SDK negotiates it).
    let consumer = register(&c, &server.arn("secure"), "app").await;
    let kind = ShardIteratorType::TrimHorizon;
    let mut sub = subscribe(&c, &consumer, put.shard_id(), kind, None, None).await;
    let Some(SubscribeToShardEventStream::SubscribeToShardEvent(e)) = sub.event_stream.recv().await.unwrap() else {
        panic!("an event")
    };
    assert_eq!(e.records()[0].data().as_ref(), b"over tls");
    // The same port still serves cleartext.
    let plain = server.client();
    let streams = plain.list_streams().send().await.unwrap();
    assert_eq!(streams.stream_names(), ["secure"]);
}

#[tokio::test]
async fn alpn_chooses_http2_and_requests_are_served_over_it() {
    let server = tls_server().await;
    let stream = server.tls_connect(&[b"h2", b"http/1.1"]).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = well_formed_signature(http::Request::post(format!(
        "https://localhost:{}/",
        server.addr.port()
    )))
    .header("content-type", "application/x-amz-json-1.1")
    .header("x-amz-target", "Kinesis_20131202.ListStreams")
    .body(Full::new(Bytes::from_static(b"{}")))
    .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        br#"{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}"#
    );
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused_and_others_go_on() {
    let server = tls_server().await;
    // The default trust store does not hold Rheo's self-signed certificate.
    let untrusting = client_for(&format!("https://localhost:{}", server.addr.port()));
    assert!(untrusting.list_streams().send().await.is_err());
    let c = server.https_client();
    c.list_streams().send().await.unwrap();
}

#[tokio::test]
async fn cleartext_http2_with_prior_knowledge_serves_requests_and_event_streams() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "h2", 1).await;
    let consumer_arn = register(&c, &server.arn("h2"), "app").await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = |target: &str, body: String| {
        well_formed_signature(http::Request::post(format!("http://{}/", server.addr)))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("Kinesis_20131202.{target}"))
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    // A subscription and a put on the same HTTP/2 connection, as the Java SDK and KCL use it.
    let subscribe = format!(
        r#"{{"ConsumerARN":"{consumer_arn}","ShardId":"shardId-000000000000","StartingPosition":{{"Type":"LATEST"}}}}"#
    );
    let resp = sender
        .send_request(request("SubscribeToShard", subscribe))
        .await
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.headers()["content-type"], "application/vnd.amazon.eventstream");
    let mut events = resp.into_body();
    let put = sender
        .send_request(request(
            "PutRecord",
            r#"{"StreamName":"h2","PartitionKey":"k","Data":"aDI="}"#.into(),
        ))
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let mut buf = Vec::new();
    let record = loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), events.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        buf.extend_from_slice(&frame.into_data().unwrap());
        let mut found = None;
        while let Ok((m, used)) = rheo_wire::eventstream::decode(&buf) {
            buf.drain(..used);
            if m.header_str(":event-type") == Some("SubscribeToShardEvent") {
                let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
                if let Some(r) = v["Records"].as_array().and_then(|r| r.first()) {
                    found = Some(r["Data"].as_str().unwrap().to_owned());
                }
            }
        }
        if let Some(r) = found {
            break r;
        }
    };
    assert_eq!(record, "aDI=");
}
