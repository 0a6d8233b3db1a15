//! `rheo bench-firehose`: a load generator for any Firehose endpoint that delivers into its own
//! S3 API (Rheo, moto's server, ...). For each target, in one run: PutRecordBatch calls (500
//! records of 8,000 bytes, JSON-like and compressible, several in flight) for `--seconds`, into
//! a delivery stream buffering 64 MiB or 1 s, uncompressed and then GZIP; the throughput counts
//! the bytes put from the first call until the last object holding them is listed. Then the
//! put-to-object latency: one PutRecord into a stream buffering 1 MiB or 0 s, and the time until
//! its object is listed. Every delivered object is read back and its bytes counted. Requests
//! carry a fixed, well-formed SigV4 header (servers without credentials accept it). Results
//! print as a Markdown table with ratios to the first target.

use anyhow::{Context, bail};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::io::Read;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchFirehoseArgs {
    /// A target as NAME=URL (repeatable); ratios are against the first.
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    /// Seconds of puts in each throughput measurement.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// PutRecordBatch calls in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Put-to-object latency samples.
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
    /// Active partitions in the dynamic-partitioning phase (0: no such phase).
    #[arg(long, default_value_t = 500)]
    pub partitions: usize,
    /// The first target's process, whose resident memory is sampled in that phase.
    #[arg(long)]
    pub pid: Option<u32>,
}

const RECORDS: usize = 500;
const RECORD_BYTES: usize = 8000;

fn auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    )
}

#[derive(Clone)]
struct Target {
    url: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Target {
    async fn call(&self, req: http::Request<Full<Bytes>>) -> anyhow::Result<Bytes> {
        let what = format!("{} {}", req.method(), req.uri());
        let resp = self.http.request(req).await.with_context(|| what.clone())?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!(
                "{what}: {status} {}",
                String::from_utf8_lossy(&body[..body.len().min(2000)])
            );
        }
        Ok(body)
    }

    async fn firehose(&self, action: &str, body: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        self.firehose_raw(action, Bytes::from(body.to_string())).await
    }

    async fn firehose_raw(&self, action: &str, body: Bytes) -> anyhow::Result<serde_json::Value> {
        let req = http::Request::post(format!("{}/", self.url))
            .header("x-amz-target", format!("Firehose_20150804.{action}"))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", auth("firehose"))
            .body(Full::new(body))?;
        let out = self.call(req).await?;
        Ok(serde_json::from_slice(&out).unwrap_or_default())
    }

    fn s3(&self, method: &str, path: &str) -> http::request::Builder {
        http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("x-amz-date", "20260101T000000Z")
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header("authorization", auth("s3"))
    }

    /// Every object under `prefix`: key and size.
    async fn list(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = format!("/{bucket}?list-type=2&prefix={prefix}");
            if let Some(t) = &token {
                q.push_str(&format!("&continuation-token={}", urlencode(t)));
            }
            let xml = self.call(self.s3("GET", &q).body(Full::new(Bytes::new()))?).await?;
            let xml = String::from_utf8_lossy(&xml);
            for c in xml.split("<Contents>").skip(1) {
                let key = between(c, "<Key>", "</Key>").unwrap_or_default().to_owned();
                let size = between(c, "<Size>", "</Size>")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                out.push((key, size));
            }
            token = between(&xml, "<NextContinuationToken>", "</NextContinuationToken>").map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<Bytes> {
        self.call(
            self.s3("GET", &format!("/{bucket}/{key}"))
                .body(Full::new(Bytes::new()))?,
        )
        .await
    }

    /// A GZIP stream partitioned by the records' `p` member (a jq query), 64 MiB or 1 s.
    async fn create_partitioned(&self, name: &str, bucket: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({
            "DeliveryStreamName": name,
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/bench",
                "BucketARN": format!("arn:aws:s3:::{bucket}"),
                "Prefix": format!("{name}/p=!{{partitionKeyFromQuery:p}}/"),
                "ErrorOutputPrefix": format!("{name}-errors/!{{firehose:error-output-type}}/"),
                "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
                "CompressionFormat": "GZIP",
                "DynamicPartitioningConfiguration": {"Enabled": true},
                "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{p:.p}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]},
            }
        });
        self.firehose("CreateDeliveryStream", body).await.map(|_| ())
    }

