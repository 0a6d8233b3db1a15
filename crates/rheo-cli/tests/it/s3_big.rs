//! A 2 GiB object streamed into and out of a server process: it reads back byte for byte (by
//! MD5 and ETag), and the server's peak resident memory stays bounded (neither side ever holds
//! the object).

use crate::common::ChildServer;
use crate::s3::s3_client;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use md5::Digest as _;
use std::pin::Pin;
use std::task::{Context, Poll};

const SIZE: u64 = 2 << 30;
const CHUNK: usize = 1 << 20;

/// `left` bytes of a repeating pattern, 1 MiB per frame.
struct Pattern {
    chunk: Bytes,
    left: u64,
}

impl http_body::Body for Pattern {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let n = this.left.min(this.chunk.len() as u64);
        this.left -= n;
        Poll::Ready(Some(Ok(Frame::data(this.chunk.slice(..n as usize)))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_gib_object_streams_in_and_out_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(
        &["--listen", "127.0.0.1:0", "--data-dir", dir.path().to_str().unwrap()],
        &[],
    );
    let c = s3_client(&server.url);
    c.create_bucket().bucket("big").send().await.unwrap();
    let chunk = Bytes::from((0..CHUNK).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>());
    let mut expect = md5::Md5::new();
    for _ in 0..SIZE / CHUNK as u64 {
        expect.update(&chunk);
    }
    let expect = format!("{:x}", expect.finalize());
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let signed = |b: http::request::Builder| {
        b.header("x-amz-date", "20260101T000000Z")
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            )
    };
    let put = signed(http::Request::put(format!("{}/big/two-gib.bin", server.url)))
        .header("content-length", SIZE)
        .body(Pattern {
            chunk: chunk.clone(),
            left: SIZE,
        })
        .unwrap();
    let resp = http.request(put).await.unwrap();
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().trim_matches('"').to_owned();
    assert_eq!(etag, expect, "the ETag is the MD5 of what was sent");
    let get = signed(http::Request::get(format!("{}/big/two-gib.bin", server.url)))
        .body(Pattern {
            chunk: Bytes::new(),
            left: 0,
        })
        .unwrap();
    let resp = http.request(get).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let (mut got, mut md5) = (0u64, md5::Md5::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            got += data.len() as u64;
            md5.update(&data);
        }
    }
    assert_eq!(got, SIZE);
    assert_eq!(format!("{:x}", md5.finalize()), expect, "read back byte for byte");
    let peak = peak_rss_mib(server.child.id());
    eprintln!("server peak RSS over a 2 GiB object in and out: {peak:.0} MiB");
    assert!(peak < 256.0, "the server held {peak:.0} MiB at its peak");
}
