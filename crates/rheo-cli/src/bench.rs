//! `rheo bench`: a load generator for any Kinesis endpoint (Rheo, kinesalite, ...).
//!
//! It speaks AWS JSON 1.1 over HTTP/1.1 with a fixed, unverified SigV4-shaped Authorization
//! header (emulators accept it) and measures, for each target, in one run:
//! PutRecords throughput (500 × 1 KiB and 500 × 100 B, many requests in flight), PutRecord
//! latency with one request in flight, the GetRecords drain rate of a shard, put-to-get latency
//! with a polling reader, PutRecords throughput and latency while a shard is split, and optionally the server's peak resident memory while 100 requests of
//! 5 × 1 MiB records arrive at once. Results print as a Markdown table with ratios to the first
//! target.

use anyhow::{Context, bail};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// A target as NAME=URL (repeatable); ratios are against the first. Add `@PID` to the URL
    /// (e.g. rheo=http://127.0.0.1:4567@1234) to also measure that process's peak memory.
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    /// Seconds each throughput measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Requests in flight for throughput measurements.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Records in the GetRecords drain measurement.
    #[arg(long, default_value_t = 100_000)]
    pub drain_records: usize,
    /// Sequential PutRecord calls for the latency measurement.
    #[arg(long, default_value_t = 2000)]
    pub latency_requests: usize,
    /// Measure only these (comma-separated): put, latency, drain, e2e, fanout, split, memory;
    /// and `siege` (not in the default set): a producer's PutRecords latency alone and then
    /// beside 1,000 idle connections, 100 slow readers and 50 header-only uploads.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "put,latency,drain,e2e,fanout,split,memory"
    )]
    pub only: Vec<String>,
    /// Sign every request with this `ACCESS_KEY_ID:SECRET` (real SigV4, body hash included),
    /// for servers that verify signatures. Without it, requests carry a fixed, well-formed but
    /// unverifiable signature, which keeps the load generator light.
    #[arg(long)]
    pub credential: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_records_and_finds_the_iterator_without_parsing() {
        let body = br#"{"Records":[{"SequenceNumber":"491","Data":"AA==","PartitionKey":"\"SequenceNumber\":"},{"SequenceNumber":"492","Data":"","PartitionKey":"k"}],"NextShardIterator":"AQE+/=","MillisBehindLatest":0}"#;
        let parsed: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(count_records(body), parsed["Records"].as_array().unwrap().len());
        assert_eq!(next_iterator(body).as_deref(), parsed["NextShardIterator"].as_str());
        assert_eq!(next_iterator(br#"{"Records":[]}"#), None);
    }
}

type Http = Client<HttpConnector, Full<Bytes>>;

struct Target {
    name: String,
    url: String,
    pid: Option<u32>,
    http: Http,
    signer: Option<Arc<Signer>>,
}

/// Real SigV4 signatures for the benchmark's requests. Bodies are built once and sent many
/// times, so their hashes are kept.
struct Signer {
    access_key: String,
    secret: String,
    hashes: std::sync::Mutex<std::collections::HashMap<(usize, usize), String>>,
}

impl Signer {
    fn authorize(&self, req: &mut http::Request<Full<Bytes>>, body: &Bytes) {
        let key = (body.as_ptr() as usize, body.len());
        let hash = {
            let mut hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
            if hashes.len() > 10_000 {
                hashes.clear();
            }
            hashes
                .entry(key)
                .or_insert_with(|| rheo_wire::sigv4::sha256_hex(body))
                .clone()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let amz_date = rheo_wire::sigv4::format_amz_date(now);
        let host = req.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("host", host.as_str()),
            ("x-amz-date", amz_date.as_str()),
            ("x-amz-target", target.as_str()),
        ];
        let parts = rheo_wire::sigv4::RequestParts {
            method: "POST",
            path: "/",
            query: None,
            headers: &headers,
        };
        let scope = rheo_wire::sigv4::Scope {
            access_key: self.access_key.clone(),
            date: amz_date[..8].to_owned(),
            region: "us-east-1".into(),
            service: "kinesis".into(),
        };
        let names = ["content-type", "host", "x-amz-date", "x-amz-target"];
        let auth = rheo_wire::sigv4::authorization(&parts, &scope, &self.secret, &amz_date, &names, &hash);
        let h = req.headers_mut();
        if let (Ok(date), Ok(auth)) = (amz_date.parse(), auth.parse()) {
            h.insert("x-amz-date", date);
            h.insert("authorization", auth);
        }
    }
}

#[derive(Clone)]
struct Results {
    put_1k_records_s: f64,
    put_1k_mib_s: f64,
    put_100b_records_s: f64,
    put_100b_mib_s: f64,
    put_p50_ms: f64,
    put_p99_ms: f64,
    drain_records_s: f64,
    e2e_p50_ms: f64,
    e2e_p99_ms: f64,
    push_p50_ms: f64,
    push_p99_ms: f64,
    split_records_s: f64,
    split_p99_ms: f64,
    split_max_ms: f64,
    split_other_p99_ms: f64,
    peak_rss_mib: Option<f64>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let signer = match &args.credential {
        Some(c) => {
            let (access_key, secret) = c.split_once(':').context("--credential is ACCESS_KEY_ID:SECRET")?;
            Some(Arc::new(Signer {
                access_key: access_key.to_owned(),
                secret: secret.to_owned(),
                hashes: Default::default(),
            }))
        }
        None => None,
    };
    for spec in &args.targets {
        let mut target = parse_target(spec)?;
        target.signer = signer.clone();
        eprintln!("== {} ({})", target.name, target.url);
        let r = measure(&target, &args)
            .await
            .with_context(|| format!("benchmarking {}", target.name))?;
        all.push((target.name.clone(), r));
    }
    if args.only.iter().any(|o| o != "siege") {
        print_table(&all);
    }
    Ok(())
}

fn parse_target(spec: &str) -> anyhow::Result<Target> {
    let (name, rest) = spec.split_once('=').context("a target is NAME=URL")?;
    let (url, pid) = match rest.rsplit_once('@') {
        Some((u, p)) => (u.to_owned(), Some(p.parse().context("the PID after @ is a number")?)),
        None => (rest.to_owned(), None),
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(connector);
    Ok(Target {
        name: name.to_owned(),
        url,
        pid,
        http,
        signer: None,
    })
}

impl Target {
    /// The same endpoint and connection pool, for another task.
    fn clone_handle(&self) -> Target {
        Target {
            name: self.name.clone(),
            url: self.url.clone(),
            pid: None,
            http: self.http.clone(),
            signer: self.signer.clone(),
        }
    }

    async fn call(&self, op: &str, body: Bytes) -> anyhow::Result<(u16, Bytes)> {
        let resp = self.http.request(self.request(op, body)?).await?;
        let status = resp.status().as_u16();
        Ok((status, resp.into_body().collect().await?.to_bytes()))
    }

    fn request(&self, op: &str, body: Bytes) -> anyhow::Result<http::Request<Full<Bytes>>> {
        let signed_body = self.signer.as_ref().map(|_| body.clone());
        let mut req = http::Request::post(format!("{}/", self.url))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("Kinesis_20131202.{op}"))
            .header("x-amz-date", "20260101T000000Z")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            )
            .body(Full::new(body))?;
        if let (Some(signer), Some(body)) = (&self.signer, signed_body) {
            signer.authorize(&mut req, &body);
        }
        Ok(req)
    }

    /// GetRecords read frame by frame: counts the records and finds the next iterator without
    /// holding the whole response. The last bytes of each frame carry over, so a member name
    /// split across frames is still seen; the first bytes are kept too, because some servers
    /// write `NextShardIterator` before `Records`.
    async fn get_records_streaming(&self, iterator: &str) -> anyhow::Result<(usize, Option<String>)> {
        const KEEP: usize = 1024;
        let body = Bytes::from(json!({"ShardIterator": iterator, "Limit": 10000}).to_string());
        let resp = self.http.request(self.request("GetRecords", body)?).await?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let (mut count, mut head, mut window) = (0usize, Vec::<u8>::new(), Vec::<u8>::new());
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else { continue };
            if head.len() < 4 * KEEP {
                head.extend_from_slice(&data[..data.len().min(4 * KEEP - head.len())]);
            }
            window.extend_from_slice(&data);
            // Count only matches that start before the carried-over tail, so none counts twice.
            let cut = window.len().saturating_sub(KEEP);
            count += memchr::memmem::find_iter(&window, b"\"SequenceNumber\":")
                .filter(|&at| at < cut)
                .count();
            window.drain(..cut);
        }
        if status != 200 {
            bail!("GetRecords failed with {status}: {}", String::from_utf8_lossy(&window));
        }
        count += count_records(&window);
        Ok((count, next_iterator(&window).or_else(|| next_iterator(&head))))
    }

    async fn ok(&self, op: &str, body: Value) -> anyhow::Result<Value> {
        let (status, bytes) = self.call(op, Bytes::from(body.to_string())).await?;
        if status != 200 {
            bail!("{op} failed with {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn create_stream(&self, name: &str, shards: u32) -> anyhow::Result<()> {
        self.ok("CreateStream", json!({"StreamName": name, "ShardCount": shards}))
            .await?;
        for _ in 0..600 {
            let d = self.ok("DescribeStreamSummary", json!({"StreamName": name})).await?;
            if d["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE" {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("stream {name} did not become ACTIVE")
    }

    async fn iterator(&self, stream: &str, kind: &str) -> anyhow::Result<String> {
        let body = json!({"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": kind});
        let out = self.ok("GetShardIterator", body).await?;
        Ok(out["ShardIterator"].as_str().context("no iterator")?.to_owned())
    }
}

fn put_records_body(stream: &str, count: usize, size: usize, salt: usize) -> Bytes {
    let data = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; size]);
    let records: Vec<Value> = (0..count)
        .map(|i| json!({"Data": data, "PartitionKey": format!("pk-{salt}-{i}")}))
        .collect();
    Bytes::from(json!({"StreamName": stream, "Records": records}).to_string())
}

impl Results {
    /// Every figure starts as "not measured".
    fn new() -> Results {
        let n = f64::NAN;
        Results {
            put_1k_records_s: n,
            put_1k_mib_s: n,
            put_100b_records_s: n,
            put_100b_mib_s: n,
            put_p50_ms: n,
            put_p99_ms: n,
            drain_records_s: n,
            e2e_p50_ms: n,
            e2e_p99_ms: n,
            push_p50_ms: n,
            push_p99_ms: n,
            split_records_s: n,
            split_p99_ms: n,
            split_max_ms: n,
            split_other_p99_ms: n,
            peak_rss_mib: None,
        }
    }
}

async fn measure(t: &Target, args: &BenchArgs) -> anyhow::Result<Results> {
    let nonce = std::process::id();
    let wanted = |m: &str| args.only.iter().any(|o| o == m);
    let mut r = Results::new();
    let stream = format!("bench-put-{nonce}");
    t.create_stream(&stream, 4).await?;
    if wanted("put") {
        (r.put_1k_records_s, r.put_1k_mib_s) = put_throughput(t, &stream, 1024, args).await?;
        eprintln!(
            "  PutRecords 500 x 1 KiB: {:.0} records/s, {:.1} MiB/s",
            r.put_1k_records_s, r.put_1k_mib_s
        );
        (r.put_100b_records_s, r.put_100b_mib_s) = put_throughput(t, &stream, 100, args).await?;
        eprintln!(
            "  PutRecords 500 x 100 B: {:.0} records/s, {:.1} MiB/s",
            r.put_100b_records_s, r.put_100b_mib_s
        );
    }
    if wanted("latency") {
        settle().await;
        (r.put_p50_ms, r.put_p99_ms) = put_latency(t, &stream, args.latency_requests).await?;
        eprintln!(
            "  PutRecord latency: p50 {:.3} ms, p99 {:.3} ms",
            r.put_p50_ms, r.put_p99_ms
        );
    }
    if wanted("drain") {
        r.drain_records_s = drain(t, &format!("bench-drain-{nonce}"), args).await?;
        eprintln!("  GetRecords drain: {:.0} records/s", r.drain_records_s);
    }
    if wanted("e2e") {
        settle().await;
        (r.e2e_p50_ms, r.e2e_p99_ms) = put_to_get(t, &format!("bench-e2e-{nonce}")).await?;
        eprintln!(
            "  put-to-get latency: p50 {:.3} ms, p99 {:.3} ms",
            r.e2e_p50_ms, r.e2e_p99_ms
        );
    }
    if wanted("fanout") {
        settle().await;
        // Not every peer has enhanced fan-out (kinesalite has none): its absence is a result.
        match put_to_push(t, &format!("bench-push-{nonce}")).await {
            Ok((p50, p99)) => {
                (r.push_p50_ms, r.push_p99_ms) = (p50, p99);
                eprintln!("  put-to-push latency (SubscribeToShard): p50 {p50:.3} ms, p99 {p99:.3} ms");
            }
            Err(e) => eprintln!("  put-to-push latency: not measured ({e:#})"),
        }
    }
    if wanted("split") {
        settle().await;
        let s = split_under_load(t, &format!("bench-split-{nonce}"), args).await?;
        (r.split_records_s, r.split_p99_ms, r.split_max_ms, r.split_other_p99_ms) =
            (s.records_s, s.p99_ms, s.max_ms, s.other_p99_ms);
        eprintln!(
            "  PutRecords through a split: {:.0} records/s; latency in the split's second p99 {:.1} ms, max {:.1} ms; p99 in the other seconds {:.1} ms",
            s.records_s, s.p99_ms, s.max_ms, s.other_p99_ms
        );
    }
    if wanted("siege") {
        settle().await;
        let s = siege(t, &format!("bench-siege-{nonce}"), args).await?;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}× |",
            t.name,
            s.0,
            s.1,
            s.2,
            s.3,
            s.3 / s.1
        );
    }
    if let Some(pid) = t.pid.filter(|_| wanted("memory")) {
        let peak = memory_under_large_requests(t, &stream, pid).await?;
        eprintln!("  peak RSS with 100 x (5 x 1 MiB) requests at once: {peak:.0} MiB");
        r.peak_rss_mib = Some(peak);
    }
    Ok(r)
}

