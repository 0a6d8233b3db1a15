//! Regression tests for the hardening review (issue 10): each test names the item it covers
//! and failed on the server before the fix.

use crate::common::*;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;

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

/// The head of a POST with a well-formed (unverified) signature, declaring `length` bytes.
fn upload_head(server: &TestServer, length: usize, key: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: Kinesis_20131202.PutRecords\r\nx-amz-date: 20260101T000000Z\r\nauthorization: AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\ncontent-length: {length}\r\n\r\n",
        server.addr
    )
}

async fn connect(server: &TestServer) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(server.addr).await.unwrap()
}

/// Reads until the peer closes (or `limit` passes, which fails the test); returns what came.
async fn read_to_close(stream: &mut tokio::net::TcpStream, limit: std::time::Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap_or_default();
    out
}

/// A liveness bound: far above any normal answer, far below the stall the defect caused.
const NO_HANG: std::time::Duration = std::time::Duration::from_secs(20);

/// Item 2: uploads that send only headers hold no budget, so they cannot stall anyone; one
/// tenant filling its share of the budget does not stop another; without credentials an
/// unsigned upload is answered before its body.
#[tokio::test]
async fn header_only_uploads_hold_nothing_and_one_tenant_cannot_take_the_budget() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::with(Options {
        configure: |o| {
            o.max_body_bytes = 1024 * 1024;
            o.connection_body_bytes = 2 * 1024 * 1024;
            o.tenant_body_bytes = 2 * 1024 * 1024;
            o.body_budget_bytes = 8 * 1024 * 1024;
            o.admission_wait = std::time::Duration::from_millis(200);
            // Before the fix, a waiting request stalled for this long.
            o.read_timeout = std::time::Duration::from_secs(600);
        },
        ..Options::default()
    })
    .await;
    let c = server.client();
    create_active(&c, "busy", 1).await;
    // Sixteen uploads that declare the largest body and send none of it.
    let mut idle = Vec::new();
    for _ in 0..16 {
        let mut s = connect(&server).await;
        s.write_all(upload_head(&server, 1024 * 1024, "AKIDTEST").as_bytes())
            .await
            .unwrap();
        idle.push(s);
    }
    let served = tokio::time::timeout(NO_HANG, async {
        for i in 0..20 {
            put(&c, "busy", &format!("k{i}"), vec![b'x'; 64 * 1024]).await;
        }
    })
    .await;
    assert!(served.is_ok(), "writes go on beside header-only uploads");
    // Account 111111111111 sends most of a body and stops: it holds ~1.8 MiB of its 2 MiB.
    let mut partial = connect(&server).await;
    partial
        .write_all(upload_head(&server, 1024 * 1024, "111111111111").as_bytes())
        .await
        .unwrap();
    partial.write_all(&vec![b' '; 900 * 1024]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Its next upload cannot be admitted: refused after the admission wait, not stalled.
    let mut second = connect(&server).await;
    second
        .write_all(upload_head(&server, 300 * 1024, "111111111111").as_bytes())
        .await
        .unwrap();
    second.write_all(&vec![b' '; 300 * 1024]).await.unwrap();
    let answer = read_to_close_or_response(&mut second).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("ServiceUnavailable"), "{answer}");
    // The server's own account is served meanwhile.
    let ok = tokio::time::timeout(NO_HANG, c.list_streams().send()).await;
    assert!(ok.unwrap().is_ok());
    drop((idle, partial));
}

