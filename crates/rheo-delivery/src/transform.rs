//! The data-transformation function's contract (the Firehose developer guide, "Transform
//! source data"), pure: the event a function is given, its answer read back per record, and
//! the JSON document a failed record becomes under the error prefix.
//!
//! Event: `{invocationId, deliveryStreamArn, region, records[{recordId,
//! approximateArrivalTimestamp (ms), data (base64)}]}`. Answer: `{records[{recordId, result:
//! Ok | Dropped | ProcessingFailed, data (base64), metadata?}]}`. A record the answer does not
//! name, names twice, or gives an unknown result is a failure; so is every record of a call
//! that failed (after its retries).

use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;

/// A record as the function is given it.
#[derive(Debug, Clone)]
pub struct InRecord<'a> {
    pub record_id: &'a str,
    pub arrival_ms: i64,
    pub data: &'a [u8],
    /// Where a record read from a Kinesis stream came from.
    pub kinesis: Option<KinesisMeta>,
}

/// `kinesisRecordMetadata`.
#[derive(Debug, Clone)]
pub struct KinesisMeta {
    pub shard_id: String,
    pub subsequence: u32,
    pub partition_key: String,
    pub sequence_number: String,
    pub arrival_ms: i64,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered, with the partition keys the function gave (`metadata.partitionKeys`).
    Ok {
        data: Vec<u8>,
        keys: Option<std::collections::BTreeMap<String, String>>,
    },
    Dropped,
    /// `attempts`: the calls made for it.
    Failed {
        code: String,
        message: String,
        attempts: u32,
    },
}

/// The event for one invocation.
pub fn event(
    invocation_id: &str,
    stream_arn: &str,
    source_arn: Option<&str>,
    region: &str,
    records: &[InRecord<'_>],
) -> Vec<u8> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({
                "recordId": r.record_id,
                "approximateArrivalTimestamp": r.arrival_ms,
                "data": b64.encode(r.data),
            });
            if let Some(k) = &r.kinesis {
                v["kinesisRecordMetadata"] = serde_json::json!({
                    "shardId": k.shard_id,
                    "partitionKey": k.partition_key,
                    "approximateArrivalTimestamp": k.arrival_ms,
                    "sequenceNumber": k.sequence_number,
                    "subsequenceNumber": k.subsequence,
                });
            }
            v
        })
        .collect();
    let mut event = serde_json::json!({
        "invocationId": invocation_id,
        "deliveryStreamArn": stream_arn,
        "region": region,
        "records": records,
    });
    if let Some(a) = source_arn {
        event["sourceKinesisStreamArn"] = serde_json::json!(a);
    }
    event.to_string().into_bytes()
}

#[derive(Deserialize)]
struct Answer {
    records: Vec<AnswerRecord>,
}

#[derive(Deserialize)]
struct AnswerRecord {
    #[serde(rename = "recordId")]
    record_id: Option<String>,
    result: Option<String>,
    data: Option<String>,
    metadata: Option<AnswerMetadata>,
}

