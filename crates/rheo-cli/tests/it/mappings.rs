//! Event source mappings over real sockets (aws-sdk-lambda, aws-sdk-kinesis, aws-sdk-sqs),
//! driving a Python handler under AWS's runtime client: a poison record retried, bisected
//! and sent to an SQS queue with Lambda's on-failure record; a partial batch response
//! restarting at the failed record; filters; disable and enable resuming from the
//! checkpoint; an SQS source with a partial batch response and the queue's own redrive.

use crate::common::{Options, TestServer, create_active, lambda_client, put};
use crate::lambda::create_python;
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourcePosition, Filter, FilterCriteria, FunctionResponseType, OnFailure,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Appends each invocation's records (data, or SQS bodies) to the file `$OUT`, and fails on
/// records whose data starts with `poison`: by raising, or (MODE=rbif) by reporting the first
/// of them in `batchItemFailures`.
const HANDLER: &str = r#"
import base64
import json
import os


def handler(event, context):
    records = event["Records"]
    if "window" in event:
        summary = {"final": event["isFinalInvokeForWindow"], "state": event["state"], "n": len(records),
                   "window": event["window"], "shard": event["shardId"]}
        with open(os.environ["OUT"], "a") as f:
            f.write(json.dumps({"data": [json.dumps(summary)], "ids": []}) + "\n")
        return {"state": {"count": event["state"].get("count", 0) + len(records)}}
    if os.environ.get("MODE") == "slow":
        import time
        time.sleep(0.05)
    if records[0].get("EventSource") == "aws:sns":
        with open(os.environ["OUT"], "a") as f:
            f.write(json.dumps({"data": [json.dumps(event)], "ids": []}) + "\n")
        return
    if records[0]["eventSource"] == "aws:kinesis":
        data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in records]
        ids = [r["kinesis"]["sequenceNumber"] for r in records]
    else:
        data = [r["body"] for r in records]
        ids = [r["messageId"] for r in records]
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps({"data": data, "ids": ids}) + "\n")
    poison = [i for i, d in zip(ids, data) if d.startswith("poison")]
    if not poison:
        return {}
    if os.environ.get("MODE") == "rbif":
        return {"batchItemFailures": [{"itemIdentifier": i} for i in poison]}
    raise ValueError("poison")
"#;

async fn server() -> TestServer {
    TestServer::with(Options {
        configure: |o| o.functions.python = Some(crate::lambda::test_python()),
        ..Options::default()
    })
    .await
}

/// Creates the Python function writing to a new file; returns the file.
async fn function(c: &aws_sdk_lambda::Client, name: &str, mode: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.jsonl"));
    let out_var = out.display().to_string();
    create_python(c, name, HANDLER, &[("OUT", &out_var), ("MODE", mode)]).await;
    out
}

/// The invocations written so far: each one's data and ids.
fn invocations(out: &Path) -> Vec<(Vec<String>, Vec<String>)> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let strings = |k: &str| -> Vec<String> {
                v[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect()
            };
            (strings("data"), strings("ids"))
        })
        .collect()
}

