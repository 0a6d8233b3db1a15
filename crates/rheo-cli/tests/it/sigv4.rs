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
        configure: |o| o.regions = vec!["eu-west-1".into()],
        ..Options::default()
    })
    .await
}

/// How a test request is signed and sent.
#[derive(Clone, Copy)]
struct Signing<'a> {
    secret: &'a str,
    location: SignatureLocation,
    at: SystemTime,
    /// Sign a header request over `UNSIGNED-PAYLOAD` instead of the body's hash.
    unsigned_payload: bool,
    /// Sign `x-amz-target` (aws-sigv4 signs every header it is given).
    sign_target: bool,
    tls: bool,
}

impl<'a> Signing<'a> {
    fn new(secret: &'a str, location: SignatureLocation, at: SystemTime) -> Signing<'a> {
        Signing {
            secret,
            location,
            at,
            unsigned_payload: false,
            sign_target: true,
            tls: false,
        }
    }
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
    signed_call_with(server, Signing::new(secret, location, at), body, tamper).await
}

async fn signed_call_with(
    server: &TestServer,
    how: Signing<'_>,
    body: &str,
    tamper: impl FnOnce(&mut http::Request<String>),
) -> (u16, serde_json::Value) {
    let identity = aws_credential_types::Credentials::new("AKIDACCOUNTA", how.secret, None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = how.location;
    settings.expires_in = Some(Duration::from_secs(300));
    if how.unsigned_payload {
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    }
    let params = SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("kinesis")
        .time(how.at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let (scheme, host) = if how.tls {
        ("https", format!("localhost:{}", server.addr.port()))
    } else {
        ("http", server.addr.to_string())
    };
    let uri = format!("{scheme}://{host}/");
    let target = "Kinesis_20131202.ListStreams";
    let mut headers = vec![("host", host.as_str()), ("content-type", "application/x-amz-json-1.1")];
    if how.sign_target {
        headers.push(("x-amz-target", target));
    }
    let payload = match how.location {
        SignatureLocation::Headers if !how.unsigned_payload => SignableBody::Bytes(body.as_bytes()),
        _ => SignableBody::UnsignedPayload,
    };
    let signable = SignableRequest::new("POST", &uri, headers.iter().copied(), payload).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::post(&uri);
    for (n, v) in headers {
        req = req.header(n, v);
    }
    if !how.sign_target {
        req = req.header("x-amz-target", target);
    }
    let mut req = req.body(body.to_owned()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    tamper(&mut req);
    let (parts, body) = req.into_parts();
    server
        .send(http::Request::from_parts(parts, Full::new(Bytes::from(body))), how.tls)
        .await
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
    // Over cleartext, a presigned URL (UNSIGNED-PAYLOAD) and a header signature over
    // UNSIGNED-PAYLOAD are refused: the body could have been replaced on the way.
    let presigned = signed_call(&server, "secret-a", SignatureLocation::QueryParams, now, "{}", |_| {}).await;
    assert_eq!(error(&presigned), (400, "InvalidSignatureException"));
    let unsigned = Signing {
        unsigned_payload: true,
        ..Signing::new("secret-a", SignatureLocation::Headers, now)
    };
    let refused = signed_call_with(&server, unsigned, "{}", |_| {}).await;
    assert_eq!(error(&refused), (400, "InvalidSignatureException"));
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap()
            .starts_with("UNSIGNED-PAYLOAD is accepted only over TLS"),
        "{refused:?}"
    );
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
    // A region the server does not serve.
    let a_south = client_with(&server.url(), "sa-east-1", "AKIDACCOUNTA", "secret-a");
    let e = a_south.list_streams().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
    assert!(
        e.message()
            .unwrap()
            .starts_with("Credential should be scoped to a valid region")
    );
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

/// A server with TLS beside cleartext that verifies signatures.
async fn verifying_tls_server(require_tls: bool) -> TestServer {
    TestServer::with(Options {
        credentials: vec![A, B],
        tls: true,
        configure: if require_tls { |o| o.require_tls = true } else { |_| {} },
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn signatures_that_leave_the_body_out_pass_only_over_tls() {
    let server = verifying_tls_server(false).await;
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(server.clock_now() as u64);
    let over_tls = |s: Signing<'static>| Signing { tls: true, ..s };
    let presigned = over_tls(Signing::new("secret-a", SignatureLocation::QueryParams, now));
    let ok = signed_call_with(&server, presigned, "{}", |_| {}).await;
    assert_eq!(ok.0, 200, "{:?}", ok.1);
    let old = now - Duration::from_secs(301);
    let expired = signed_call_with(&server, Signing { at: old, ..presigned }, "{}", |_| {}).await;
    assert_eq!(error(&expired), (400, "InvalidSignatureException"));
    let forged = signed_call_with(
        &server,
        Signing {
            secret: "secret-b",
            ..presigned
        },
        "{}",
        |_| {},
    )
    .await;
    assert_eq!(error(&forged), (400, "InvalidSignatureException"));
    let unsigned = over_tls(Signing {
        unsigned_payload: true,
        ..Signing::new("secret-a", SignatureLocation::Headers, now)
    });
    let ok = signed_call_with(&server, unsigned, "{}", |r| {
        assert_eq!(r.headers()["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    })
    .await;
    assert_eq!(ok.0, 200, "{:?}", ok.1);
    let forged = signed_call_with(
        &server,
        Signing {
            secret: "secret-b",
            ..unsigned
        },
        "{}",
        |_| {},
    )
    .await;
    assert_eq!(error(&forged), (400, "InvalidSignatureException"));
    // The same header signature over cleartext is refused.
    let cleartext = signed_call_with(&server, Signing { tls: false, ..unsigned }, "{}", |_| {}).await;
    assert_eq!(error(&cleartext), (400, "InvalidSignatureException"));
}

/// Item 7: the host and the operation must be signed, a signature cannot be moved to another
/// operation, and streaming payload signatures are refused rather than passed unchecked.
#[tokio::test]
async fn the_host_and_the_operation_must_be_signed() {
    let server = verifying_server().await;
    let a = client_with(&server.url(), "us-east-1", "AKIDACCOUNTA", "secret-a");
    create_active(&a, "kept", 1).await;
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(server.clock_now() as u64);
    // x-amz-target left out of SignedHeaders, then swapped for DeleteStream.
    let unsigned_target = Signing {
        sign_target: false,
        ..Signing::new("secret-a", SignatureLocation::Headers, now)
    };
    let swapped = signed_call_with(&server, unsigned_target, r#"{"StreamName":"kept"}"#, |r| {
        r.headers_mut()
            .insert("x-amz-target", "Kinesis_20131202.DeleteStream".parse().unwrap());
    })
    .await;
    assert_eq!(error(&swapped), (400, "IncompleteSignatureException"));
    assert!(swapped.1["message"].as_str().unwrap().contains("'X-Amz-Target'"));
    // A signed DescribeStreamSummary resent as DeleteStream.
    let resent = signed_call(
        &server,
        "secret-a",
        SignatureLocation::Headers,
        now,
        r#"{"StreamName":"kept"}"#,
        |r| {
            r.headers_mut()
                .insert("x-amz-target", "Kinesis_20131202.DeleteStream".parse().unwrap());
        },
    )
    .await;
    assert_eq!(error(&resent), (400, "InvalidSignatureException"));
    a.describe_stream_summary().stream_name("kept").send().await.unwrap();
    // Signed by hand without host.
    let hand_signed = |signed: &'static [&'static str], content_sha: &'static str| {
        let date = rheo_wire::sigv4::format_amz_date(server.clock_now());
        let host = server.addr.to_string();
        let headers = [
            ("host", host.as_str()),
            ("x-amz-date", date.as_str()),
            ("x-amz-target", "Kinesis_20131202.ListStreams"),
            ("x-amz-content-sha256", content_sha),
        ];
        let parts = rheo_wire::sigv4::RequestParts {
            method: "POST",
            path: "/",
            query: None,
            headers: &headers,
        };
        let scope = rheo_wire::sigv4::Scope {
            access_key: "AKIDACCOUNTA".into(),
            date: date[..8].to_owned(),
            region: "us-east-1".into(),
            service: "kinesis".into(),
        };
        let auth = rheo_wire::sigv4::authorization(&parts, &scope, "secret-a", &date, signed, content_sha);
        let mut req = http::Request::post(format!("{}/", server.url()));
        for (n, v) in headers {
            req = req.header(n, v);
        }
        req.header("authorization", auth)
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap()
    };
    let body_hash = rheo_wire::sigv4::sha256_hex(b"{}");
    let body_hash: &'static str = Box::leak(body_hash.into_boxed_str());
    let with_host = server
        .send(hand_signed(&["host", "x-amz-date", "x-amz-target"], body_hash), false)
        .await;
    assert_eq!(with_host.0, 200, "{:?}", with_host.1);
    let no_host = server
        .send(hand_signed(&["x-amz-date", "x-amz-target"], body_hash), false)
        .await;
    assert_eq!(error(&no_host), (400, "IncompleteSignatureException"));
    assert_eq!(
        no_host.1["message"],
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
    let streaming = server
        .send(
            hand_signed(
                &["host", "x-amz-date", "x-amz-target", "x-amz-content-sha256"],
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            ),
            false,
        )
        .await;
    assert_eq!(error(&streaming), (400, "InvalidSignatureException"));
}

#[tokio::test]
async fn require_tls_refuses_cleartext_and_serves_tls() {
    let server = verifying_tls_server(true).await;
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(server.clock_now() as u64);
    let signing = Signing::new("secret-a", SignatureLocation::Headers, now);
    let cleartext = signed_call_with(&server, signing, "{}", |_| {}).await;
    assert_eq!(error(&cleartext), (403, "AccessDeniedException"));
    let tls = signed_call_with(&server, Signing { tls: true, ..signing }, "{}", |_| {}).await;
    assert_eq!(tls.0, 200, "{:?}", tls.1);
}