/// Lets the disk finish the previous phase's work (the kernel's writeback of gigabytes just
/// written) before a latency measurement, so one phase does not spill into the next.
pub(crate) async fn settle() {
    let _ = tokio::task::spawn_blocking(|| std::process::Command::new("sync").status()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// One PutRecords call of a load: when it ended (seconds since the load started), its latency
/// in ms, and the records it wrote.
type Call = (f64, f64, u64);

/// Starts `workers` tasks sending PutRecords of 500 records of `size` bytes for `seconds`;
/// joining the handles gives every call.
fn put_load(
    t: &Target,
    stream: &str,
    size: usize,
    workers: usize,
    seconds: u64,
) -> (Instant, Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Call>>>>) {
    let bodies: Arc<Vec<Bytes>> = Arc::new((0..8).map(|s| put_records_body(stream, 500, size, s)).collect());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let handles = (0..workers)
        .map(|w| {
            let bodies = bodies.clone();
            let t = t.clone_handle();
            tokio::spawn(async move {
                let mut calls = Vec::new();
                let mut i = w;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let (status, body) = t.call("PutRecords", bodies[i % bodies.len()].clone()).await?;
                    if status != 200 {
                        bail!("PutRecords failed with {status}: {}", String::from_utf8_lossy(&body));
                    }
                    let out: PutRecordsOut = serde_json::from_slice(&body)?;
                    let ms = sent.elapsed().as_secs_f64() * 1000.0;
                    calls.push((start.elapsed().as_secs_f64(), ms, 500 - out.failed.unwrap_or(0)));
                    i += 1;
                }
                Ok(calls)
            })
        })
        .collect();
    (start, handles)
}

async fn join_load(handles: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Call>>>>) -> anyhow::Result<Vec<Call>> {
    let mut calls = Vec::new();
    for h in handles {
        calls.extend(h.await??);
    }
    Ok(calls)
}

/// Runs `concurrency` workers sending PutRecords of 500 records for `seconds`.
async fn put_throughput(t: &Target, stream: &str, size: usize, args: &BenchArgs) -> anyhow::Result<(f64, f64)> {
    let (start, handles) = put_load(t, stream, size, args.concurrency, args.seconds);
    let calls = join_load(handles).await?;
    let records = calls.iter().map(|c| c.2).sum::<u64>() as f64 / start.elapsed().as_secs_f64();
    Ok((records, records * size as f64 / (1024.0 * 1024.0)))
}

/// What a split under load costs.
struct SplitCost {
    /// Records/s over the whole run.
    records_s: f64,
    /// p99 and worst latency of the calls that ended in the second after the split was asked for.
    p99_ms: f64,
    max_ms: f64,
    /// p99 latency of every other call of the run: the baseline the split's second is read against.
    other_p99_ms: f64,
}

/// PutRecords (500 × 1 KiB, 8 in flight) on a 2-shard stream for `seconds`, with a SplitShard
/// of shard 0 halfway.
async fn split_under_load(t: &Target, stream: &str, args: &BenchArgs) -> anyhow::Result<SplitCost> {
    t.create_stream(stream, 2).await?;
    let (start, handles) = put_load(t, stream, 1024, 8, args.seconds);
    tokio::time::sleep(Duration::from_secs(args.seconds) / 2).await;
    let split_at = start.elapsed().as_secs_f64();
    let mid = (u128::MAX / 4).to_string();
    t.ok(
        "SplitShard",
        json!({"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": mid}),
    )
    .await?;
    let calls = join_load(handles).await?;
    let records_s = calls.iter().map(|c| c.2).sum::<u64>() as f64 / start.elapsed().as_secs_f64();
    let (around, other): (Vec<&Call>, Vec<&Call>) = calls.iter().partition(|c| c.0 >= split_at && c.0 < split_at + 1.0);
    if around.is_empty() || other.is_empty() {
        bail!("no PutRecords call ended in the second after the split, or none outside it");
    }
    let max_ms = around.iter().map(|c| c.1).fold(0.0, f64::max);
    let (_, p99_ms) = percentiles(around.iter().map(|c| c.1).collect());
    let (_, other_p99_ms) = percentiles(other.iter().map(|c| c.1).collect());
    Ok(SplitCost {
        records_s,
        p99_ms,
        max_ms,
        other_p99_ms,
    })
}

pub(crate) fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.50), at(0.99))
}