/// Waits until `done` holds of the invocations (10 s at most).
async fn wait_for(out: &Path, done: impl Fn(&[(Vec<String>, Vec<String>)]) -> bool) -> Vec<(Vec<String>, Vec<String>)> {
    for _ in 0..200 {
        let got = invocations(out);
        if done(&got) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not reached; invocations: {:?}", invocations(out));
}

async fn one_message(sqs: &aws_sdk_sqs::Client, url: &str) -> serde_json::Value {
    for _ in 0..30 {
        let r = sqs
            .receive_message()
            .queue_url(url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = r.messages().first() {
            return serde_json::from_str(m.body().unwrap()).unwrap();
        }
    }
    panic!("no message in {url}");
}

fn delivered(got: &[(Vec<String>, Vec<String>)]) -> Vec<String> {
    let mut all: Vec<String> = got.iter().flat_map(|(d, _)| d.clone()).collect();
    all.sort();
    all.dedup();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_is_retried_bisected_and_sent_to_the_on_failure_queue() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let sqs = s.sqs();
    let dlq = crate::sqs::queue(&sqs, "esm-failures").await;
    let out = function(&c, "consumer", "", dir.path()).await;
    create_active(&k, "orders", 1).await;
    for d in ["a", "b", "poison", "c", "d"] {
        put(&k, "orders", "key", d).await;
    }
    let created = c
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(s.arn("orders"))
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(10)
        .maximum_retry_attempts(1)
        .bisect_batch_on_function_error(true)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(
                    OnFailure::builder()
                        .destination("arn:aws:sqs:us-east-1:000000000000:esm-failures")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.state(), Some("Creating"));
    assert_eq!(created.maximum_record_age_in_seconds(), Some(-1));
    let record = one_message(&sqs, &dlq).await;
    let got = wait_for(&out, |g| delivered(g).contains(&"d".to_owned())).await;
    // The first invocation had all five, in order; the poison record's retries were alone.
    assert_eq!(got[0].0, ["a", "b", "poison", "c", "d"]);
    assert_eq!(delivered(&got), ["a", "b", "c", "d", "poison"]);
    let alone = got.iter().filter(|(d, _)| d == &["poison"]).count();
    assert_eq!(
        alone, 2,
        "bisected down to the poison record, then retried once: {got:?}"
    );
    let poison_seq = got[0].1[2].clone();
    assert_eq!(record["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(
        record["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:consumer"
    );
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responseContext"]["statusCode"], 200);
    assert_eq!(record["version"], "1.0");
    let info = &record["KinesisBatchInfo"];
    assert_eq!(info["shardId"], "shardId-000000000000");
    assert_eq!(info["startSequenceNumber"], poison_seq.as_str());
    assert_eq!(info["endSequenceNumber"], poison_seq.as_str());
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["streamArn"], s.arn("orders").as_str());
    // The last batch succeeded (its answer may come just after its records were written).
    let mut m = c
        .get_event_source_mapping()
        .uuid(created.uuid().unwrap())
        .send()
        .await
        .unwrap();
    for _ in 0..50 {
        if m.last_processing_result() == Some("OK") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        m = c
            .get_event_source_mapping()
            .uuid(created.uuid().unwrap())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(m.state(), Some("Enabled"));
    assert_eq!(m.last_processing_result(), Some("OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_batch_response_restarts_at_the_failed_record() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let sqs = s.sqs();
    let dlq = crate::sqs::queue(&sqs, "rbif-failures").await;
    let out = function(&c, "partial", "rbif", dir.path()).await;
    create_active(&k, "events", 1).await;
    for d in ["a", "b", "poison"] {
        put(&k, "events", "key", d).await;
    }
    c.create_event_source_mapping()
        .function_name("partial")
        .event_source_arn(s.arn("events"))
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(10)
        .maximum_retry_attempts(2)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(
                    OnFailure::builder()
                        .destination("arn:aws:sqs:us-east-1:000000000000:rbif-failures")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let record = one_message(&sqs, &dlq).await;
    let got = invocations(&out);
    assert_eq!(got[0].0, ["a", "b", "poison"]);
    assert!(
        got[1..].iter().all(|(d, _)| d == &["poison"]),
        "retries start at the failed record: {got:?}"
    );
    assert_eq!(got.len(), 3, "the first invocation and two retries");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["responseContext"]["functionError"], serde_json::Value::Null);
    assert_eq!(record["KinesisBatchInfo"]["batchSize"], 1);
    assert_eq!(record["KinesisBatchInfo"]["startSequenceNumber"], got[0].1[2].as_str());
    // Later records flow.
    put(&k, "events", "key", "after").await;
    wait_for(&out, |g| delivered(g).contains(&"after".to_owned())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_drop_records_and_a_disabled_mapping_resumes_from_its_checkpoint() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let out = function(&c, "filtered", "", dir.path()).await;
    create_active(&k, "clicks", 2).await;
    let m = c
        .create_event_source_mapping()
        .function_name("filtered")
        .event_source_arn(s.arn("clicks"))
        .starting_position(EventSourcePosition::Latest)
        .filter_criteria(
            FilterCriteria::builder()
                .filters(Filter::builder().pattern(r#"{"data": {"kind": ["keep"]}}"#).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let uuid = m.uuid().unwrap().to_owned();
    for n in 0..6 {
        let kind = if n % 2 == 0 { "keep" } else { "drop" };
        put(
            &k,
            "clicks",
            &format!("user-{n}"),
            format!(r#"{{"kind":"{kind}","n":{n}}}"#),
        )
        .await;
    }
    let got = wait_for(&out, |g| delivered(g).len() == 3).await;
    assert!(delivered(&got).iter().all(|d| d.contains("keep")), "{got:?}");

    c.update_event_source_mapping()
        .uuid(&uuid)
        .enabled(false)
        .send()
        .await
        .unwrap();
    let off = c.get_event_source_mapping().uuid(&uuid).send().await.unwrap();
    assert_eq!(off.state(), Some("Disabled"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    put(&k, "clicks", "user-9", r#"{"kind":"keep","n":9}"#).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(delivered(&invocations(&out)).len(), 3, "nothing while disabled");
    c.update_event_source_mapping()
        .uuid(&uuid)
        .enabled(true)
        .send()
        .await
        .unwrap();
    let got = wait_for(&out, |g| delivered(g).len() == 4).await;
    let all: Vec<String> = got.iter().flat_map(|(d, _)| d.clone()).collect();
    assert_eq!(all.len(), 4, "no record delivered twice: {all:?}");
    let listed = c
        .list_event_source_mappings()
        .function_name("filtered")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.event_source_mappings().len(), 1);
    let deleted = c.delete_event_source_mapping().uuid(&uuid).send().await.unwrap();
    assert_eq!(deleted.state(), Some("Deleting"));
    let e = c
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqs_source_deletes_what_succeeded_and_the_queue_redrives_the_rest() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let sqs = s.sqs();
    let dlq = crate::sqs::queue(&sqs, "jobs-dlq").await;
    let jobs = sqs
        .create_queue()
        .queue_name("jobs")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "2")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"2"}"#,
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let out = function(&c, "worker", "rbif", dir.path()).await;
    for body in ["one", "poison-job", "two"] {
        sqs.send_message()
            .queue_url(&jobs)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let m = c
        .create_event_source_mapping()
        .function_name("worker")
        .event_source_arn("arn:aws:sqs:us-east-1:000000000000:jobs")
        .batch_size(10)
        .maximum_batching_window_in_seconds(1)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await
        .unwrap();
    assert_eq!(m.state_transition_reason(), Some("USER_INITIATED"));
    // The poison job comes back after its visibility timeout (the test clock jumps past it
    // once the batch was handled), then goes to the DLQ by the queue's RedrivePolicy.
    let in_flight = || async {
        let a = sqs
            .get_queue_attributes()
            .queue_url(&jobs)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let a = a.attributes().unwrap().clone();
        (
            a[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages].clone(),
            a[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible].clone(),
        )
    };
    for round in 1..=2 {
        wait_for(&out, |g| {
            g.iter().filter(|(d, _)| d.contains(&"poison-job".to_owned())).count() >= round
        })
        .await;
        // Handled: the others deleted, the poison job in flight.
        for _ in 0..100 {
            if in_flight().await == ("0".to_owned(), "1".to_owned()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(in_flight().await, ("0".to_owned(), "1".to_owned()), "round {round}");
        s.clock.advance_ms(3_000);
    }
    let dead = {
        let mut body = None;
        for _ in 0..30 {
            let r = sqs
                .receive_message()
                .queue_url(&dlq)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if let Some(m) = r.messages().first() {
                body = m.body().map(str::to_owned);
                break;
            }
        }
        body.unwrap_or_else(|| {
            panic!(
                "the poison job reached the queue's DLQ; invocations: {:?}",
                invocations(&out)
            )
        })
    };
    assert_eq!(dead, "poison-job");
    let got = invocations(&out);
    assert_eq!(delivered(&got), ["one", "poison-job", "two"]);
    assert_eq!(
        got.iter().filter(|(d, _)| d.contains(&"one".to_owned())).count(),
        1,
        "done once: {got:?}"
    );
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&jobs)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let a = attrs.attributes().unwrap();
    assert_eq!(
        a[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
        "0"
    );
    assert_eq!(
        a[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible],
        "0"
    );
}

/// A `lambda` subscription: each publish invokes the function asynchronously with SNS's
/// Lambda event (`…Url` spellings, a null Subject when none was given).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_delivers_to_a_function_subscription() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let sns = crate::common::sns_client(&s.url());
    let out = function(&c, "subscriber", "", dir.path()).await;
    let topic = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("lambda")
        .endpoint("arn:aws:lambda:us-east-1:000000000000:function:subscriber")
        .send()
        .await
        .unwrap();
    sns.publish()
        .topic_arn(&topic)
        .message("disk almost full")
        .message_attributes(
            "level",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("warn")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = wait_for(&out, |g| !g.is_empty()).await;
    let event: serde_json::Value = serde_json::from_str(&got[0].0[0]).unwrap();
    let r = &event["Records"][0];
    assert_eq!(r["EventSource"], "aws:sns");
    assert_eq!(r["EventVersion"], "1.0");
    assert_eq!(r["EventSubscriptionArn"], sub.subscription_arn().unwrap());
    let n = &r["Sns"];
    assert_eq!(n["Type"], "Notification");
    assert_eq!(n["TopicArn"], topic.as_str());
    assert_eq!(n["Message"], "disk almost full");
    assert_eq!(n["Subject"], serde_json::Value::Null);
    assert_eq!(
        n["MessageAttributes"]["level"],
        serde_json::json!({"Type": "String", "Value": "warn"})
    );
    assert!(
        n["SigningCertUrl"]
            .as_str()
            .unwrap()
            .contains("/SimpleNotificationService-")
    );
    assert!(n["UnsubscribeUrl"].as_str().unwrap().contains("Action=Unsubscribe"));
    assert!(!n["Signature"].as_str().unwrap().is_empty());
}

/// ParallelizationFactor 4: records of many partition keys run in four lanes at once, each
/// key's records in order, none skipped or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelization_keeps_order_per_partition_key() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let out = function(&c, "parallel", "slow", dir.path()).await;
    create_active(&k, "busy", 1).await;
    for n in 0..5 {
        for key in ["k0", "k1", "k2", "k3", "k4", "k5"] {
            put(&k, "busy", key, format!("{key}:{n}")).await;
        }
    }
    c.create_event_source_mapping()
        .function_name("parallel")
        .event_source_arn(s.arn("busy"))
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(2)
        .parallelization_factor(4)
        .send()
        .await
        .unwrap();
    let got = wait_for(&out, |g| g.iter().map(|(d, _)| d.len()).sum::<usize>() >= 30).await;
    let all: Vec<String> = got.iter().flat_map(|(d, _)| d.clone()).collect();
    assert_eq!(all.len(), 30, "each record once: {all:?}");
    for key in ["k0", "k1", "k2", "k3", "k4", "k5"] {
        let order: Vec<u32> = all
            .iter()
            .filter_map(|d| d.strip_prefix(&format!("{key}:")))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(order, [0, 1, 2, 3, 4], "order of {key}");
    }
    assert!(got.iter().all(|(d, _)| d.len() <= 2), "batches of BatchSize");
}

/// A tumbling window: its invocations carry the state the previous one returned, and it ends
/// with a final invocation once its end has passed (the test clock moves past it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tumbling_window_carries_state_and_ends_with_a_final_invocation() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let out = function(&c, "windowed", "", dir.path()).await;
    create_active(&k, "metrics", 1).await;
    c.create_event_source_mapping()
        .function_name("windowed")
        .event_source_arn(s.arn("metrics"))
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(2)
        .tumbling_window_in_seconds(60)
        .send()
        .await
        .unwrap();
    // Align the clock to a window's start, so that all records fall in one window.
    let now = s.clock_now();
    s.clock.advance_ms(60_000 - now.rem_euclid(60_000) + 1);
    for n in 0..3 {
        put(&k, "metrics", "k", format!("m{n}")).await;
    }
    let summaries = |g: &[(Vec<String>, Vec<String>)]| -> Vec<serde_json::Value> {
        g.iter().map(|(d, _)| serde_json::from_str(&d[0]).unwrap()).collect()
    };
    let got = wait_for(&out, |g| {
        summaries(g).iter().map(|v| v["n"].as_u64().unwrap()).sum::<u64>() == 3
    })
    .await;
    let first = summaries(&got);
    assert_eq!(first[0]["state"], serde_json::json!({}));
    assert_eq!(first[0]["final"], false);
    assert_eq!(
        first[1]["state"],
        serde_json::json!({"count": first[0]["n"]}),
        "the state the first invocation returned"
    );
    assert_eq!(first[0]["shard"], "shardId-000000000000");
    let start = first[0]["window"]["start"].as_str().unwrap().to_owned();
    assert!(start.ends_with(":00Z"), "{start}");
    s.clock.advance_ms(61_000);
    let got = wait_for(&out, |g| summaries(g).iter().any(|v| v["final"] == true)).await;
    let last = summaries(&got).into_iter().find(|v| v["final"] == true).unwrap();
    assert_eq!(last["state"], serde_json::json!({"count": 3}));
    assert_eq!(last["n"], 0);
    assert_eq!(last["window"]["start"], start.as_str());
    // The next record starts a new window from an empty state.
    put(&k, "metrics", "k", "m3").await;
    let got = wait_for(&out, |g| summaries(g).len() == 4).await;
    let next = &summaries(&got)[3];
    assert_eq!(next["state"], serde_json::json!({}));
    assert_ne!(next["window"]["start"], start.as_str());
}

/// A reshard during a mapping: the parent shard is processed to its end before its children,
/// so each key's records arrive in order across it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reshard_finishes_parents_before_children() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let out = function(&c, "resharded", "slow", dir.path()).await;
    create_active(&k, "growing", 1).await;
    c.create_event_source_mapping()
        .function_name("resharded")
        .event_source_arn(s.arn("growing"))
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(3)
        .send()
        .await
        .unwrap();
    let keys = ["a", "b", "c", "d"];
    for n in 0..6 {
        for key in keys {
            put(&k, "growing", key, format!("{key}:{n}")).await;
        }
    }
    k.update_shard_count()
        .stream_name("growing")
        .target_shard_count(2)
        .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
        .send()
        .await
        .unwrap();
    crate::common::wait_active(&k, "growing").await;
    for n in 6..12 {
        for key in keys {
            put(&k, "growing", key, format!("{key}:{n}")).await;
        }
    }
    let got = wait_for(&out, |g| g.iter().map(|(d, _)| d.len()).sum::<usize>() >= 48).await;
    let all: Vec<String> = got.iter().flat_map(|(d, _)| d.clone()).collect();
    assert_eq!(all.len(), 48, "each record once: {all:?}");
    for key in keys {
        let order: Vec<u32> = all
            .iter()
            .filter_map(|d| d.strip_prefix(&format!("{key}:")))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(order, (0..12).collect::<Vec<u32>>(), "order of {key}");
    }
}

/// A handler written with aws-lambda-powertools' batch processor (its answers are
/// ReportBatchItemFailures responses): the retries start at the record it reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_powertools_batch_processor_reports_its_failed_records() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let sqs = s.sqs();
    let dlq = crate::sqs::queue(&sqs, "powertools-failures").await;
    let out = dir.path().join("powertools.jsonl");
    let handler = r#"
import json
import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


def record_handler(record):
    data = record.kinesis.data_as_text()
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps({"data": [data], "ids": [record.kinesis.sequence_number]}) + "\n")
    if data.startswith("poison"):
        raise ValueError("poison")


def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
"#;
    let out_var = out.display().to_string();
    create_python(&c, "powertools", handler, &[("OUT", &out_var)]).await;
    create_active(&k, "powered", 1).await;
    for d in ["a", "b", "poison", "c"] {
        put(&k, "powered", "key", d).await;
    }
    c.create_event_source_mapping()
        .function_name("powertools")
        .event_source_arn(s.arn("powered"))
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(10)
        .maximum_retry_attempts(1)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(
                    OnFailure::builder()
                        .destination("arn:aws:sqs:us-east-1:000000000000:powertools-failures")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let record = one_message(&sqs, &dlq).await;
    let got: Vec<String> = invocations(&out).into_iter().flat_map(|(d, _)| d).collect();
    // The first invocation saw every record; the retry started at the reported one.
    assert_eq!(got[..4], ["a", "b", "poison", "c"]);
    assert_eq!(got[4..], ["poison", "c"], "{got:?}");
    let poison_seq = invocations(&out)[2].1[0].clone();
    assert_eq!(record["KinesisBatchInfo"]["startSequenceNumber"], poison_seq.as_str());
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(record["responseContext"]["functionError"], serde_json::Value::Null);
}

/// A mapping reading through an enhanced fan-out consumer's ARN gets its stream's records; an
/// unknown consumer is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_arn_feeds_a_function() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let out = function(&c, "fanned", "", dir.path()).await;
    create_active(&k, "fan", 1).await;
    let consumer = k
        .register_stream_consumer()
        .stream_arn(s.arn("fan"))
        .consumer_name("lambda")
        .send()
        .await
        .unwrap()
        .consumer
        .unwrap()
        .consumer_arn;
    let e = c
        .create_event_source_mapping()
        .function_name("fanned")
        .event_source_arn(format!("{}/consumer/nobody:1", s.arn("fan")))
        .starting_position(EventSourcePosition::TrimHorizon)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_parameter_value_exception(), "{e:?}");
    let m = c
        .create_event_source_mapping()
        .function_name("fanned")
        .event_source_arn(&consumer)
        .starting_position(EventSourcePosition::TrimHorizon)
        .send()
        .await
        .unwrap();
    assert_eq!(m.event_source_arn(), Some(consumer.as_str()));
    put(&k, "fan", "k", "through the consumer").await;
    let got = wait_for(&out, |g| !g.is_empty()).await;
    assert_eq!(got[0].0, ["through the consumer"]);
}

/// A Kinesis queue as an event source (Rheo's extension): records reach the function in
/// Kinesis's shape; those it reports failed (by RecordId, its sequence number) stay in the
/// queue, come back after its visibility timeout, and become its dead letters after
/// MaxReceiveCount receives; the others are acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kinesis_queue_feeds_a_function_and_keeps_its_failures() {
    use crate::kinesis_queues::{create_queue, on_demand, receive};
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let out = function(&c, "queued", "rbif", dir.path()).await;
    on_demand(&k, "jobs-stream").await;
    let queue = create_queue(
        &s.url(),
        &s.arn("jobs-stream"),
        "jobs",
        serde_json::json!({"VisibilityTimeoutSeconds": 2, "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 2}}),
        "TRIM_HORIZON",
    )
    .await;
    for d in ["one", "poison-job", "two"] {
        put(&k, "jobs-stream", d, d).await;
    }
    let m = c
        .create_event_source_mapping()
        .function_name("queued")
        .event_source_arn(&queue)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await
        .unwrap();
    assert_eq!(m.event_source_arn(), Some(queue.as_str()));
    wait_for(&out, |g| delivered(g) == ["one", "poison-job", "two"]).await;
    // The batch is settled (its successes acknowledged) before the clock moves.
    let uuid = m.uuid().unwrap();
    for _ in 0..100 {
        let got = c.get_event_source_mapping().uuid(uuid).send().await.unwrap();
        if got.last_processing_result() == Some("OK") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The poison job comes back once its visibility ends (the test clock jumps), then is a
    // dead letter; the others were acknowledged.
    let mut dead = Vec::new();
    for _ in 0..40 {
        s.clock.advance_ms(2_500);
        dead = receive(&s.url(), "ReceiveDeadLetterQueueRecords", &queue, 1).await;
        if !dead.is_empty() {
            break;
        }
    }
    assert_eq!(dead.len(), 1, "the poison job is the queue's dead letter");
    let got = invocations(&out);
    let poison_runs = got.iter().filter(|(d, _)| d.contains(&"poison-job".to_owned())).count();
    assert_eq!(poison_runs, 2, "received MaxReceiveCount times: {got:?}");
    assert_eq!(
        got.iter().filter(|(d, _)| d.contains(&"one".to_owned())).count(),
        1,
        "{got:?}"
    );
    assert!(receive(&s.url(), "ReceiveQueueRecords", &queue, 1).await.is_empty());
}

/// StartingPosition AT_TIMESTAMP starts at the first record that arrived then; an SNS topic
/// as the OnFailure destination gets Lambda's on-failure record as its message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_timestamp_starts_where_asked_and_failures_reach_an_sns_topic() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let c = lambda_client(&s.url());
    let k = s.client();
    let sqs = s.sqs();
    let sns = crate::common::sns_client(&s.url());
    let out = function(&c, "timed", "", dir.path()).await;
    create_active(&k, "timed-stream", 1).await;
    put(&k, "timed-stream", "k", "before").await;
    s.clock.advance_ms(10_000);
    let from = s.clock_now();
    s.clock.advance_ms(1_000);
    put(&k, "timed-stream", "k", "poison-after").await;
    put(&k, "timed-stream", "k", "after").await;
    let topic = sns
        .create_topic()
        .name("esm-failures")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let box_url = crate::sqs::queue(&sqs, "esm-failures-box").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:000000000000:esm-failures-box")
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    c.create_event_source_mapping()
        .function_name("timed")
        .event_source_arn(s.arn("timed-stream"))
        .starting_position(EventSourcePosition::AtTimestamp)
        .starting_position_timestamp(aws_sdk_lambda::primitives::DateTime::from_millis(from))
        .maximum_retry_attempts(0)
        .bisect_batch_on_function_error(true)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&topic).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let record = one_message(&sqs, &box_url).await;
    let got = wait_for(&out, |g| delivered(g).contains(&"after".to_owned())).await;
    assert!(
        !delivered(&got).contains(&"before".to_owned()),
        "started at the timestamp: {got:?}"
    );
    assert_eq!(record["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["KinesisBatchInfo"]["batchSize"], 1);
    let e = c
        .create_event_source_mapping()
        .function_name("timed")
        .event_source_arn(s.arn("timed-stream"))
        .starting_position(EventSourcePosition::AtTimestamp)
        .starting_position_timestamp(aws_sdk_lambda::primitives::DateTime::from_millis(
            s.clock_now() + 3_600_000,
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        e.is_invalid_parameter_value_exception(),
        "a timestamp in the future: {e:?}"
    );
}