#[derive(Deserialize)]
struct AnswerMetadata {
    #[serde(rename = "partitionKeys")]
    partition_keys: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// Reads a function's answer: one outcome per given record, in their order.
pub fn outcomes(records: &[InRecord<'_>], answer: &[u8]) -> Vec<Outcome> {
    let fail_all = |code: &str, message: &str| {
        records
            .iter()
            .map(|_| Outcome::Failed {
                code: code.to_owned(),
                message: message.to_owned(),
                attempts: 1,
            })
            .collect()
    };
    let answer: Answer = match serde_json::from_slice(answer) {
        Ok(a) => a,
        Err(e) => {
            return fail_all(
                "Lambda.JsonProcessingException",
                &format!("The function's response could not be read: {e}"),
            );
        }
    };
    let mut by_id: HashMap<String, AnswerRecord> = HashMap::new();
    let mut duplicated = Vec::new();
    for r in answer.records {
        let Some(id) = r.record_id.clone() else { continue };
        if by_id.insert(id.clone(), r).is_some() {
            duplicated.push(id);
        }
    }
    records
        .iter()
        .map(|r| {
            if duplicated.iter().any(|d| d == r.record_id) {
                return failed(
                    "Lambda.DuplicatedRecordId",
                    "The record id was returned more than once.",
                );
            }
            let Some(a) = by_id.remove(r.record_id) else {
                return failed("Lambda.MissingRecordId", "The record id was not returned.");
            };
            match a.result.as_deref() {
                Some("Ok") => match base64::engine::general_purpose::STANDARD.decode(a.data.unwrap_or_default()) {
                    Ok(data) => Outcome::Ok {
                        data,
                        keys: a.metadata.and_then(|m| m.partition_keys).map(|k| {
                            k.into_iter()
                                .filter_map(|(name, v)| crate::jq::key_text(&v).map(|t| (name, t)))
                                .collect()
                        }),
                    },
                    Err(_) => failed("Lambda.InvalidData", "The returned data is not valid base64."),
                },
                Some("Dropped") => Outcome::Dropped,
                Some("ProcessingFailed") => failed(
                    "Lambda.ProcessingFailedStatus",
                    "The function marked the record ProcessingFailed.",
                ),
                other => failed(
                    "Lambda.InvalidResult",
                    &format!("The result {other:?} is not Ok, Dropped or ProcessingFailed."),
                ),
            }
        })
        .collect()
}

fn failed(code: &str, message: &str) -> Outcome {
    Outcome::Failed {
        code: code.to_owned(),
        message: message.to_owned(),
        attempts: 1,
    }
}

/// A failed record as it is written under the error prefix (one JSON document per line).
pub struct ErrorRecord<'a> {
    pub attempts_made: u32,
    pub arrival_ms: i64,
    pub code: &'a str,
    pub message: &'a str,
    pub ending_ms: i64,
    pub raw: &'a [u8],
    pub lambda_arn: &'a str,
}

impl ErrorRecord<'_> {
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::json!({
            "attemptsMade": self.attempts_made,
            "arrivalTimestamp": self.arrival_ms,
            "errorCode": self.code,
            "errorMessage": self.message,
            "attemptEndingTimestamp": self.ending_ms,
            "rawData": base64::engine::general_purpose::STANDARD.encode(self.raw),
            "lambdaArn": self.lambda_arn,
        })
        .to_string()
        .into_bytes();
        v.push(b'\n');
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_per_record() {
        let recs = [
            InRecord {
                record_id: "a",
                arrival_ms: 1,
                data: b"x",
                kinesis: None,
            },
            InRecord {
                record_id: "b",
                arrival_ms: 2,
                data: b"y",
                kinesis: None,
            },
            InRecord {
                record_id: "c",
                arrival_ms: 3,
                data: b"z",
                kinesis: None,
            },
            InRecord {
                record_id: "d",
                arrival_ms: 4,
                data: b"w",
                kinesis: None,
            },
        ];
        let ev: serde_json::Value = serde_json::from_slice(&event("inv", "arn:s", None, "us-east-1", &recs)).unwrap();
        assert_eq!(ev["records"][1]["recordId"], "b");
        assert_eq!(ev["records"][1]["data"], "eQ==");
        assert_eq!(ev["records"][1]["approximateArrivalTimestamp"], 2);
        let answer = br#"{"records":[
            {"recordId":"a","result":"Ok","data":"WFg="},
            {"recordId":"b","result":"Dropped","data":""},
            {"recordId":"c","result":"ProcessingFailed","data":"eg=="}]}"#;
        let out = outcomes(&recs, answer);
        assert_eq!(
            out[0],
            Outcome::Ok {
                data: b"XX".to_vec(),
                keys: None
            }
        );
        assert_eq!(out[1], Outcome::Dropped);
        assert!(matches!(&out[2], Outcome::Failed { code, .. } if code == "Lambda.ProcessingFailedStatus"));
        assert!(matches!(&out[3], Outcome::Failed { code, .. } if code == "Lambda.MissingRecordId"));
        let bad = outcomes(&recs, b"not json");
        assert!(
            bad.iter()
                .all(|o| matches!(o, Outcome::Failed { code, .. } if code == "Lambda.JsonProcessingException"))
        );
    }
}
