//! What event source mappings send and read, as Lambda defines them (pure): the Kinesis and
//! SQS events, the on-failure invocation record, the reading of a ReportBatchItemFailures
//! response, and event filters.

use base64::Engine as _;
use rheo_engine::kqueues::FeedRecord;
use rheo_queues::Received;
use serde_json::{Value, json};

/// One Kinesis record as a function receives it.
pub fn kinesis_record(r: &FeedRecord, shard: &str, stream_arn: &str, region: &str, role: &str) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key,
            "sequenceNumber": r.sequence_number.to_string(),
            "data": base64::engine::general_purpose::STANDARD.encode(&r.data),
            "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{shard}:{}", r.sequence_number),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    })
}

/// An upper bound of the bytes `r` takes in a Kinesis event (its JSON text and a comma),
/// found without writing it: the data in base64, the partition key escaped at worst, and
/// `context`, the length of the shard id, stream ARN, region and role it also names; 512 covers
/// the rest (the field names, about 290 bytes, two sequence numbers of at most 58 digits and the
/// arrival time).
pub fn kinesis_record_bound(r: &FeedRecord, context: usize) -> usize {
    r.data
        .len()
        .div_ceil(3)
        .saturating_mul(4)
        .saturating_add(r.partition_key.len().saturating_mul(6))
        .saturating_add(context)
        .saturating_add(512)
}

/// One SQS message as a function receives it.
pub fn sqs_record(m: &Received, queue_arn: &str, region: &str) -> Value {
    let msg = &m.message;
    let mut attributes = json!({
        "ApproximateReceiveCount": msg.receive_count.to_string(),
        "SentTimestamp": msg.sent_ms.to_string(),
        "SenderId": msg.sender,
        "ApproximateFirstReceiveTimestamp": msg.first_receive_ms.unwrap_or(msg.sent_ms).to_string(),
    });
    if let Some(o) = attributes.as_object_mut() {
        if let Some(s) = msg.sequence {
            o.insert("SequenceNumber".into(), s.to_string().into());
        }
        if let Some(g) = &msg.group {
            o.insert("MessageGroupId".into(), g.clone().into());
        }
        if let Some(d) = &msg.dedup_id {
            o.insert("MessageDeduplicationId".into(), d.clone().into());
        }
        if let Some(t) = &msg.trace_header {
            o.insert("AWSTraceHeader".into(), t.clone().into());
        }
        if let Some(src) = &msg.dead_letter_source {
            o.insert("DeadLetterQueueSourceArn".into(), src.clone().into());
        }
    }
    let message_attributes: serde_json::Map<String, Value> = msg
        .attributes
        .iter()
        .map(|a| {
            let value = match &a.value {
                rheo_queues::AttributeValue::String(s) => {
                    json!({"stringValue": s, "stringListValues": [], "binaryListValues": [], "dataType": a.data_type})
                }
                rheo_queues::AttributeValue::Binary(b) => json!({
                    "binaryValue": base64::engine::general_purpose::STANDARD.encode(b),
                    "stringListValues": [], "binaryListValues": [], "dataType": a.data_type,
                }),
            };
            (a.name.clone(), value)
        })
        .collect();
    json!({
        "messageId": msg.id,
        "receiptHandle": m.receipt_handle,
        "body": String::from_utf8_lossy(&msg.body),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": rheo_queues::message::md5_hex(&msg.body),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
}

/// What a function's answer says of a batch it was given with ReportBatchItemFailures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResponse {
    /// Every record succeeded.
    Success,
    /// The records from this index of the batch on are to be retried (Kinesis: the lowest
    /// reported), or (SQS) these indexes failed.
    Failed(Vec<usize>),
    /// A malformed answer: the whole batch failed.
    Invalid,
}

/// Reads a ReportBatchItemFailures answer against the batch's item identifiers (sequence
/// numbers, or SQS message ids), by Lambda's table: an empty body, `null`, `[]`, `{}` and an
/// empty or null `batchItemFailures` are success; an item whose `itemIdentifier` is missing,
/// empty, not a string or not in the batch makes the whole batch fail.
pub fn batch_response(body: &[u8], ids: &[String]) -> BatchResponse {
    if body.iter().all(u8::is_ascii_whitespace) {
        return BatchResponse::Success;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return BatchResponse::Invalid;
    };
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return BatchResponse::Success,
        Some(Value::Array(items)) if items.is_empty() => return BatchResponse::Success,
        Some(Value::Array(items)) => items,
        Some(_) => return BatchResponse::Invalid,
    };
    let mut out = Vec::new();
    for item in failures {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        match id.and_then(|id| ids.iter().position(|x| x == id)) {
            Some(i) => out.push(i),
            None => return BatchResponse::Invalid,
        }
    }
    out.sort_unstable();
    out.dedup();
    BatchResponse::Failed(out)
}