/// Reads one HTTP/1.1 response's head and body (up to 64 KiB) as text.
async fn read_to_close_or_response(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    let _ = tokio::time::timeout(NO_HANG, async {
        loop {
            match stream.read(&mut buf[got..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            let text = String::from_utf8_lossy(&buf[..got]);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if len.is_some_and(|n| body.len() >= n) {
                    break;
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&buf[..got]).into_owned()
}

/// Item 2 with credentials: an upload whose signature fails on its headers is answered at
/// once, before any of its body is sent.
#[tokio::test]
async fn with_credentials_a_bad_signature_is_refused_before_the_body() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::with(Options {
        credentials: vec!["AKIDGOOD:secret"],
        ..Options::default()
    })
    .await;
    let mut s = connect(&server).await;
    s.write_all(upload_head(&server, 16 * 1024 * 1024, "AKIDNOBODY").as_bytes())
        .await
        .unwrap();
    let answer = read_to_close_or_response(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("UnrecognizedClientException"), "{answer}");
}

/// Item 3: a connection that sends nothing is closed; past the connection limit new
/// connections are closed while open ones are served; idle connections (HTTP/1.1 and h2c)
/// are closed.
#[tokio::test]
async fn silent_idle_and_excess_connections_are_closed_and_the_rest_served() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::with(Options {
        configure: |o| {
            o.max_connections = 4;
            o.first_byte_timeout = std::time::Duration::from_millis(300);
            o.idle_timeout = std::time::Duration::from_millis(500);
        },
        ..Options::default()
    })
    .await;
    // Silent: closed after the first-byte timeout, with nothing sent.
    let mut silent = connect(&server).await;
    assert!(read_to_close(&mut silent, NO_HANG).await.is_empty());
    // Fill the limit with connections that have sent a byte of a request.
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut s = connect(&server).await;
        s.write_all(b"P").await.unwrap();
        open.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut excess = connect(&server).await;
    assert!(read_to_close(&mut excess, NO_HANG).await.is_empty(), "closed at once");
    // One of the open ones finishes its request and is answered.
    let rest = format!(
        "OST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: Kinesis_20131202.ListStreams\r\nx-amz-date: 20260101T000000Z\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\ncontent-length: 2\r\n\r\n{{}}",
        server.addr
    );
    open[0].write_all(rest.as_bytes()).await.unwrap();
    let answer = read_to_close_or_response(&mut open[0]).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Then it idles, and is closed.
    assert!(read_to_close(&mut open[0], NO_HANG).await.is_empty());
    drop(open);
    // An HTTP/2 connection with no stream open is closed too, pings or not.
    let tcp = connect(&server).await;
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let req = well_formed_signature(http::Request::post(format!("{}/", server.url())))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Kinesis_20131202.ListStreams")
        .body(Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    assert_eq!(sender.send_request(req).await.unwrap().status(), 200);
    let ended = tokio::time::timeout(NO_HANG, conn).await;
    assert!(ended.is_ok(), "the idle h2 connection is closed by the server");
}

/// Item 6: fault rules belong to a tenant; a tenant's admin call cannot make another's fail.
#[tokio::test]
async fn one_tenants_faults_do_not_touch_another() {
    let server = TestServer::with(Options {
        credentials: vec!["AKIDA:secret-a:111111111111", "AKIDB:secret-b:222222222222"],
        ..Options::default()
    })
    .await;
    let a = client_with(&server.url(), "us-east-1", "AKIDA", "secret-a");
    let b = client_with(&server.url(), "us-east-1", "AKIDB", "secret-b");
    let rule = r#"[{"operation":"*","error-rate":1.0,"error":"ServiceUnavailable"}]"#;
    // Unsigned, with credentials configured: refused.
    let (status, _) = admin(&server.url(), "PUT", "/_rheo/faults", rule).await;
    assert_eq!(status, 400);
    let (status, body) = signed_admin(&server, ("AKIDB", "secret-b"), "PUT", "/_rheo/faults", rule).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(b.list_streams().send().await), "ServiceUnavailable");
    a.list_streams().send().await.unwrap();
    let (status, body) = signed_admin(&server, ("AKIDA", "secret-a"), "GET", "/_rheo/faults", "").await;
    assert_eq!((status, body), (200, serde_json::json!([])));
}

/// Item 6: with an admin credential, `/_rheo/` needs its signature; tenants' credentials and
/// unsigned calls are refused; the admin names the tenant it acts on.
#[tokio::test]
async fn an_admin_credential_is_required_when_configured() {
    let server = TestServer::with(Options {
        credentials: vec!["AKIDA:secret-a:111111111111"],
        configure: |o| o.admin_credential = Some(rheo_server::auth::Credential::parse_spec("AKIDADMIN:root").unwrap()),
        ..Options::default()
    })
    .await;
    let rule = r#"[{"operation":"ListStreams","error-rate":1.0}]"#;
    let (status, _) = admin(&server.url(), "PUT", "/_rheo/faults", rule).await;
    assert_eq!(status, 400);
    let (status, body) = signed_admin(&server, ("AKIDA", "secret-a"), "PUT", "/_rheo/faults", rule).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnrecognizedClientException"))
    );
    let path = "/_rheo/faults?account=111111111111&region=us-east-1";
    let (status, body) = signed_admin(&server, ("AKIDADMIN", "root"), "PUT", path, rule).await;
    assert_eq!(status, 200, "{body}");
    let a = client_with(&server.url(), "us-east-1", "AKIDA", "secret-a");
    assert_eq!(code(a.list_streams().send().await), "LimitExceededException");
    // The server's own tenant is untouched.
    let (status, body) = signed_admin(&server, ("AKIDADMIN", "root"), "GET", "/_rheo/faults", "").await;
    assert_eq!((status, body), (200, serde_json::json!([])));
}

/// Item 8: invented regions are refused, open tenants are capped, a tenant that only reads
/// leaves no directory, and idle tenants are closed to make room.
#[tokio::test]
async fn tenants_are_bounded() {
    let server = TestServer::with(Options {
        configure: |o| {
            o.max_tenants = 5;
            o.tenant_idle_timeout = std::time::Duration::from_secs(60);
        },
        ..Options::default()
    })
    .await;
    let invented = client_with(&server.url(), "xx-nowhere-9", "AKIDTEST", "secret");
    assert_eq!(code(invented.list_streams().send().await), "InvalidSignatureException");
    // Raw requests: the SDK would retry LimitExceededException.
    let mut codes = Vec::new();
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    for i in 0..200u64 {
        let key = format!("{:012}", 100_000_000_000 + i);
        let req = http::Request::post(format!("{}/", server.url()))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "Kinesis_20131202.ListStreams")
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"))
            .body(Full::new(bytes::Bytes::from_static(b"{}")))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
        codes.push(if status == 200 {
            "ok".to_owned()
        } else {
            body["__type"].as_str().unwrap_or_default().to_owned()
        });
    }
    assert!(codes[..5].iter().all(|c| c == "ok"), "{codes:?}");
    assert!(codes[5..].iter().all(|c| c == "LimitExceededException"), "{codes:?}");
    let tenants = server.dir.path().join("data").join("tenants");
    assert!(!tenants.exists(), "reading made no directories");
    // A tenant that writes gets its directory.
    let writer = client_with(&server.url(), "us-east-1", "100000000000", "secret");
    create_active(&writer, "mine", 1).await;
    assert!(tenants.join("100000000000").join("us-east-1").exists());
    // Once the others are idle, they are closed and a new tenant is served.
    server.clock.advance_ms(61_000);
    let late = client_with(&server.url(), "us-east-1", "999999999999", "secret");
    late.list_streams().send().await.unwrap();
    // The closed tenant with data reopens with it.
    let names = writer.list_streams().send().await.unwrap();
    assert_eq!(names.stream_names(), ["mine"]);
}

/// A raw PutRecord (no SDK retries); returns the status and the error type, if any.
async fn raw_put(server: &TestServer, stream: &str, data: &str) -> (u16, String) {
    let body = format!(
        r#"{{"StreamName":"{stream}","PartitionKey":"k","Data":"{}"}}"#,
        base64::engine::general_purpose::STANDARD.encode(data)
    );
    let (status, json) = server.raw("PutRecord", &body).await;
    (status, json["__type"].as_str().unwrap_or_default().to_owned())
}

async fn health(server: &TestServer) -> (u16, serde_json::Value) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let req = http::Request::get(format!("{}/health", server.url()))
        .body(Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

/// Item 9: a full disk fails writes, shows in /health, and heals without a restart once space
/// is freed; a failed sync's record never appears; below the free-space watermark writes are
/// refused with a throttling error before the disk is full.
#[tokio::test]
async fn a_full_disk_heals_without_restart_and_the_watermark_refuses_writes_first() {
    use rheo_log::disk::{Op, SimDisk};
    let disk = SimDisk::default();
    let server = TestServer::with(Options {
        disk: Some(disk.clone()),
        engine: |c| c.min_free_bytes = 1024 * 1024,
        ..Options::default()
    })
    .await;
    let c = server.client();
    create_active(&c, "full", 1).await;
    assert_eq!(raw_put(&server, "full", "one").await.0, 200);
    assert_eq!(health(&server).await.0, 200);
    // ENOSPC on every write: puts fail, the shard shows as failing.
    disk.fail(Op::Write, 1000, 28);
    let (status, kind) = raw_put(&server, "full", "lost").await;
    assert_eq!((status, kind.as_str()), (500, "InternalFailure"));
    let (status, body) = health(&server).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(
        body["failing_shards"][0],
        "000000000000/us-east-1/full/shardId-000000000000"
    );
    // Space is freed: the next put succeeds, with no restart.
    disk.clear_faults();
    assert_eq!(raw_put(&server, "full", "two").await.0, 200);
    assert_eq!(health(&server).await.0, 200);
    // A failed sync: reported failed, and its record is cut off.
    disk.fail(Op::Sync, 1, 5);
    assert_eq!(raw_put(&server, "full", "unsynced").await.0, 500);
    assert_eq!(raw_put(&server, "full", "three").await.0, 200);
    let got: Vec<String> = first_records(&c, "full", "shardId-000000000000")
        .await
        .iter()
        .map(|r| String::from_utf8_lossy(r.data().as_ref()).into_owned())
        .collect();
    assert_eq!(got, ["one", "two", "three"]);
    // Below the watermark: refused as throttling, with the reason, before the disk is full.
    disk.set_capacity(Some(disk.used() + 512 * 1024));
    server.clock.advance_ms(200);
    let body = format!(
        r#"{{"StreamName":"full","PartitionKey":"k","Data":"{}"}}"#,
        base64::engine::general_purpose::STANDARD.encode("x")
    );
    let (status, json) = server.raw("PutRecord", &body).await;
    assert_eq!(status, 400);
    assert_eq!(json["__type"], "ProvisionedThroughputExceededException");
    assert!(json["message"].as_str().unwrap().contains("min-free-bytes"), "{json}");
    let (status, body) = health(&server).await;
    assert_eq!(
        (status, &body["disk"]["writes_refused"]),
        (503, &serde_json::json!(true))
    );
    // Reads go on meanwhile.
    assert_eq!(first_records(&c, "full", "shardId-000000000000").await.len(), 3);
    disk.set_capacity(None);
    server.clock.advance_ms(200);
    assert_eq!(raw_put(&server, "full", "four").await.0, 200);
    assert_eq!(health(&server).await.0, 200);
}

/// Item 10: a flipped bit in a sealed segment stops the start with an error naming the file
/// (nothing is truncated or deleted); the operator's quarantine setting opens without it.
#[tokio::test]
async fn corruption_in_a_sealed_segment_stops_the_start_naming_the_file() {
    let server = TestServer::with(Options {
        segment_bytes: 4096,
        ..Options::default()
    })
    .await;
    let c = server.client();
    create_active(&c, "sealed", 1).await;
    for i in 0..40 {
        put(&c, "sealed", "k", format!("record {i} {}", "x".repeat(400))).await;
    }
    let data = server.dir.path().join("data");
    let mut segments: Vec<std::path::PathBuf> = walk(&data)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    assert!(segments.len() > 2, "{segments:?}");
    let config = |on_corruption| {
        let mut c = rheo_engine::EngineConfig::new(data.clone());
        c.log.segment_bytes = 4096;
        c.log.on_corruption = on_corruption;
        c
    };
    let first = segments[0].clone();
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&first, &bytes).unwrap();
    let clock = Arc::new(rheo_engine::ManualClock::default()) as Arc<dyn rheo_engine::Clock>;
    let e = rheo_engine::Engine::open(config(rheo_log::OnCorruption::Refuse), clock.clone())
        .err()
        .unwrap();
    assert!(e.to_string().contains(&first.display().to_string()), "{e}");
    assert_eq!(std::fs::read(&first).unwrap(), bytes, "the file is left as it was");
    let engine = rheo_engine::Engine::open(config(rheo_log::OnCorruption::Quarantine), clock).unwrap();
    drop(engine);
    assert!(!first.exists());
    let mut aside = first.into_os_string();
    aside.push(".corrupt");
    assert!(std::path::Path::new(&aside).exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Item 12: the engine pages by at least one even when asked for zero (it used to underflow),
/// and stream directories the catalog does not name are swept at start.
#[tokio::test]
async fn zero_page_sizes_and_orphan_directories() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "paged", 1).await;
    register(&c, &server.arn("paged"), "a").await;
    register(&c, &server.arn("paged"), "b").await;
    let name = rheo_types::StreamName::parse("paged").unwrap();
    let page = server.engine.list_consumers(Some(&name), None, None, Some(0)).unwrap();
    assert_eq!(page.consumers.len(), 1);
    assert!(page.next_token.is_some());
    let (streams, more) = server.engine.list_streams(Some(0), None, None).await.unwrap();
    assert_eq!((streams.len(), more), (1, false));
    // A directory left by a create whose catalog save failed.
    let data = server.dir.path().join("data");
    let orphan = data.join("streams").join("00000000000000ff").join("shard-000000000000");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("00000000000000000001.log"), b"never acknowledged").unwrap();
    let clock = Arc::new(rheo_engine::ManualClock::default()) as Arc<dyn rheo_engine::Clock>;
    let engine = rheo_engine::Engine::open(rheo_engine::EngineConfig::new(data.clone()), clock).unwrap();
    assert!(!data.join("streams").join("00000000000000ff").exists());
    let (streams, _) = engine.list_streams(None, None, None).await.unwrap();
    assert_eq!(streams.len(), 1, "the named stream's data stays");
}

