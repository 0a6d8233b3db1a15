//! Crash safety of event source mappings: a producer puts records (some poison) into a stream
//! that a mapping hands to a function, while the server is SIGKILLed again and again,
//! mid-batch. Afterwards every acknowledged record was delivered to the function, each key's
//! records first arrived in order, every good record was in an invocation that succeeded (the
//! checkpoint never passed a record whose batch failed), and every poison record is covered
//! by an on-failure record in the dead-letter queue.

use crate::common::{ChildServer, client_for, lambda_client, sqs_client};
use crate::lambda::{shell_runtime, zip_of};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DestinationConfig, Environment, EventSourcePosition, FunctionCode, OnFailure, Runtime};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Appends each event to `$OUT`, fails events holding a record whose data starts with
/// `poison` (its base64 starts with `cG9pc29u`), answers `{}` to the others.
const CASES: &str = r#"  printf '%s\n' "$event" >> "$OUT"
  case "$event" in
    *'"data":"cG9pc29u'*) curl -sS -o /dev/null -X POST "$api/invocation/$id/error" -d '{"errorMessage":"poison","errorType":"Poison"}' ;;
    *) curl -sS -o /dev/null -X POST "$api/invocation/$id/response" -d '{}' ;;
  esac"#;

fn start(data: &Path) -> ChildServer {
    ChildServer::start(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &[])
}

/// Each invocation the function saw: its records' data and sequence numbers.
fn invocations(out: &Path) -> Vec<Vec<(String, String)>> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            v["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(r["kinesis"]["data"].as_str().unwrap())
                        .unwrap();
                    (
                        String::from_utf8(data).unwrap(),
                        r["kinesis"]["sequenceNumber"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

fn seq_key(s: &str) -> (usize, String) {
    (s.len(), s.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_reach_the_function_or_the_dead_letter_queue_across_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("invocations.jsonl");
    let mut server = start(&data);
    {
        let (k, c, q) = (
            client_for(&server.url),
            lambda_client(&server.url),
            sqs_client(&server.url),
        );
        q.create_queue().queue_name("crash-dlq").send().await.unwrap();
        k.create_stream()
            .stream_name("crash")
            .shard_count(2)
            .send()
            .await
            .unwrap();
        for _ in 0..100 {
            let d = k.describe_stream_summary().stream_name("crash").send().await.unwrap();
            if d.stream_description_summary().unwrap().stream_status() == &aws_sdk_kinesis::types::StreamStatus::Active
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.create_function()
            .function_name("sink")
            .runtime(Runtime::Providedal2023)
            .role("arn:aws:iam::000000000000:role/r")
            .environment(
                Environment::builder()
                    .variables("OUT", out.display().to_string())
                    .build(),
            )
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(zip_of(&[("bootstrap", &shell_runtime(CASES), 0o755)])))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        c.create_event_source_mapping()
            .function_name("sink")
            .event_source_arn("arn:aws:kinesis:us-east-1:000000000000:stream/crash")
            .starting_position(EventSourcePosition::TrimHorizon)
            .batch_size(10)
            .maximum_retry_attempts(1)
            .bisect_batch_on_function_error(true)
            .destination_config(
                DestinationConfig::builder()
                    .on_failure(
                        OnFailure::builder()
                            .destination("arn:aws:sqs:us-east-1:000000000000:crash-dlq")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    // Acknowledged puts: data -> (key, sequence number).
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let mut n = 0u32;
    for round in 0..4 {
        let k = client_for(&server.url);
        let acked2 = acked.clone();
        let start_n = n;
        let producer = tokio::spawn(async move {
            let mut n = start_n;
            loop {
                let key = format!("k{}", n % 4);
                let data = if n % 13 == 7 {
                    format!("poison:{key}:{n}")
                } else {
                    format!("{key}:{n}")
                };
                let put = k
                    .put_record()
                    .stream_name("crash")
                    .partition_key(&key)
                    .data(aws_sdk_kinesis::primitives::Blob::new(data.clone()))
                    .send()
                    .await;
                match put {
                    Ok(r) => {
                        acked2.lock().unwrap().insert(data, r.sequence_number().to_owned());
                    }
                    Err(_) => return n,
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(300 + 200 * round)).await;
        server.kill();
        n = producer.await.unwrap() + 1;
        server = start(&data);
    }
    // The last server runs until every acknowledged record is accounted for.
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the producer made progress: {}", acked.len());
    let q = sqs_client(&server.url);
    let dlq = format!("{}/000000000000/crash-dlq", server.url);
    let mut dead: Vec<serde_json::Value> = Vec::new();
    let covered = |dead: &[serde_json::Value], seq: &str| {
        dead.iter().any(|r| {
            let info = &r["KinesisBatchInfo"];
            let (lo, hi) = (
                info["startSequenceNumber"].as_str().unwrap(),
                info["endSequenceNumber"].as_str().unwrap(),
            );
            seq_key(lo) <= seq_key(seq) && seq_key(seq) <= seq_key(hi)
        })
    };
    let mut done = false;
    for _ in 0..120 {
        let got = q
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            dead.push(serde_json::from_str(m.body().unwrap()).unwrap());
            q.delete_message()
                .queue_url(&dlq)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        let seen = invocations(&out);
        let succeeded: std::collections::BTreeSet<&str> = seen
            .iter()
            .filter(|inv| !inv.iter().any(|(d, _)| d.starts_with("poison")))
            .flat_map(|inv| inv.iter().map(|(d, _)| d.as_str()))
            .collect();
        done = acked.iter().all(|(d, seq)| {
            if d.starts_with("poison") {
                covered(&dead, seq)
            } else {
                succeeded.contains(d.as_str())
            }
        });
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seen = invocations(&out);
    let repeats = seen.iter().map(Vec::len).sum::<usize>();
    eprintln!(
        "{} records acknowledged, {} invocations of {repeats} records, {} on-failure records",
        acked.len(),
        seen.len(),
        dead.len()
    );
    assert!(
        done,
        "every acknowledged record succeeded or was dead-lettered; {} acked, {} invocations",
        acked.len(),
        seen.len()
    );
    // Per key, records first arrived in the order they were put.
    let mut first: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut seen_once = std::collections::BTreeSet::new();
    for (d, _) in seen.iter().flatten() {
        if !seen_once.insert(d.clone()) {
            continue;
        }
        let parts: Vec<&str> = d.trim_start_matches("poison:").split(':').collect();
        first
            .entry(parts[0].to_owned())
            .or_default()
            .push(parts[1].parse().unwrap());
    }
    for (key, order) in first {
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "first deliveries of {key} in put order");
    }
    assert!(
        dead.iter()
            .all(|r| r["requestContext"]["condition"] == "RetryAttemptsExhausted")
    );
}
