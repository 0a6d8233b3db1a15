//! Crash safety of delivery streams: records put (PutRecordBatch) while the server is SIGKILLed
//! again and again, during buffering, transformation (a function that passes records through,
//! through the Lambda Runtime API) and object writes. In the end every acknowledged record is in
//! exactly one delivered object, and no record is in two.

use crate::common::ChildServer;
use crate::firehose::firehose_client;
use crate::s3::s3_client;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, ExtendedS3DestinationConfiguration, ProcessingConfiguration, Processor,
    ProcessorParameter, ProcessorParameterName, ProcessorType, Record,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

fn start(data: &Path) -> ChildServer {
    ChildServer::start(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &[])
}

/// Passes every record through, through the Runtime API (a shell bootstrap and jq).
const PASS_THROUGH: &str = r#"  printf '%s' "$event" | jq -c '{records: [.records[] | {recordId, result: "Ok", data}]}' |
    curl -sS -o /dev/null -X POST "$api/invocation/$id/response" --data-binary @-"#;

async fn setup(url: &str) {
    let lambda = crate::common::lambda_client(url);
    lambda
        .create_function()
        .function_name("pass")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .role("arn:aws:iam::000000000000:role/r")
        .handler("unused")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(crate::lambda::zip_of(&[(
                    "bootstrap",
                    &crate::lambda::shell_runtime(PASS_THROUGH),
                    0o755,
                )])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3_client(url).create_bucket().bucket("crash").send().await.unwrap();
    let processor = Processor::builder()
        .r#type(ProcessorType::Lambda)
        .parameters(
            ProcessorParameter::builder()
                .parameter_name(ProcessorParameterName::LambdaArn)
                .parameter_value("arn:aws:lambda:us-east-1:000000000000:function:pass")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let dest = ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::000000000000:role/r")
        .bucket_arn("arn:aws:s3:::crash")
        .prefix("out/")
        .compression_format(CompressionFormat::Gzip)
        .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(1).build())
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(processor)
                .build(),
        )
        .build()
        .unwrap();
    firehose_client(url)
        .create_delivery_stream()
        .delivery_stream_name("crashy")
        .extended_s3_destination_configuration(dest)
        .send()
        .await
        .unwrap();
}

fn no_retries(c: aws_sdk_firehose::Client) -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::from_conf(
        c.config()
            .to_builder()
            .retry_config(aws_sdk_firehose::config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// Puts batches of numbered records until the server dies; the numbers acknowledged.
async fn produce(url: String, from: u64) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let c = no_retries(firehose_client(&url));
    let (mut acked, mut doubtful) = (BTreeSet::new(), BTreeSet::new());
    let mut n = from;
    loop {
        let batch: Vec<u64> = (n..n + 200).collect();
        n += 200;
        let records: Vec<Record> = batch
            .iter()
            .map(|i| {
                let line = format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "p".repeat(300));
                Record::builder().data(Blob::new(line)).build().unwrap()
            })
            .collect();
        match c
            .put_record_batch()
            .delivery_stream_name("crashy")
            .set_records(Some(records))
            .send()
            .await
        {
            Ok(out) if out.failed_put_count() == 0 => acked.extend(batch),
            _ => {
                doubtful.extend(batch);
                return (acked, doubtful);
            }
        }
    }
}

/// Every delivered record number, with how many times it was delivered.
async fn delivered(url: &str) -> BTreeMap<u64, usize> {
    let s3 = s3_client(url);
    let mut counts = BTreeMap::new();
    let mut token = None;
    loop {
        let out = s3
            .list_objects_v2()
            .bucket("crash")
            .prefix("out/")
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        for o in out.contents() {
            let key = o.key().unwrap();
            let got = s3.get_object().bucket("crash").key(key).send().await.unwrap();
            let raw = got.body.collect().await.unwrap().into_bytes();
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .unwrap();
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                *counts.entry(v["n"].as_u64().unwrap()).or_insert(0) += 1;
            }
        }
        token = out.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return counts;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_are_delivered_exactly_once_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    setup(&server.url).await;
    let (mut acked, mut doubtful) = (BTreeSet::new(), BTreeSet::new());
    let mut next = 0u64;
    for round in 0..4u64 {
        let producer = tokio::spawn(produce(server.url.clone(), next));
        // Kill at a different point of buffering and delivery each round.
        tokio::time::sleep(Duration::from_millis(700 + 450 * round)).await;
        server.kill();
        let (a, d) = producer.await.unwrap();
        next = a.iter().chain(&d).max().map_or(next, |m| m + 1);
        acked.extend(a);
        doubtful.extend(d);
        server = start(dir.path());
    }
    assert!(acked.len() > 1000, "the producer got records in: {}", acked.len());
    // After the last restart the buffered records are delivered (interval 1 s).
    let mut counts = BTreeMap::new();
    for _ in 0..300 {
        counts = delivered(&server.url).await;
        if acked.iter().all(|n| counts.contains_key(n)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<&u64> = acked.iter().filter(|n| !counts.contains_key(n)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records never delivered, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let twice: Vec<(&u64, &usize)> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        twice.is_empty(),
        "records delivered more than once: {:?}",
        &twice[..twice.len().min(5)]
    );
    let unknown: Vec<&u64> = counts
        .keys()
        .filter(|n| !acked.contains(n) && !doubtful.contains(n))
        .collect();
    assert!(unknown.is_empty(), "records never put: {unknown:?}");
    eprintln!(
        "acknowledged {} records over 4 kills; {} in flight at a kill, {} of them delivered",
        acked.len(),
        doubtful.len(),
        doubtful.iter().filter(|n| counts.contains_key(n)).count()
    );
}