/// Whether a record passes a mapping's filters: any pattern matches (none: all pass).
/// `record` is what the patterns name: for Kinesis the `kinesis` object with `data` decoded
/// (as JSON when it is JSON), for SQS the record with `body` decoded likewise.
pub fn passes(filters: &[Value], record: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| rheo_queues::filter::matches_document(f, record))
}

/// The records that pass a mapping's FilterCriteria patterns (JSON strings, checked when the
/// mapping was saved).
pub fn filter_records(patterns: &[String], records: Vec<FeedRecord>) -> Vec<FeedRecord> {
    let filters: Vec<Value> = patterns.iter().filter_map(|f| serde_json::from_str(f).ok()).collect();
    records
        .into_iter()
        .filter(|r| passes(&filters, &kinesis_filter_doc(r)))
        .collect()
}

/// The document Kinesis filters are matched against: the record's `kinesis` fields, `data`
/// decoded and parsed when it is JSON. A pattern on `data` never matches data that is not.
pub fn kinesis_filter_doc(r: &FeedRecord) -> Value {
    let data = serde_json::from_slice::<Value>(&r.data).unwrap_or(Value::Null);
    json!({
        "partitionKey": r.partition_key,
        "sequenceNumber": r.sequence_number.to_string(),
        "data": data,
        "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
    })
}

/// The document SQS filters are matched against: the record with `body` parsed when it is
/// JSON.
pub fn sqs_filter_doc(record: &Value) -> Value {
    let mut doc = record.clone();
    if let Some(body) = record.get("body").and_then(Value::as_str)
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
        && let Some(o) = doc.as_object_mut()
    {
        o.insert("body".into(), parsed);
    }
    doc
}

/// The batch an on-failure record describes.
pub struct FailedBatch<'a> {
    pub shard: &'a str,
    pub first: &'a FeedRecord,
    pub last: &'a FeedRecord,
    pub size: usize,
    pub stream_arn: &'a str,
}