/// Item 11: readers that never read their GetRecords responses hold a few pieces each (not a
/// whole response), writers go on beside them on their own threads, and the pieces are given
/// back once the stall timeout closes the readers.
#[tokio::test]
async fn slow_readers_hold_little_and_do_not_queue_writers() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::with(Options {
        configure: |o| o.read_timeout = std::time::Duration::from_secs(2),
        ..Options::default()
    })
    .await;
    let c = server.client();
    create_active(&c, "wide", 1).await;
    let blob = base64::engine::general_purpose::STANDARD.encode(vec![b'r'; 100 * 1024]);
    for _ in 0..10 {
        let records: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"Data":"{blob}","PartitionKey":"k{i}"}}"#))
            .collect();
        let body = format!(r#"{{"StreamName":"wide","Records":[{}]}}"#, records.join(","));
        assert_eq!(server.raw("PutRecords", &body).await.0, 200);
    }
    let it = iterator(&c, "wide", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let mut readers = Vec::new();
    for _ in 0..16 {
        let body = format!(r#"{{"ShardIterator":"{it}"}}"#);
        let head = upload_head(&server, body.len(), "AKIDTEST").replace("PutRecords", "GetRecords");
        let mut s = connect(&server).await;
        s.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
        readers.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let held = rheo_server::read_bytes_in_flight();
    eprintln!("held by 16 slow readers: {held} bytes");
    // ~10 MiB each if whole responses were held; at most a few 1.5 MiB pieces each now.
    // (Whole responses would be ~13 MiB each: 10 MiB of data in base64.)
    assert!(held <= 16 * 8 * 1024 * 1024, "{held} bytes held by 16 slow readers");
    let writes = tokio::time::timeout(NO_HANG, async {
        for i in 0..20 {
            put(&c, "wide", &format!("w{i}"), "beside slow readers").await;
        }
    })
    .await;
    assert!(writes.is_ok(), "writes go on beside slow readers");
    // Past the stall timeout the server closes them, unread, and their pieces come back.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let after = rheo_server::read_bytes_in_flight();
    assert!(after <= held / 2, "{after} bytes still held (was {held})");
    for s in &mut readers {
        read_to_close(s, NO_HANG).await;
    }
}

/// Item 12: a catalog fsync that does not return holds up the control plane only. While one
/// is stuck, puts, gets, describes and lists on another stream are served (on a runtime with
/// as few workers as a small machine), the changes waiting on it are not visible yet, and
/// they complete, in full, once the disk answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_catalog_fsync_holds_up_only_the_control_plane() {
    use rheo_log::disk::SimDisk;
    let disk = SimDisk::default();
    let server = TestServer::with(Options {
        disk: Some(disk.clone()),
        ..Options::default()
    })
    .await;
    let c = server.client();
    create_active(&c, "busy", 1).await;
    put(&c, "busy", "k", "before").await;
    disk.hold_syncs("catalog");
    let create = tokio::spawn({
        let c = c.clone();
        async move { c.create_stream().stream_name("new").shard_count(1).send().await }
    });
    let tag = tokio::spawn({
        let c = c.clone();
        async move { c.add_tags_to_stream().stream_name("busy").tags("t", "v").send().await }
    });
    let stuck = tokio::time::timeout(NO_HANG, async {
        while disk.held_syncs() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(stuck.is_ok(), "CreateStream reached its catalog fsync");
    let served = tokio::time::timeout(NO_HANG, async {
        for i in 0..20 {
            put(&c, "busy", &format!("k{i}"), "beside a stuck fsync").await;
        }
        let got = first_records(&c, "busy", "shardId-000000000000").await;
        assert_eq!(got.len(), 21);
        let d = c.describe_stream_summary().stream_name("busy").send().await.unwrap();
        assert_eq!(d.stream_description_summary().unwrap().open_shard_count(), 1);
        let shards = c.list_shards().stream_name("busy").send().await.unwrap();
        assert_eq!(shards.shards().len(), 1);
        let names = c.list_streams().send().await.unwrap().stream_names().to_vec();
        assert_eq!(names, ["busy"], "a change is not visible before it is durable");
        let tags = c.list_tags_for_stream().stream_name("busy").send().await.unwrap();
        assert!(tags.tags().is_empty());
        c.describe_limits().send().await.unwrap();
    })
    .await;
    assert!(
        served.is_ok(),
        "the data plane and reads are served beside a stuck fsync"
    );
    assert!(!create.is_finished() && !tag.is_finished());
    disk.release_syncs();
    create.await.unwrap().unwrap();
    tag.await.unwrap().unwrap();
    wait_active(&c, "new").await;
    let names = c.list_streams().send().await.unwrap().stream_names().to_vec();
    assert_eq!(names, ["busy", "new"]);
    let tags = c.list_tags_for_stream().stream_name("busy").send().await.unwrap();
    assert_eq!(tags.tags().len(), 1);
    put(&c, "new", "k", "after").await;
}