    async fn create_stream(
        &self,
        name: &str,
        bucket: &str,
        size_mb: u32,
        interval_s: u32,
        gzip: bool,
    ) -> anyhow::Result<()> {
        let body = serde_json::json!({
            "DeliveryStreamName": name,
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/bench",
                "BucketARN": format!("arn:aws:s3:::{bucket}"),
                "Prefix": format!("{name}/"),
                "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval_s},
                "CompressionFormat": if gzip { "GZIP" } else { "UNCOMPRESSED" },
            }
        });
        self.firehose("CreateDeliveryStream", body).await.map(|_| ())
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Request bodies each load worker cycles through.
const BODIES_PER_WORKER: usize = 2;

/// A PutRecordBatch body of compressible JSON-like records, their `p` member spread over
/// `partitions` values.
fn batch_body(stream: &str, seq: u64, partitions: usize) -> Bytes {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut records = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let p = (seq as usize * RECORDS + i) % partitions.max(1);
        let head = format!(
            "{{\"p\":\"p{p}\",\"id\":{},\"user\":\"user-{}\",\"page\":\"/docs/{}\",\"pad\":\"",
            seq * 1000 + i as u64,
            i % 97,
            i % 13
        );
        let mut rec = head.into_bytes();
        while rec.len() < RECORD_BYTES - 3 {
            rec.extend_from_slice(b"lorem ipsum dolor sit amet ");
        }
        rec.truncate(RECORD_BYTES - 3);
        rec.extend_from_slice(b"\"}\n");
        records.push(serde_json::json!({ "Data": b64.encode(&rec) }));
    }
    Bytes::from(serde_json::json!({ "DeliveryStreamName": stream, "Records": records }).to_string())
}

