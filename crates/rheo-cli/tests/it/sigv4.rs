//! Request signing: with credentials configured, SigV4 signatures are verified (header and
//! presigned), with AWS's errors; the credential's account and the scope's region isolate
//! streams; without credentials, unsigned requests are still refused.

use crate::common::*;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, SystemTime};

const A: &str = "AKIDACCOUNTA:secret-a:111111111111";
const B: &str = "AKIDACCOUNTB:secret-b:222222222222";

async fn verifying_server() -> TestServer {
    TestServer::with(Options {
        credentials: vec![A, B],
        ..Options::default()
    })
    .await
}

/// A request signed by aws-sigv4 (the SDK's signer), in the header or presigned; `tamper`
/// changes it after signing. Returns the status and the JSON body.
async fn signed_call(
    server: &TestServer,
    secret: &str,
    location: SignatureLocation,
    at: SystemTime,
    body: &str,
    tamper: impl FnOnce(&mut http::Request<String>),
) -> (u16, serde_json::Value) {
    signed_call_with(server, secret, location, at, body, false, tamper).await
}

/// As [`signed_call`]; `unsigned_payload` signs a header request with
/// `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of the body's hash.
async fn signed_call_with(
    server: &TestServer,
    secret: &str,
    location: SignatureLocation,
    at: SystemTime,
    body: &str,
    unsigned_payload: bool,
    tamper: impl FnOnce(&mut http::Request<String>),
) -> (u16, serde_json::Value) {
    let identity = aws_credential_types::Credentials::new("AKIDACCOUNTA", secret, None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    settings.expires_in = Some(Duration::from_secs(300));
    if unsigned_payload {
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    }
    let params = SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("kinesis")
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = format!("{}/", server.url());
    let host = server.url().trim_start_matches("http://").to_owned();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "Kinesis_20131202.ListStreams"),
    ];
    let payload = match location {
        SignatureLocation::Headers if !unsigned_payload => SignableBody::Bytes(body.as_bytes()),
        _ => SignableBody::UnsignedPayload,
    };
    let signable = SignableRequest::new("POST", &uri, headers.iter().copied(), payload).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::post(&uri);
    for (n, v) in headers {
        req = req.header(n, v);
    }
    let mut req = req.body(body.to_owned()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    tamper(&mut req);
    let (parts, body) = req.into_parts();
    let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn error(v: &(u16, serde_json::Value)) -> (u16, &str) {
    (v.0, v.1["__type"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn signed_sdk_requests_pass_and_bad_signatures_get_aws_errors() {
    let server = verifying_server().await;
    let a = client_with(&server.url(), "us-east-1", "AKIDACCOUNTA", "secret-a");
    create_active(&a, "signed", 1).await;
    put(&a, "signed", "k", "v").await;
    // SubscribeToShard's request is signed like any other.
    let consumer = register(&a, "arn:aws:kinesis:us-east-1:111111111111:stream/signed", "c").await;
    let kind = aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon;
    let mut sub = subscribe(&a, &consumer, "shardId-000000000000", kind, None, None).await;
    assert!(sub.event_stream.recv().await.unwrap().is_some());
    // The wrong secret.
    let wrong = client_with(&server.url(), "us-east-1", "AKIDACCOUNTA", "not-the-secret");
    let e = wrong.list_streams().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
    let message = e.message().unwrap();
    assert!(
        message.starts_with("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
        "{message}"
    );
    assert!(
        message.contains("The Canonical String for this request should have been\n'POST\n/\n"),
        "{message}"
    );
    // An access key the server does not know.
    let unknown = client_with(&server.url(), "us-east-1", "AKIDNOBODY", "x");
    let e = unknown.list_streams().send().await.unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    // The server's clock 6 minutes ahead: the SDK's signature is stale.
    server.clock.advance_ms(6 * 60 * 1000);
    let e = a.list_streams().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
    let message = e.message().unwrap();
    assert!(message.starts_with("Signature expired: "), "{message}");
}

#[tokio::test]
async fn tampered_missing_and_presigned_requests() {
    let server = verifying_server().await;
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(server.clock_now() as u64);
    let ok = signed_call(&server, "secret-a", SignatureLocation::Headers, now, "{}", |_| {}).await;
    assert_eq!(ok.0, 200, "{:?}", ok.1);
    // A body changed after signing.
    let tampered = signed_call(&server, "secret-a", SignatureLocation::Headers, now, "{}", |r| {
        *r.body_mut() = r#"{"Limit":1}"#.into();
        r.headers_mut().remove("content-length");
    })
    .await;
    assert_eq!(error(&tampered), (400, "InvalidSignatureException"));
    // A signed header changed.
    let changed = signed_call(&server, "secret-a", SignatureLocation::Headers, now, "{}", |r| {
        r.headers_mut()
            .insert("x-amz-target", "Kinesis_20131202.DescribeLimits".parse().unwrap());
    })
    .await;
    assert_eq!(error(&changed), (400, "InvalidSignatureException"));
    // No X-Amz-Date.
    let undated = signed_call(&server, "secret-a", SignatureLocation::Headers, now, "{}", |r| {
        r.headers_mut().remove("x-amz-date");
    })
    .await;
    assert_eq!(error(&undated), (400, "IncompleteSignatureException"));
    assert!(undated.1["message"].as_str().unwrap().contains("'X-Amz-Date'"));
    // No signature at all.
    let unsigned = signed_call(&server, "secret-a", SignatureLocation::Headers, now, "{}", |r| {
        r.headers_mut().remove("authorization");
    })
    .await;
    assert_eq!(error(&unsigned), (400, "MissingAuthenticationTokenException"));
    assert_eq!(unsigned.1["message"], "Missing Authentication Token");
    // A presigned URL (UNSIGNED-PAYLOAD), within its 5 minutes and after them.
    let presigned = signed_call(&server, "secret-a", SignatureLocation::QueryParams, now, "{}", |_| {}).await;
    assert_eq!(presigned.0, 200, "{:?}", presigned.1);
    let old = now - Duration::from_secs(301);
    let expired = signed_call(&server, "secret-a", SignatureLocation::QueryParams, old, "{}", |_| {}).await;
    assert_eq!(error(&expired), (400, "InvalidSignatureException"));
    let forged = signed_call(&server, "secret-b", SignatureLocation::QueryParams, now, "{}", |_| {}).await;
    assert_eq!(error(&forged), (400, "InvalidSignatureException"));
    // A header signature over UNSIGNED-PAYLOAD (x-amz-content-sha256), as streaming clients
    // send: the body is not covered, the rest is.
    let unsigned = signed_call_with(&server, "secret-a", SignatureLocation::Headers, now, "{}", true, |r| {
        assert_eq!(r.headers()["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    })
    .await;
    assert_eq!(unsigned.0, 200, "{:?}", unsigned.1);
    let forged = signed_call_with(&server, "secret-b", SignatureLocation::Headers, now, "{}", true, |_| {}).await;
    assert_eq!(error(&forged), (400, "InvalidSignatureException"));
    // The server still serves.
    let ok = signed_call(&server, "secret-a", SignatureLocation::Headers, now, "{}", |_| {}).await;
    assert_eq!(ok.0, 200);
}

#[tokio::test]
async fn accounts_and_regions_cannot_see_each_others_streams() {
    let server = verifying_server().await;
    let a = client_with(&server.url(), "us-east-1", "AKIDACCOUNTA", "secret-a");
    let b = client_with(&server.url(), "us-east-1", "AKIDACCOUNTB", "secret-b");
    create_active(&a, "orders", 1).await;
    create_active(&a, "only-a", 1).await;
    assert!(b.list_streams().send().await.unwrap().stream_names().is_empty());
    let e = b
        .describe_stream_summary()
        .stream_name("only-a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert_eq!(e.message(), Some("Stream only-a under account 222222222222 not found."));
    // B's own stream of the same name, with its own shards and ARN.
    create_active(&b, "orders", 3).await;
    let sa = a.describe_stream_summary().stream_name("orders").send().await.unwrap();
    let sb = b.describe_stream_summary().stream_name("orders").send().await.unwrap();
    let (sa, sb) = (
        sa.stream_description_summary().unwrap(),
        sb.stream_description_summary().unwrap(),
    );
    assert_eq!(sa.stream_arn(), "arn:aws:kinesis:us-east-1:111111111111:stream/orders");
    assert_eq!(sb.stream_arn(), "arn:aws:kinesis:us-east-1:222222222222:stream/orders");
    assert_eq!((sa.open_shard_count(), sb.open_shard_count()), (1, 3));
    // Records do not cross.
    put(&a, "orders", "k", "from a").await;
    let shards = b.list_shards().stream_name("orders").send().await.unwrap();
    for s in shards.shards() {
        assert!(first_records(&b, "orders", s.shard_id()).await.is_empty());
    }
    // A's ARN from B is refused.
    let e = b
        .describe_stream_summary()
        .stream_arn(sa.stream_arn())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
    // Another region of the same account is another set of streams.
    let a_west = client_with(&server.url(), "eu-west-1", "AKIDACCOUNTA", "secret-a");
    assert!(a_west.list_streams().send().await.unwrap().stream_names().is_empty());
    create_active(&a_west, "orders", 2).await;
    let west = a_west
        .describe_stream_summary()
        .stream_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(
        west.stream_description_summary().unwrap().stream_arn(),
        "arn:aws:kinesis:eu-west-1:111111111111:stream/orders"
    );
}

#[tokio::test]
async fn without_credentials_any_well_formed_signature_passes_but_unsigned_requests_do_not() {
    let server = TestServer::start().await;
    let (status, body) = {
        let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let req = http::Request::post(format!("{}/", server.url()))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "Kinesis_20131202.ListStreams")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap())
    };
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("MissingAuthenticationTokenException"))
    );
    // Any secret works; a 12-digit access key id names the account.
    let any = client_with(&server.url(), "us-east-1", "AKIDANY", "whatever");
    create_active(&any, "s", 1).await;
    let acct = client_with(&server.url(), "us-east-1", "333333333333", "whatever");
    create_active(&acct, "s", 1).await;
    let d = acct.describe_stream_summary().stream_name("s").send().await.unwrap();
    assert_eq!(
        d.stream_description_summary().unwrap().stream_arn(),
        "arn:aws:kinesis:us-east-1:333333333333:stream/s"
    );
}

#[tokio::test]
async fn a_public_address_without_credentials_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rheo"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--allow-unauthenticated"),
        "{stderr}"
    );
}