async fn put_latency(t: &Target, stream: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let data = base64::engine::general_purpose::STANDARD.encode([b'x'; 100]);
    let mut lat = Vec::with_capacity(n);
    for i in 0..n + 50 {
        let body =
            Bytes::from(json!({"StreamName": stream, "PartitionKey": format!("k{i}"), "Data": data}).to_string());
        let start = Instant::now();
        let (status, out) = t.call("PutRecord", body).await?;
        if status != 200 {
            bail!("PutRecord failed with {status}: {}", String::from_utf8_lossy(&out));
        }
        if i >= 50 {
            lat.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(percentiles(lat))
}

/// Fills a one-shard stream with `drain_records` records of 1 KiB, then times reading them all
/// from TRIM_HORIZON, three times; returns the median rate.
async fn drain(t: &Target, stream: &str, args: &BenchArgs) -> anyhow::Result<f64> {
    t.create_stream(stream, 1).await?;
    let batches = args.drain_records.div_ceil(500);
    let body = put_records_body(stream, 500, 1024, 0);
    let mut inflight = Vec::new();
    for b in 0..batches {
        let (tt, body) = (t.clone_handle(), body.clone());
        inflight.push(tokio::spawn(async move { tt.call("PutRecords", body).await }));
        if inflight.len() == 8 || b + 1 == batches {
            for f in inflight.drain(..) {
                let (status, out) = f.await??;
                if status != 200 {
                    bail!("PutRecords failed with {status}: {}", String::from_utf8_lossy(&out));
                }
            }
        }
    }
    // A drain of 100k records takes a fraction of a second, so one hiccup of this machine moves
    // it a lot: the same records are drained three times and the median counts.
    let mut rates = Vec::new();
    for _ in 0..3 {
        let mut it = t.iterator(stream, "TRIM_HORIZON").await?;
        let start = Instant::now();
        let mut read = 0usize;
        while read < batches * 500 {
            let (count, next) = t.get_records_streaming(&it).await?;
            read += count;
            it = next.context("no next iterator")?;
        }
        rates.push(read as f64 / start.elapsed().as_secs_f64());
    }
    eprintln!("  drains of {} records: {:.0?} records/s", batches * 500, rates);
    rates.sort_by(f64::total_cmp);
    Ok(rates[1])
}

/// Records in a GetRecords response, counted without decoding it: inside JSON strings every `"`
/// is escaped, so `"SequenceNumber":` only matches the member name, once per record.
fn count_records(body: &[u8]) -> usize {
    memchr::memmem::find_iter(body, b"\"SequenceNumber\":").count()
}

/// The `NextShardIterator` of a GetRecords response (iterators hold no quotes or escapes).
fn next_iterator(body: &[u8]) -> Option<String> {
    let key = b"\"NextShardIterator\":\"";
    let start = memchr::memmem::rfind(body, key)? + key.len();
    let len = memchr::memchr(b'"', &body[start..])?;
    Some(String::from_utf8_lossy(&body[start..start + len]).into_owned())
}

/// The one member of a PutRecords response the load generator needs; the rest is skipped.
#[derive(serde::Deserialize)]
struct PutRecordsOut {
    #[serde(rename = "FailedRecordCount")]
    failed: Option<u64>,
}

#[derive(serde::Deserialize)]
struct GetRecordsPage<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<RecordData<'a>>,
    #[serde(rename = "NextShardIterator")]
    next_shard_iterator: Option<String>,
}

#[derive(serde::Deserialize)]
struct RecordData<'a> {
    #[serde(rename = "Data", borrow)]
    data: std::borrow::Cow<'a, str>,
}

