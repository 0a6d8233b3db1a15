//! `rheo bench-sqs`: a load generator for any SQS endpoint that speaks AWS JSON 1.0 (Rheo,
//! moto's server, ...). For each target, in one run: SendMessageBatch throughput (10 × 100 B
//! messages per call, many calls in flight), receive-and-delete throughput (ReceiveMessage of
//! 10 and DeleteMessageBatch, many consumers) and send-to-receive latency with one
//! long-polling receiver. Requests carry a fixed, well-formed SigV4 header (servers without
//! credentials accept it). Results print as a Markdown table with ratios to the first target.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchSqsArgs {
    /// A target as NAME=URL (repeatable); ratios are against the first.
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    /// Seconds each throughput measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Calls in flight for throughput measurements.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Messages in the latency measurement.
    #[arg(long, default_value_t = 1000)]
    pub latency_messages: usize,
}

type Http = Client<HttpConnector, Full<Bytes>>;

#[derive(Clone)]
struct Target {
    url: String,
    http: Http,
}

impl Target {
    async fn call(&self, op: &str, body: Value) -> anyhow::Result<Value> {
        let req = http::Request::post(format!("{}/", self.url))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{op}"))
            .header("x-amz-date", "20260101T000000Z")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            )
            .body(Full::new(Bytes::from(body.to_string())))?;
        let resp = self.http.request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("{op}: {status} {}", String::from_utf8_lossy(&bytes));
        }
        if bytes.is_empty() {
            return Ok(json!({}));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn queue(&self, name: &str) -> anyhow::Result<String> {
        let out = self.call("CreateQueue", json!({ "QueueName": name })).await?;
        out["QueueUrl"]
            .as_str()
            .map(str::to_owned)
            .context("CreateQueue returns a QueueUrl")
    }
}

#[derive(Clone, Copy)]
struct Results {
    send_msgs_s: f64,
    receive_delete_msgs_s: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
}

pub async fn run(args: BenchSqsArgs) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for spec in &args.targets {
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
        all.push((name.to_owned(), r));
    }
    print_table(&all);
    Ok(())
}

async fn measure(t: &Target, args: &BenchSqsArgs) -> anyhow::Result<Results> {
    let nonce = std::process::id();
    let url = t.queue(&format!("bench-{nonce}")).await?;
    let (sent, send_msgs_s) = send_throughput(t, &url, args).await?;
    eprintln!("  SendMessageBatch 10 × 100 B: {send_msgs_s:.0} messages/s ({sent} sent)");
    let receive_delete_msgs_s = receive_delete_throughput(t, &url, sent, args).await?;
    eprintln!("  ReceiveMessage + DeleteMessageBatch: {receive_delete_msgs_s:.0} messages/s");
    let lat_url = t.queue(&format!("bench-latency-{nonce}")).await?;
    let (latency_p50_ms, latency_p99_ms) = latency(t, &lat_url, args.latency_messages).await?;
    eprintln!("  send-to-receive (long poll): p50 {latency_p50_ms:.2} ms, p99 {latency_p99_ms:.2} ms");
    Ok(Results {
        send_msgs_s,
        receive_delete_msgs_s,
        latency_p50_ms,
        latency_p99_ms,
    })
}

/// Messages sent and messages per second, for `args.seconds`.
async fn send_throughput(t: &Target, url: &str, args: &BenchSqsArgs) -> anyhow::Result<(u64, f64)> {
    let body = "x".repeat(100);
    let entries: Vec<Value> = (0..10)
        .map(|i| json!({"Id": format!("m{i}"), "MessageBody": body}))
        .collect();
    let request = json!({"QueueUrl": url, "Entries": entries});
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (t, request, sent) = (t.clone(), request.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let out = t.call("SendMessageBatch", request.clone()).await?;
                let ok = out["Successful"].as_array().map_or(0, Vec::len);
                sent.fetch_add(ok as u64, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let n = sent.load(Ordering::Relaxed);
    Ok((n, n as f64 / start.elapsed().as_secs_f64()))
}

/// Messages received and deleted per second, by `args.concurrency` consumers, until `total`
/// are gone or `args.seconds` pass.
async fn receive_delete_throughput(t: &Target, url: &str, total: u64, args: &BenchSqsArgs) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (t, url, done) = (t.clone(), url.to_owned(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline && done.load(Ordering::Relaxed) < total {
                let got = t
                    .call(
                        "ReceiveMessage",
                        json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 60}),
                    )
                    .await?;
                let messages = got["Messages"].as_array().cloned().unwrap_or_default();
                if messages.is_empty() {
                    continue;
                }
                let entries: Vec<Value> = messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| json!({"Id": format!("d{i}"), "ReceiptHandle": m["ReceiptHandle"]}))
                    .collect();
                t.call("DeleteMessageBatch", json!({"QueueUrl": url, "Entries": entries}))
                    .await?;
                done.fetch_add(messages.len() as u64, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// One message at a time to a queue a long-polling receiver waits on: the time from the
/// send's start to the receive's answer, p50 and p99 in ms.
async fn latency(t: &Target, url: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (t, url, stop) = (t.clone(), url.to_owned(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let got = t
                    .call(
                        "ReceiveMessage",
                        json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
                    )
                    .await?;
                let at = Instant::now();
                for m in got["Messages"].as_array().cloned().unwrap_or_default() {
                    let _ = tx.send(at);
                    t.call(
                        "DeleteMessage",
                        json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
                    )
                    .await?;
                }
            }
            anyhow::Ok(())
        })
    };
    // Let the receiver's first long poll start.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n + 20 {
        let start = Instant::now();
        t.call("SendMessage", json!({"QueueUrl": url, "MessageBody": format!("m{i}")}))
            .await?;
        let at = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .context("the receiver got the message within 10 s")?
            .context("the receiver stopped")?;
        if i >= 20 {
            lat.push(at.duration_since(start).as_secs_f64() * 1000.0);
        }
    }
    stop.store(true, Ordering::Relaxed);
    receiver.await??;
    Ok(crate::bench::percentiles(lat))
}

type Row = crate::bench::TableRow<Results>;

fn print_table(all: &[(String, Results)]) {
    let Some((base_name, base)) = all.first() else { return };
    let rows: [Row; 4] = [
        ("SendMessageBatch 10 × 100 B, messages/s", |r| r.send_msgs_s, true),
        (
            "ReceiveMessage + DeleteMessageBatch, messages/s",
            |r| r.receive_delete_msgs_s,
            true,
        ),
        (
            "send-to-receive latency (long poll) p50, ms",
            |r| r.latency_p50_ms,
            false,
        ),
        (
            "send-to-receive latency (long poll) p99, ms",
            |r| r.latency_p99_ms,
            false,
        ),
    ];
    crate::bench::markdown_table(base_name, base, all, &rows);
}
