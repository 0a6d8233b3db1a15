//! Crash safety of delivery streams: records put (PutRecordBatch) while the server is SIGKILLed
//! again and again, during buffering, transformation (a function that passes records through,
//! through the Lambda Runtime API), partitioning (a buffer per partition, from a jq query) and
//! object writes. In the end every acknowledged record is in exactly one delivered object, and
//! no record is in two.

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
    let query = crate::firehose::processor(
        ProcessorType::MetadataExtraction,
        &[
            (
                ProcessorParameterName::MetadataExtractionQuery,
                "{part: (.n % 7 | tostring)}",
            ),
            (ProcessorParameterName::JsonParsingEngine, "JQ-1.6"),
        ],
    );
    let parts = ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::000000000000:role/r")
        .bucket_arn("arn:aws:s3:::crash")
        .prefix("parts/p=!{partitionKeyFromQuery:part}/")
        .error_output_prefix("part-errors/!{firehose:error-output-type}/")
        .compression_format(CompressionFormat::Gzip)
        .buffering_hints(BufferingHints::builder().size_in_mbs(64).interval_in_seconds(1).build())
        .dynamic_partitioning_configuration(crate::firehose::dynamic())
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(query)
                .build(),
        )
        .build()
        .unwrap();
    firehose_client(url)
        .create_delivery_stream()
        .delivery_stream_name("crashy-parts")
        .extended_s3_destination_configuration(parts)
        .send()
        .await
        .unwrap();
}

/// The streams and the prefixes they deliver under.
const STREAMS: [(&str, &str); 2] = [("crashy", "out/"), ("crashy-parts", "parts/")];

fn no_retries(c: aws_sdk_firehose::Client) -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::from_conf(
        c.config()
            .to_builder()
            .retry_config(aws_sdk_firehose::config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// Puts batches of numbered records until the server dies; the numbers acknowledged.
async fn produce(url: String, stream: &'static str, from: u64) -> (BTreeSet<u64>, BTreeSet<u64>) {
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
            .delivery_stream_name(stream)
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
async fn delivered(url: &str, prefix: &str) -> BTreeMap<u64, usize> {
    let s3 = s3_client(url);
    let mut counts = BTreeMap::new();
    let mut token = None;
    loop {
        let out = s3
            .list_objects_v2()
            .bucket("crash")
            .prefix(prefix)
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
    let mut acked = [BTreeSet::new(), BTreeSet::new()];
    let mut doubtful = [BTreeSet::new(), BTreeSet::new()];
    let mut next = 0u64;
    for round in 0..4u64 {
        let producers: Vec<_> = STREAMS
            .iter()
            .map(|(stream, _)| tokio::spawn(produce(server.url.clone(), stream, next)))
            .collect();
        // Kill at a different point of buffering and delivery each round.
        tokio::time::sleep(Duration::from_millis(700 + 450 * round)).await;
        server.kill();
        for (i, p) in producers.into_iter().enumerate() {
            let (a, d) = p.await.unwrap();
            next = a.iter().chain(&d).max().map_or(next, |m| next.max(m + 1));
            acked[i].extend(a);
            doubtful[i].extend(d);
        }
        server = start(dir.path());
    }
    for (i, (stream, prefix)) in STREAMS.iter().enumerate() {
        check(&server, stream, prefix, &acked[i], &doubtful[i]).await;
    }
}

async fn check(server: &ChildServer, stream: &str, prefix: &str, acked: &BTreeSet<u64>, doubtful: &BTreeSet<u64>) {
    assert!(
        acked.len() > 1000,
        "the producer got records into {stream}: {}",
        acked.len()
    );
    // After the last restart the buffered records are delivered (interval 1 s).
    let mut counts = BTreeMap::new();
    for _ in 0..300 {
        counts = delivered(&server.url, prefix).await;
        if acked.iter().all(|n| counts.contains_key(n)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<&u64> = acked.iter().filter(|n| !counts.contains_key(n)).collect();
    assert!(
        missing.is_empty(),
        "{stream}: {} acknowledged records never delivered, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let twice: Vec<(&u64, &usize)> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        twice.is_empty(),
        "{stream}: records delivered more than once: {:?}",
        &twice[..twice.len().min(5)]
    );
    let unknown: Vec<&u64> = counts
        .keys()
        .filter(|n| !acked.contains(n) && !doubtful.contains(n))
        .collect();
    assert!(unknown.is_empty(), "{stream}: records never put: {unknown:?}");
    eprintln!(
        "{stream}: acknowledged {} records over 4 kills; {} in flight at a kill, {} of them delivered",
        acked.len(),
        doubtful.len(),
        doubtful.iter().filter(|n| counts.contains_key(n)).count()
    );
}
