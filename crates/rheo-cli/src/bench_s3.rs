//! `rheo bench-s3`: a load generator for any S3 endpoint (Rheo, moto's server, ...), path
//! style. For each target, in one run: PutObject and GetObject throughput for 1 MiB objects
//! (many in flight) and 64 MiB objects (two in flight), and 4 KiB PutObject calls per second.
//! With `--big-mib`, the first target also takes one object of that size streamed in and read
//! back (neither side holds it whole). Requests carry a fixed, well-formed SigV4 header over
//! `UNSIGNED-PAYLOAD` (servers without credentials accept it). Before each write phase the
//! disk is let finish the previous one's writeback (`sync`, then 2 s). Results print as a
//! Markdown table with ratios to the first target.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchS3Args {
    /// A target as NAME=URL (repeatable); ratios are against the first.
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    /// Seconds each throughput measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Calls in flight for the 1 MiB and 4 KiB measurements.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Also stream one object of this many MiB in and out of the first target (0: none).
    #[arg(long, default_value_t = 0)]
    pub big_mib: u64,
}

/// A body of `left` bytes, sent as repeats of one chunk.
struct Repeat {
    chunk: Bytes,
    left: u64,
}

impl http_body::Body for Repeat {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let n = this.left.min(this.chunk.len() as u64);
        this.left -= n;
        Poll::Ready(Some(Ok(Frame::data(this.chunk.slice(..n as usize)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

type Http = Client<HttpConnector, Repeat>;

#[derive(Clone)]
struct Target {
    url: String,
    http: Http,
}

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

impl Target {
    fn request(&self, method: &str, path: &str) -> http::request::Builder {
        http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("x-amz-date", "20260101T000000Z")
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header("authorization", AUTH)
    }

    async fn send(&self, req: http::Request<Repeat>) -> anyhow::Result<u64> {
        let what = format!("{} {}", req.method(), req.uri().path());
        let resp = self.http.request(req).await?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut n = 0u64;
        let mut first = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                n += data.len() as u64;
                if !status.is_success() && first.len() < 2000 {
                    first.extend_from_slice(&data);
                }
            }
        }
        if !status.is_success() {
            bail!("{what}: {status} {}", String::from_utf8_lossy(&first));
        }
        Ok(n)
    }

    async fn put(&self, bucket: &str, key: &str, chunk: &Bytes, size: u64) -> anyhow::Result<()> {
        let req = self
            .request("PUT", &format!("/{bucket}/{key}"))
            .header("content-length", size)
            .body(Repeat {
                chunk: chunk.clone(),
                left: size,
            })?;
        self.send(req).await.map(|_| ())
    }

    async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<u64> {
        let req = self.request("GET", &format!("/{bucket}/{key}")).body(Repeat {
            chunk: Bytes::new(),
            left: 0,
        })?;
        self.send(req).await
    }
}

#[derive(Clone, Copy, Default)]
struct Results {
    put_1m_mib_s: f64,
    get_1m_mib_s: f64,
    put_64m_mib_s: f64,
    get_64m_mib_s: f64,
    put_4k_s: f64,
}

pub async fn run(args: BenchS3Args) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for (i, spec) in args.targets.iter().enumerate() {
        let (name, url) = spec.split_once('=').context("a target is NAME=URL")?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build(connector);
        let t = Target {
            url: url.to_owned(),
            http,
        };
        eprintln!("== {name} ({url})");
        let r = measure(&t, &args)
            .await
            .with_context(|| format!("benchmarking {name}"))?;
        if i == 0 && args.big_mib > 0 {
            big_object(&t, args.big_mib).await?;
        }
        all.push((name.to_owned(), r));
    }
    print_table(&all);
    Ok(())
}

fn pattern(size: usize) -> Bytes {
    Bytes::from((0..size).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>())
}

async fn measure(t: &Target, args: &BenchS3Args) -> anyhow::Result<Results> {
    let bucket = format!("bench-{}", std::process::id());
    let req = t.request("PUT", &format!("/{bucket}")).body(Repeat {
        chunk: Bytes::new(),
        left: 0,
    })?;
    t.send(req).await?;
    let mut r = Results::default();
    // Each phase starts once the disk has written back the one before (`sync`, 2 s).
    crate::bench::settle().await;
    let (n, secs) = timed_puts(t, &bucket, "m1", 1 << 20, args.concurrency, args.seconds).await?;
    r.put_1m_mib_s = n as f64 / secs;
    eprintln!("  PutObject 1 MiB: {:.1} MiB/s ({n} objects)", r.put_1m_mib_s);
    r.get_1m_mib_s = timed_gets(t, &bucket, "m1", n, args.concurrency, args.seconds).await? / (1 << 20) as f64;
    eprintln!("  GetObject 1 MiB: {:.1} MiB/s", r.get_1m_mib_s);
    crate::bench::settle().await;
    let (n, secs) = timed_puts(t, &bucket, "m64", 64 << 20, 2, args.seconds).await?;
    r.put_64m_mib_s = n as f64 * 64.0 / secs;
    eprintln!("  PutObject 64 MiB: {:.1} MiB/s ({n} objects)", r.put_64m_mib_s);
    r.get_64m_mib_s = timed_gets(t, &bucket, "m64", n, 2, args.seconds).await? / (1 << 20) as f64;
    eprintln!("  GetObject 64 MiB: {:.1} MiB/s", r.get_64m_mib_s);
    crate::bench::settle().await;
    let (n, secs) = timed_puts(t, &bucket, "k4", 4096, args.concurrency * 4, args.seconds).await?;
    r.put_4k_s = n as f64 / secs;
    eprintln!("  PutObject 4 KiB: {:.0} objects/s", r.put_4k_s);
    Ok(r)
}

/// Objects of `size` put with `concurrency` in flight for `seconds` (at least one each);
/// (objects, seconds taken).
async fn timed_puts(
    t: &Target,
    bucket: &str,
    prefix: &str,
    size: u64,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<(u64, f64)> {
    let chunk = pattern(size.min(1 << 20) as usize);
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (t, bucket, prefix, chunk, next, stop) = (
            t.clone(),
            bucket.to_owned(),
            prefix.to_owned(),
            chunk.clone(),
            next.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                t.put(&bucket, &format!("{prefix}/{n:08}"), &chunk, size).await?;
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok((next.load(Ordering::Relaxed), start.elapsed().as_secs_f64()))
}

/// Bytes per second reading objects `0..count` of `prefix` round and round for `seconds`.
async fn timed_gets(
    t: &Target,
    bucket: &str,
    prefix: &str,
    count: u64,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (t, bucket, prefix, next, bytes, stop) = (
            t.clone(),
            bucket.to_owned(),
            prefix.to_owned(),
            next.clone(),
            bytes.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed) % count.max(1);
                let got = t.get(&bucket, &format!("{prefix}/{n:08}")).await?;
                bytes.fetch_add(got, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok(bytes.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// One object of `mib` MiB streamed in and read back.
async fn big_object(t: &Target, mib: u64) -> anyhow::Result<()> {
    let size = mib << 20;
    let req = t.request("PUT", "/bench-big").body(Repeat {
        chunk: Bytes::new(),
        left: 0,
    })?;
    let _ = t.send(req).await;
    crate::bench::settle().await;
    let start = Instant::now();
    t.put("bench-big", "big.bin", &pattern(1 << 20), size).await?;
    let put_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let got = t.get("bench-big", "big.bin").await?;
    let get_s = start.elapsed().as_secs_f64();
    anyhow::ensure!(got == size, "read back {got} of {size} bytes");
    eprintln!(
        "  one {mib} MiB object: PutObject {:.1} MiB/s, GetObject {:.1} MiB/s",
        mib as f64 / put_s,
        mib as f64 / get_s
    );
    let req = t.request("DELETE", "/bench-big/big.bin").body(Repeat {
        chunk: Bytes::new(),
        left: 0,
    })?;
    t.send(req).await?;
    Ok(())
}

type Row = crate::bench::TableRow<Results>;

fn print_table(all: &[(String, Results)]) {
    let Some((base_name, base)) = all.first() else { return };
    let rows: [Row; 5] = [
        ("PutObject 1 MiB, MiB/s", |r| r.put_1m_mib_s, true),
        ("GetObject 1 MiB, MiB/s", |r| r.get_1m_mib_s, true),
        ("PutObject 64 MiB, MiB/s", |r| r.put_64m_mib_s, true),
        ("GetObject 64 MiB, MiB/s", |r| r.get_64m_mib_s, true),
        ("PutObject 4 KiB, objects/s", |r| r.put_4k_s, true),
    ];
    crate::bench::markdown_table(base_name, base, all, &rows);
}