/// A reader polls GetRecords without pause while a writer puts a record every 5 ms carrying its
/// send time; the latency is the time from sending the put to reading the record.
async fn put_to_get(t: &Target, stream: &str) -> anyhow::Result<(f64, f64)> {
    t.create_stream(stream, 1).await?;
    let n = 1000usize;
    let origin = Instant::now();
    let mut it = t.iterator(stream, "LATEST").await?;
    let reader_t = t.clone_handle();
    let reader = tokio::spawn(async move {
        let mut lat = Vec::with_capacity(n);
        let give_up = Instant::now() + Duration::from_secs(120);
        while lat.len() < n && Instant::now() < give_up {
            let (status, out) = reader_t
                .call("GetRecords", Bytes::from(json!({"ShardIterator": it}).to_string()))
                .await?;
            if status != 200 {
                bail!("GetRecords failed with {status}: {}", String::from_utf8_lossy(&out));
            }
            let now = origin.elapsed().as_secs_f64() * 1000.0;
            let page: GetRecordsPage = serde_json::from_slice(&out)?;
            for r in &page.records {
                let sent = base64::engine::general_purpose::STANDARD.decode(r.data.as_bytes())?;
                let sent: f64 = String::from_utf8_lossy(&sent).parse()?;
                lat.push(now - sent);
            }
            it = page.next_shard_iterator.context("no next iterator")?;
        }
        Ok(lat)
    });
    for _ in 0..n {
        let sent = origin.elapsed().as_secs_f64() * 1000.0;
        let data = base64::engine::general_purpose::STANDARD.encode(format!("{sent:.4}"));
        t.ok(
            "PutRecord",
            json!({"StreamName": stream, "PartitionKey": "e2e", "Data": data}),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lat = reader.await??;
    if lat.len() < n {
        bail!("the reader saw {} of {n} records", lat.len());
    }
    Ok(percentiles(lat))
}

/// Put-to-push latency: a writer puts a record every 5 ms carrying its send time, while an
/// enhanced fan-out consumer receives them through SubscribeToShard (subscribing again with the
/// continuation when a subscription ends); 1,000 samples.
async fn put_to_push(t: &Target, stream: &str) -> anyhow::Result<(f64, f64)> {
    t.create_stream(stream, 1).await?;
    let summary = t.ok("DescribeStreamSummary", json!({"StreamName": stream})).await?;
    let stream_arn = summary["StreamDescriptionSummary"]["StreamARN"]
        .as_str()
        .context("no StreamARN")?
        .to_owned();
    let registered = t
        .ok(
            "RegisterStreamConsumer",
            json!({"StreamARN": stream_arn, "ConsumerName": "bench"}),
        )
        .await?;
    let consumer = registered["Consumer"]["ConsumerARN"]
        .as_str()
        .context("no ConsumerARN")?
        .to_owned();
    for attempt in 0.. {
        let d = t.ok("DescribeStreamConsumer", json!({"ConsumerARN": consumer})).await?;
        if d["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE" {
            break;
        }
        if attempt == 600 {
            bail!("consumer did not become ACTIVE");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let n = 1000usize;
    let origin = Instant::now();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let reader_t = t.clone_handle();
    let reader = tokio::spawn(async move {
        let mut lat = Vec::with_capacity(n);
        let mut start = json!({"Type": "LATEST"});
        let mut subscribed_tx = Some(subscribed_tx);
        let give_up = Instant::now() + Duration::from_secs(120);
        while lat.len() < n && Instant::now() < give_up {
            let body = json!({"ConsumerARN": consumer, "ShardId": "shardId-000000000000", "StartingPosition": start});
            let resp = reader_t
                .http
                .request(reader_t.request("SubscribeToShard", Bytes::from(body.to_string()))?)
                .await?;
            if resp.status() != 200 {
                let status = resp.status();
                let bytes = resp.into_body().collect().await?.to_bytes();
                if status == 400 && String::from_utf8_lossy(&bytes).contains("ResourceInUse") {
                    // The previous subscription's lease has not lapsed yet.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                bail!(
                    "SubscribeToShard failed with {status}: {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            let mut body = resp.into_body();
            let mut buf = Vec::new();
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame?.into_data() else { continue };
                buf.extend_from_slice(&data);
                let now = origin.elapsed().as_secs_f64() * 1000.0;
                loop {
                    let (message, used) = match rheo_wire::eventstream::decode(&buf) {
                        Ok(m) => m,
                        Err(rheo_wire::eventstream::DecodeError::Incomplete) => break,
                        Err(e) => bail!("a malformed event: {e}"),
                    };
                    buf.drain(..used);
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                    if message.header_str(":message-type") == Some("exception") {
                        bail!("SubscribeToShard sent {}", String::from_utf8_lossy(&message.payload));
                    }
                    if message.header_str(":event-type") != Some("SubscribeToShardEvent") {
                        continue;
                    }
                    let event: PushEvent = serde_json::from_slice(&message.payload)?;
                    for r in &event.records {
                        let sent = base64::engine::general_purpose::STANDARD.decode(r.data.as_bytes())?;
                        let sent: f64 = String::from_utf8_lossy(&sent).parse()?;
                        lat.push(now - sent);
                    }
                    if let Some(seq) = event.continuation {
                        start = json!({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq});
                    }
                }
                if lat.len() >= n {
                    break;
                }
            }
        }
        Ok(lat)
    });
    tokio::time::timeout(Duration::from_secs(30), subscribed)
        .await
        .context("no event within 30 s of subscribing")?
        .context("the subscriber stopped")?;
    for _ in 0..n {
        let sent = origin.elapsed().as_secs_f64() * 1000.0;
        let data = base64::engine::general_purpose::STANDARD.encode(format!("{sent:.4}"));
        t.ok(
            "PutRecord",
            json!({"StreamName": stream, "PartitionKey": "push", "Data": data}),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lat = reader.await??;
    if lat.len() < n {
        bail!("the consumer saw {} of {n} records", lat.len());
    }
    Ok(percentiles(lat))
}

#[derive(serde::Deserialize)]
struct PushEvent<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<RecordData<'a>>,
    #[serde(rename = "ContinuationSequenceNumber")]
    continuation: Option<String>,
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Sends 100 PutRecords of 5 × 1 MiB records at once and samples the server's RSS.
async fn memory_under_large_requests(t: &Target, stream: &str, pid: u32) -> anyhow::Result<f64> {
    let body = put_records_body(stream, 5, 1024 * 1024 - 64, 9);
    let peak = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(m) = rss_mib(pid) {
                    peak.fetch_max(m as u64, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut calls = Vec::new();
    for _ in 0..100 {
        let tt = t.clone_handle();
        let body = body.clone();
        calls.push(tokio::spawn(async move { tt.call("PutRecords", body).await }));
    }
    for c in calls {
        let (status, out) = c.await??;
        if status != 200 {
            bail!("PutRecords failed with {status}: {}", String::from_utf8_lossy(&out));
        }
    }
    stop.store(true, Ordering::Relaxed);
    sampler.await?;
    Ok(peak.load(Ordering::Relaxed) as f64)
}

/// A table row: its label, how to read it from a target's results, and whether higher is
/// better.
pub(crate) type TableRow<R> = (&'static str, fn(&R) -> f64, bool);
type Row = TableRow<Results>;

fn print_table(all: &[(String, Results)]) {
    let Some((base_name, base)) = all.first() else { return };
    let rows: [Row; 16] = [
        ("PutRecords 500 × 1 KiB, records/s", |r| r.put_1k_records_s, true),
        ("PutRecords 500 × 1 KiB, MiB/s", |r| r.put_1k_mib_s, true),
        ("PutRecords 500 × 100 B, records/s", |r| r.put_100b_records_s, true),
        ("PutRecords 500 × 100 B, MiB/s", |r| r.put_100b_mib_s, true),
        ("PutRecord latency p50, ms", |r| r.put_p50_ms, false),
        ("PutRecord latency p99, ms", |r| r.put_p99_ms, false),
        ("GetRecords drain, records/s", |r| r.drain_records_s, true),
        ("put-to-get latency p50, ms", |r| r.e2e_p50_ms, false),
        ("put-to-get latency p99, ms", |r| r.e2e_p99_ms, false),
        ("put-to-push latency p50, ms", |r| r.push_p50_ms, false),
        ("put-to-push latency p99, ms", |r| r.push_p99_ms, false),
        ("PutRecords through a split, records/s", |r| r.split_records_s, true),
        (
            "PutRecords latency in the split's second, p99 ms",
            |r| r.split_p99_ms,
            false,
        ),
        (
            "PutRecords latency in the split's second, max ms",
            |r| r.split_max_ms,
            false,
        ),
        (
            "PutRecords latency in the other seconds, p99 ms",
            |r| r.split_other_p99_ms,
            false,
        ),
        (
            "peak RSS, 100 × 5 MiB requests at once, MiB",
            |r| r.peak_rss_mib.unwrap_or(f64::NAN),
            false,
        ),
    ];
    markdown_table(base_name, base, all, &rows);
}

/// Prints a Markdown table of `rows` for every target, with each one's ratio to the first
/// (rows measured for no target are left out).
pub(crate) fn markdown_table<R>(base_name: &str, base: &R, all: &[(String, R)], rows: &[TableRow<R>]) {
    print!("| metric | {base_name} |");
    for (name, _) in &all[1..] {
        print!(" {name} | {base_name} vs {name} |");
    }
    println!();
    print!("|---|---:|");
    for _ in &all[1..] {
        print!("---:|---:|");
    }
    println!();
    for &(label, get, higher_is_better) in rows {
        if all.iter().all(|(_, r)| get(r).is_nan()) {
            continue; // not measured in this run
        }
        print!("| {label} | {} |", fmt(get(base)));
        for (_, r) in &all[1..] {
            let ratio = if higher_is_better {
                get(base) / get(r)
            } else {
                get(r) / get(base)
            };
            print!(
                " {} | {} |",
                fmt(get(r)),
                if ratio.is_finite() {
                    format!("{ratio:.1}×")
                } else {
                    "–".into()
                }
            );
        }
        println!();
    }
}

pub(crate) fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Idle connections, slow readers and header-only uploads the siege holds.
const SIEGE_IDLE: usize = 1000;
const SIEGE_SLOW_READERS: usize = 100;
const SIEGE_UPLOADS: usize = 50;

/// A producer (PutRecords of 100 × 1 KiB, one in flight) alone for `seconds`, then for
/// `seconds` beside the siege: 1,000 connections that send nothing (reopened when the server
/// closes them), 100 GetRecords calls of ~10 MiB whose responses are never read, and 50 uploads
/// that send the headers of a 16 MiB PutRecords and no body. Returns the producer's p50 and p99
/// alone and under siege, in ms. Bounded: a fixed number of sockets, stopped when the producer
/// is done; loopback only, as the target is.
async fn siege(t: &Target, stream: &str, args: &BenchArgs) -> anyhow::Result<(f64, f64, f64, f64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    t.create_stream(stream, 2).await?;
    let reads = format!("{stream}-reads");
    t.create_stream(&reads, 1).await?;
    // ~20 MiB to read, so every slow reader's response is ~10 MiB.
    let fill = put_records_body(&reads, 500, 1024, 0);
    for _ in 0..40 {
        let (status, out) = t.call("PutRecords", fill.clone()).await?;
        if status != 200 {
            bail!("PutRecords failed with {status}: {}", String::from_utf8_lossy(&out));
        }
    }
    let body = put_records_body(stream, 100, 1024, 0);
    let produce = |seconds: u64| {
        let (t, body) = (t.clone_handle(), body.clone());
        async move {
            let mut lat = Vec::new();
            let end = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < end {
                let start = Instant::now();
                let (status, out) = t.call("PutRecords", body.clone()).await?;
                if status != 200 {
                    bail!("PutRecords failed with {status}: {}", String::from_utf8_lossy(&out));
                }
                lat.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(percentiles(lat))
        }
    };
    let (alone_p50, alone_p99) = produce(args.seconds).await?;
    eprintln!("  producer alone: p50 {alone_p50:.2} ms, p99 {alone_p99:.2} ms");
    let addr = t
        .url
        .strip_prefix("http://")
        .context("the siege needs an http:// target")?
        .trim_end_matches('/')
        .to_owned();
    let head = |op: &str, length: usize| {
        format!(
            "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: Kinesis_20131202.{op}\r\nx-amz-date: 20260101T000000Z\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\ncontent-length: {length}\r\n\r\n"
        )
    };
    let mut tasks = Vec::new();
    let opened = Arc::new(AtomicU64::new(0));
    for _ in 0..SIEGE_IDLE {
        let (addr, opened) = (addr.clone(), opened.clone());
        tasks.push(tokio::spawn(async move {
            // Reopened whenever the server closes it, so a thousand are held throughout.
            loop {
                let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                let mut sink = [0u8; 64];
                while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
            }
        }));
    }
    for _ in 0..SIEGE_SLOW_READERS {
        let iterator = t.iterator(&reads, "TRIM_HORIZON").await?;
        let body = json!({"ShardIterator": iterator, "Limit": 10000}).to_string();
        let request = format!("{}{body}", head("GetRecords", body.len()));
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                let _ = s.write_all(request.as_bytes()).await;
                // Never read: hold the connection until the siege ends.
                std::future::pending::<()>().await;
            }
        }));
    }
    for _ in 0..SIEGE_UPLOADS {
        let request = head("PutRecords", 16 * 1024 * 1024);
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                let _ = s.write_all(request.as_bytes()).await;
                std::future::pending::<()>().await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let under = produce(args.seconds).await;
    let reopened = opened.load(Ordering::Relaxed);
    for task in &tasks {
        task.abort();
    }
    let (siege_p50, siege_p99) = under?;
    eprintln!(
        "  producer beside {SIEGE_IDLE} idle connections ({reopened} opened in all), {SIEGE_SLOW_READERS} slow readers and {SIEGE_UPLOADS} header-only uploads: p50 {siege_p50:.2} ms, p99 {siege_p99:.2} ms"
    );
    Ok((alone_p50, alone_p99, siege_p50, siege_p99))
}