/// A table row: its label, its figure, and whether higher is better.
type Row = (&'static str, fn(&Results) -> f64, bool);

#[derive(Clone, Copy, Default)]
struct Results {
    raw_mib_s: f64,
    raw_records_s: f64,
    gzip_mib_s: f64,
    gzip_records_s: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    delivered_ok: bool,
    gzipped: bool,
    /// The partitioned phase: MiB/s, and the server's resident MiB before and at most during it.
    parts_mib_s: Option<f64>,
    rss_before_mib: Option<f64>,
    rss_peak_mib: Option<f64>,
}

/// Puts for `seconds`, then waits until the listing stops growing; the bytes put and the
/// time from the first put until the last new object was seen.
/// The bytes put, the seconds, whether every byte came back, and whether every object was in the
/// asked format (a peer may ignore CompressionFormat).
async fn throughput(
    t: &Target,
    args: &BenchFirehoseArgs,
    bucket: &str,
    stream: &str,
    gzip: bool,
    partitions: usize,
) -> anyhow::Result<(u64, f64, bool, bool)> {
    if partitions > 0 {
        t.create_partitioned(stream, bucket).await?;
    } else {
        t.create_stream(stream, bucket, 64, 1, gzip).await?;
    }
    // The bodies are made before the clock starts and reused, so that the load generator,
    // on the same cores, spends its time sending rather than encoding.
    let bodies: Vec<Vec<Bytes>> = (0..args.concurrency)
        .map(|w| {
            (0..BODIES_PER_WORKER)
                .map(|i| batch_body(stream, (w * BODIES_PER_WORKER + i) as u64, partitions))
                .collect()
        })
        .collect();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for bodies in bodies {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut put = 0u64;
            let mut seq = 0usize;
            while Instant::now() < deadline {
                let body = bodies[seq % bodies.len()].clone();
                let out = t.firehose_raw("PutRecordBatch", body).await?;
                if out["FailedPutCount"].as_u64().unwrap_or(0) != 0 {
                    bail!("a batch was not taken: {out}");
                }
                put += (RECORDS * RECORD_BYTES) as u64;
                seq += 1;
            }
            anyhow::Ok(put)
        }));
    }
    let mut bytes = 0;
    for task in tasks {
        bytes += task.await??;
    }
    eprintln!(
        "{stream}: puts taken at {:.1} MiB/s",
        bytes as f64 / (1 << 20) as f64 / start.elapsed().as_secs_f64()
    );
    // Delivered: once no new object appeared for 3 s (the buffers' interval is 1 s).
    let (mut seen, mut last_new) = (0usize, Instant::now());
    while last_new.elapsed() < Duration::from_secs(3) {
        let n = t.list(bucket, &format!("{stream}/")).await?.len();
        if n > seen {
            (seen, last_new) = (n, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = (last_new - start).as_secs_f64();
    // Every byte put is in the objects, once.
    let (mut back, mut formatted) = (0u64, true);
    for (key, _) in t.list(bucket, &format!("{stream}/")).await? {
        let body = t.get(bucket, &key).await?;
        let mut out = Vec::new();
        back += match flate2::read::MultiGzDecoder::new(&body[..]).read_to_end(&mut out) {
            Ok(_) if gzip => out.len() as u64,
            _ => {
                formatted &= !gzip;
                body.len() as u64
            }
        };
    }
    if back != bytes {
        eprintln!("{stream}: {back} bytes read back of {bytes} put");
    }
    Ok((bytes, secs, back == bytes, formatted))
}

async fn latency(t: &Target, bucket: &str, samples: usize) -> anyhow::Result<(f64, f64)> {
    t.create_stream("latency", bucket, 1, 0, false).await?;
    let mut times = Vec::new();
    for i in 0..samples {
        let before = t.list(bucket, "latency/").await?.len();
        let started = Instant::now();
        let data = base64::engine::general_purpose::STANDARD.encode(format!("{{\"sample\":{i}}}\n"));
        t.firehose(
            "PutRecord",
            serde_json::json!({"DeliveryStreamName": "latency", "Record": {"Data": data}}),
        )
        .await?;
        while t.list(bucket, "latency/").await?.len() <= before {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("no object 30 s after a put");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

/// A process's resident memory now (VmRSS), in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn measure(t: &Target, args: &BenchFirehoseArgs, first: bool) -> anyhow::Result<Results> {
    let bucket = format!("bench-firehose-{}", std::process::id());
    t.call(t.s3("PUT", &format!("/{bucket}")).body(Full::new(Bytes::new()))?)
        .await?;
    let mib = |b: u64, s: f64| b as f64 / (1024.0 * 1024.0) / s;
    let records = |b: u64, s: f64| b as f64 / RECORD_BYTES as f64 / s;
    let (raw, raw_s, raw_ok, _) = throughput(t, args, &bucket, "raw", false, 0).await?;
    sync_disk().await;
    let (gz, gz_s, gz_ok, gzipped) = throughput(t, args, &bucket, "gzip", true, 0).await?;
    let (p50, p99) = latency(t, &bucket, args.samples).await?;
    let (mut parts_mib_s, mut rss_before, mut rss_peak) = (None, None, None);
    if args.partitions > 0 {
        sync_disk().await;
        let pid = if first { args.pid } else { None };
        rss_before = pid.and_then(rss_mib);
        // The server's resident memory, sampled every 100 ms through the phase.
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let sampler = pid.map(|pid| {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    let kib = rss_mib(pid).map_or(0, |m| (m * 1024.0) as u64);
                    peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        match throughput(t, args, &bucket, "parts", true, args.partitions).await {
            Ok((b, secs, true, _)) => parts_mib_s = Some(mib(b, secs)),
            Ok((b, secs, false, _)) => {
                eprintln!("the partitioned phase did not deliver every byte: {b} put, {secs:.1} s")
            }

            Err(e) => eprintln!("the partitioned phase failed: {e:#}"),
        }
        if let Some(s) = sampler {
            s.abort();
            rss_peak = Some(peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0);
        }
    }
    Ok(Results {
        raw_mib_s: mib(raw, raw_s),
        raw_records_s: records(raw, raw_s),
        gzip_mib_s: mib(gz, gz_s),
        gzip_records_s: records(gz, gz_s),
        latency_p50_ms: p50,
        latency_p99_ms: p99,
        delivered_ok: raw_ok && gz_ok,
        gzipped,
        parts_mib_s,
        rss_before_mib: rss_before,
        rss_peak_mib: rss_peak,
    })
}

/// Lets the disk finish the previous phase's writeback.
async fn sync_disk() {
    crate::bench::settle().await;
}

pub async fn run(args: BenchFirehoseArgs) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for spec in &args.targets {
        let (name, url) = spec.split_once('=').context("a target is NAME=URL")?;
        let t = Target {
            url: url.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        };
        eprintln!("measuring {name} at {url}");
        let r = measure(&t, &args, all.is_empty())
            .await
            .with_context(|| format!("measuring {name}"))?;
        sync_disk().await;
        all.push((name.to_owned(), r));
    }
    let Some((first, base)) = all.first().cloned() else {
        return Ok(());
    };
    println!(
        "| measure | {} |",
        all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}", "---|".repeat(all.len()));
    let rows: [Row; 6] = [
        ("PutRecordBatch → objects, uncompressed (MiB/s)", |r| r.raw_mib_s, true),
        (
            "PutRecordBatch → objects, uncompressed (records/s)",
            |r| r.raw_records_s,
            true,
        ),
        ("PutRecordBatch → objects, GZIP (MiB/s)", |r| r.gzip_mib_s, true),
        ("PutRecordBatch → objects, GZIP (records/s)", |r| r.gzip_records_s, true),
        (
            "put-to-object latency p50, 1 MiB / 0 s (ms)",
            |r| r.latency_p50_ms,
            false,
        ),
        (
            "put-to-object latency p99, 1 MiB / 0 s (ms)",
            |r| r.latency_p99_ms,
            false,
        ),
    ];
    for (label, f, higher_better) in rows {
        let cells: Vec<String> = all
            .iter()
            .map(|(n, r)| {
                if *n == first {
                    format!("{:.1}", f(r))
                } else {
                    let ratio = if higher_better {
                        f(&base) / f(r)
                    } else {
                        f(r) / f(&base)
                    };
                    format!("{:.1} ({first} {ratio:.1}×)", f(r))
                }
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    let ok: Vec<String> = all
        .iter()
        .map(|(_, r)| if r.delivered_ok { "yes".into() } else { "NO".into() })
        .collect();
    println!("| every byte put read back from the objects | {} |", ok.join(" | "));
    let gz: Vec<&str> = all.iter().map(|(_, r)| if r.gzipped { "yes" } else { "NO" }).collect();
    println!("| GZIP stream's objects are gzip | {} |", gz.join(" | "));
    if args.partitions > 0 {
        let cell = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
        let parts: Vec<String> = all.iter().map(|(_, r)| cell(r.parts_mib_s)).collect();
        println!(
            "| {} partitions by a jq query, GZIP (MiB/s) | {} |",
            args.partitions,
            parts.join(" | ")
        );
        let rss: Vec<String> = all
            .iter()
            .map(|(_, r)| format!("{} → {}", cell(r.rss_before_mib), cell(r.rss_peak_mib)))
            .collect();
        println!(
            "| server RSS before → peak during that phase (MiB) | {} |",
            rss.join(" | ")
        );
    }
    Ok(())
}