/// Lambda's invocation record for a discarded Kinesis batch. `function_error`: `None` when the
/// batch was never run (its records too old); `Some(None)` for a malformed answer.
pub fn on_failure_record(
    request_id: &str,
    function_arn: &str,
    condition: &str,
    invoke_count: u32,
    function_error: Option<Option<&str>>,
    batch: &FailedBatch<'_>,
    now_ms: i64,
) -> Value {
    let iso = rheo_functions::service::iso8601;
    let mut v = json!({
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "version": "1.0",
        "timestamp": iso(now_ms),
        "KinesisBatchInfo": {
            "shardId": batch.shard,
            "startSequenceNumber": batch.first.sequence_number.to_string(),
            "endSequenceNumber": batch.last.sequence_number.to_string(),
            "approximateArrivalOfFirstRecord": iso(batch.first.arrival_ms),
            "approximateArrivalOfLastRecord": iso(batch.last.arrival_ms),
            "batchSize": batch.size,
            "streamArn": batch.stream_arn,
        },
    });
    if let (Some(error), Some(o)) = (function_error, v.as_object_mut()) {
        o.insert(
            "responseContext".into(),
            json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": error}),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound is never below the record's written length, at the largest numbers and keys
    /// that need escaping.
    #[test]
    fn kinesis_record_bound_covers_the_record() {
        let seq = rheo_types::SequenceNumber {
            counter: u64::MAX,
            shard: u32::MAX,
            epoch_s: 16_025_174_999,
        };
        for (key, data) in [("k", vec![]), ("\u{1}\"\\", vec![0xff; 1000]), ("é", vec![1; 2])] {
            let r = FeedRecord {
                key: u64::MAX,
                sequence_number: seq,
                arrival_ms: i64::MAX,
                partition_key: key.repeat(256),
                data: data.into(),
            };
            let (shard, arn, region, role) = (
                "shardId-000000000000",
                "arn:aws:kinesis:us-east-1:000000000000:stream/s",
                "us-east-1",
                "",
            );
            let written = kinesis_record(&r, shard, arn, region, role).to_string().len() + 1;
            let context = shard.len() + arn.len() + region.len() + role.len();
            assert!(kinesis_record_bound(&r, context) >= written, "{key:?}");
        }
    }

    fn ids() -> Vec<String> {
        vec!["1".into(), "2".into(), "3".into()]
    }

    /// Lambda's table of answers (AWS-validated, research note §1.5).
    #[test]
    fn batch_responses_follow_lambdas_table() {
        for ok in [
            "",
            "  ",
            "null",
            "[]",
            "{}",
            r#"{"batchItemFailures": []}"#,
            r#"{"batchItemFailures": null}"#,
            "\"done\"",
        ] {
            assert_eq!(batch_response(ok.as_bytes(), &ids()), BatchResponse::Success, "{ok}");
        }
        for bad in [
            r#"{"batchItemFailures": [{"itemIdentifier": 123}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
            r#"{"batchItemFailures": [{"foo": 123}]}"#,
            r#"{"batchItemFailures": [{"foo": null}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": "9"}]}"#,
            r#"{"batchItemFailures": "x"}"#,
            "not json",
        ] {
            assert_eq!(batch_response(bad.as_bytes(), &ids()), BatchResponse::Invalid, "{bad}");
        }
        assert_eq!(
            batch_response(
                br#"{"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}"#,
                &ids()
            ),
            BatchResponse::Failed(vec![1, 2])
        );
    }

    #[test]
    fn filters_match_decoded_json_data() {
        let r = FeedRecord {
            key: 1,
            sequence_number: rheo_types::SequenceNumber {
                counter: 1,
                shard: 0,
                epoch_s: 1_700_000_000,
            },
            arrival_ms: 1_700_000_000_123,
            partition_key: "k".into(),
            data: bytes::Bytes::from_static(br#"{"kind": "order", "total": 12}"#),
        };
        let doc = kinesis_filter_doc(&r);
        let pattern = |p: &str| serde_json::from_str::<Value>(p).unwrap();
        assert!(passes(&[], &doc));
        assert!(passes(&[pattern(r#"{"data": {"kind": ["order"]}}"#)], &doc));
        assert!(!passes(&[pattern(r#"{"data": {"kind": ["refund"]}}"#)], &doc));
        assert!(passes(
            &[
                pattern(r#"{"data": {"kind": ["refund"]}}"#),
                pattern(r#"{"partitionKey": ["k"]}"#)
            ],
            &doc
        ));
        assert!(passes(
            &[pattern(r#"{"data": {"total": [{"numeric": [">", 10]}]}}"#)],
            &doc
        ));
        let record = kinesis_record(&r, "shardId-000000000000", "arn:s", "us-east-1", "arn:role");
        assert_eq!(record["kinesis"]["approximateArrivalTimestamp"], 1_700_000_000.123);
        assert_eq!(record["eventID"], format!("shardId-000000000000:{}", r.sequence_number));
    }
}
