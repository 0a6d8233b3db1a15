//! Queue attributes: which may be set, their ranges and defaults, and the typed values the
//! queue logic reads. They are kept as the strings clients set (SQS returns them as strings),
//! checked when set.

use crate::error::{QueueError, Result};
use std::collections::BTreeMap;

/// Attributes a client may set, with their defaults (absent: no default is reported).
pub const SETTABLE: &[(&str, Option<&str>)] = &[
    ("DelaySeconds", Some("0")),
    ("MaximumMessageSize", Some("1048576")),
    ("MessageRetentionPeriod", Some("345600")),
    ("Policy", None),
    ("ReceiveMessageWaitTimeSeconds", Some("0")),
    ("VisibilityTimeout", Some("30")),
    ("RedrivePolicy", None),
    ("RedriveAllowPolicy", None),
    ("KmsMasterKeyId", None),
    ("KmsDataKeyReusePeriodSeconds", None),
    ("SqsManagedSseEnabled", Some("true")),
    ("FifoQueue", None),
    ("ContentBasedDeduplication", None),
    ("DeduplicationScope", None),
    ("FifoThroughputLimit", None),
];

/// Attributes only FIFO queues have.
const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes SQS computes; naming one in a set is an unknown attribute.
pub const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

/// A queue's RedrivePolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

/// A queue's RedriveAllowPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveAllow {
    AllowAll,
    DenyAll,
    ByQueue(Vec<String>),
}

/// The attributes set on a queue, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Attributes(pub BTreeMap<String, String>);

fn invalid_value(name: &str) -> QueueError {
    QueueError::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))
}

fn ranged(name: &str, value: &str, min: i64, max: i64) -> Result<()> {
    match value.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(()),
        _ => Err(invalid_value(name)),
    }
}

fn boolean(name: &str, value: &str) -> Result<()> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "false" => Ok(()),
        _ => Err(invalid_value(name)),
    }
}

/// Checks one attribute for a queue (`fifo` says whether it is FIFO; `creating` whether this
/// is CreateQueue, the only time FifoQueue may be given).
pub fn check(name: &str, value: &str, fifo: bool, creating: bool) -> Result<()> {
    let known = SETTABLE.iter().any(|(n, _)| *n == name);
    if !known || (FIFO_ONLY.contains(&name) && !fifo) {
        // As recorded: a FIFO attribute on a standard queue is unknown, except the two
        // high-throughput ones, which say why.
        return Err(QueueError::InvalidAttributeName(match name {
            "DeduplicationScope" | "FifoThroughputLimit" => {
                format!("You can specify the {name} only when FifoQueue is set to true.")
            }
            _ => format!("Unknown Attribute {name}."),
        }));
    }
    match name {
        "DelaySeconds" => ranged(name, value, 0, 900),
        "MaximumMessageSize" => ranged(name, value, 1024, 1_048_576),
        "MessageRetentionPeriod" => ranged(name, value, 60, 1_209_600),
        "ReceiveMessageWaitTimeSeconds" => ranged(name, value, 0, 20),
        "VisibilityTimeout" => ranged(name, value, 0, 43_200),
        "KmsDataKeyReusePeriodSeconds" => ranged(name, value, 60, 86_400),
        "SqsManagedSseEnabled" | "ContentBasedDeduplication" => boolean(name, value),
        "FifoQueue" => {
            boolean(name, value)?;
            if !creating && !value.eq_ignore_ascii_case("true") {
                return Err(QueueError::InvalidAttributeValue(
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.".into(),
                ));
            }
            Ok(())
        }
        "DeduplicationScope" => one_of(name, value, &["messageGroup", "queue"]),
        "FifoThroughputLimit" => one_of(name, value, &["perQueue", "perMessageGroupId"]),
        "Policy" => json_object(name, value),
        "RedrivePolicy" => parse_redrive(value).map(|_| ()),
        "RedriveAllowPolicy" => parse_redrive_allow(value).map(|_| ()),
        _ => Ok(()),
    }
}

/// Checks a whole set of attributes: each one, then the rules between them (one kind of
/// server-side encryption at a time).
pub fn check_all(given: &BTreeMap<String, String>, fifo: bool, creating: bool) -> Result<()> {
    for (k, v) in given {
        check(k, v, fifo, creating)?;
    }
    let kms = given.get("KmsMasterKeyId").is_some_and(|v| !v.is_empty());
    let sqs_sse = given
        .get("SqsManagedSseEnabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if kms && sqs_sse {
        return Err(QueueError::InvalidAttributeName(
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE."
                .into(),
        ));
    }
    Ok(())
}

fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid_value(name))
    }
}

fn json_object(name: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(invalid_value(name)),
    }
}

/// Parses a RedrivePolicy; an empty string removes it.
pub fn parse_redrive(value: &str) -> Result<Option<Redrive>> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = |reason: &str| {
        QueueError::InvalidParameterValue(format!(
            "Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}"
        ))
    };
    let v: serde_json::Value =
        serde_json::from_str(value).map_err(|_| bad("Redrive policy is not a valid JSON map."))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("Redrive policy is not a valid JSON map."))?;
    let arn = obj
        .get("deadLetterTargetArn")
        .ok_or_else(|| bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn."))?
        .as_str()
        .filter(|a| a.starts_with("arn:") && a.split(':').count() == 6)
        .ok_or_else(|| bad("Invalid value for deadLetterTargetArn."))?;
    let count = match obj.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse::<i64>().ok(),
        None => {
            return Err(bad(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
        _ => None,
    };
    let count = count
        .filter(|c| (1..=1000).contains(c))
        .ok_or_else(|| bad("Invalid value for maxReceiveCount: must be an integer from 1 to 1000."))?;
    if obj.keys().any(|k| k != "deadLetterTargetArn" && k != "maxReceiveCount") {
        return Err(bad(
            "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].",
        ));
    }
    Ok(Some(Redrive {
        dead_letter_target_arn: arn.to_owned(),
        max_receive_count: count as u32,
    }))
}

/// Parses a RedriveAllowPolicy; an empty string removes it.
pub fn parse_redrive_allow(value: &str) -> Result<Option<RedriveAllow>> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = |reason: &str| {
        QueueError::InvalidParameterValue(format!(
            "Value {value} for parameter RedriveAllowPolicy is invalid. Reason: {reason}"
        ))
    };
    let v: serde_json::Value = serde_json::from_str(value).map_err(|_| bad("Invalid JSON."))?;
    let permission = v
        .get("redrivePermission")
        .and_then(|p| p.as_str())
        .ok_or_else(|| bad("Missing redrivePermission."))?;
    let arns: Vec<String> = v
        .get("sourceQueueArns")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    match permission {
        "allowAll" | "denyAll" if !arns.is_empty() => Err(bad(
            "Only specify sourceQueueArns with redrivePermission set to byQueue.",
        )),
        "allowAll" => Ok(Some(RedriveAllow::AllowAll)),
        "denyAll" => Ok(Some(RedriveAllow::DenyAll)),
        "byQueue" if arns.is_empty() || arns.len() > 10 => Err(bad(
            "Specify between 1 and 10 sourceQueueArns with redrivePermission set to byQueue.",
        )),
        "byQueue" => Ok(Some(RedriveAllow::ByQueue(arns))),
        _ => Err(bad("Invalid redrivePermission.")),
    }
}

impl Attributes {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn number(&self, name: &str) -> i64 {
        let default = SETTABLE
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, d)| *d)
            .unwrap_or("0");
        self.get(name).unwrap_or(default).trim().parse().unwrap_or_default()
    }

    pub fn visibility_timeout_s(&self) -> i64 {
        self.number("VisibilityTimeout")
    }
    pub fn delay_s(&self) -> i64 {
        self.number("DelaySeconds")
    }
    pub fn retention_s(&self) -> i64 {
        self.number("MessageRetentionPeriod")
    }
    pub fn maximum_message_size(&self) -> usize {
        self.number("MaximumMessageSize") as usize
    }
    pub fn receive_wait_s(&self) -> i64 {
        self.number("ReceiveMessageWaitTimeSeconds")
    }
    pub fn content_based_dedup(&self) -> bool {
        self.get("ContentBasedDeduplication")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    /// Deduplication per message group (high-throughput FIFO) rather than per queue.
    pub fn dedup_per_group(&self) -> bool {
        self.get("DeduplicationScope") == Some("messageGroup")
    }
    pub fn redrive(&self) -> Option<Redrive> {
        self.get("RedrivePolicy").and_then(|v| parse_redrive(v).ok().flatten())
    }
    pub fn redrive_allow(&self) -> RedriveAllow {
        self.get("RedriveAllowPolicy")
            .and_then(|v| parse_redrive_allow(v).ok().flatten())
            .unwrap_or(RedriveAllow::AllowAll)
    }

    /// The attributes of a new queue: the given ones over the defaults (FIFO queues also get
    /// their FIFO defaults).
    pub fn with_defaults(given: &BTreeMap<String, String>, fifo: bool) -> Attributes {
        let mut all: BTreeMap<String, String> = SETTABLE
            .iter()
            .filter_map(|(n, d)| d.map(|d| ((*n).to_owned(), d.to_owned())))
            .collect();
        if fifo {
            for (n, d) in [
                ("FifoQueue", "true"),
                ("ContentBasedDeduplication", "false"),
                ("DeduplicationScope", "queue"),
                ("FifoThroughputLimit", "perQueue"),
            ] {
                all.insert(n.into(), d.into());
            }
        }
        for (k, v) in given {
            // SQS reports booleans as it stores them: lower case.
            let v = match k.as_str() {
                "FifoQueue" | "ContentBasedDeduplication" | "SqsManagedSseEnabled" => v.to_ascii_lowercase(),
                _ => v.clone(),
            };
            if (k == "RedrivePolicy" || k == "RedriveAllowPolicy" || k == "Policy") && v.is_empty() {
                all.remove(k);
                continue;
            }
            all.insert(k.clone(), v);
        }
        if !fifo {
            all.remove("FifoQueue");
        }
        // KMS encryption replaces SQS-managed encryption; an empty key id removes it (as
        // recorded: SqsManagedSseEnabled then stays false).
        match given.get("KmsMasterKeyId").map(String::as_str) {
            Some("") => {
                all.remove("KmsMasterKeyId");
                all.remove("KmsDataKeyReusePeriodSeconds");
            }
            Some(_) => {
                all.insert("SqsManagedSseEnabled".into(), "false".into());
                all.entry("KmsDataKeyReusePeriodSeconds".into())
                    .or_insert_with(|| "300".into());
            }
            None => {}
        }
        if !all.contains_key("KmsMasterKeyId") {
            all.remove("KmsDataKeyReusePeriodSeconds");
        }
        Attributes(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_names_are_checked() {
        assert!(check("VisibilityTimeout", "43200", false, true).is_ok());
        assert_eq!(
            check("VisibilityTimeout", "43201", false, true),
            Err(QueueError::InvalidAttributeValue(
                "Invalid value for the parameter VisibilityTimeout.".into()
            ))
        );
        assert_eq!(
            check("Foo", "1", false, true),
            Err(QueueError::InvalidAttributeName("Unknown Attribute Foo.".into()))
        );
        assert!(check("ContentBasedDeduplication", "true", false, true).is_err());
        assert!(check("ContentBasedDeduplication", "true", true, true).is_ok());
        assert!(check("FifoQueue", "true", false, false).is_err());
        assert!(
            check("FifoQueue", "false", false, true).is_err(),
            "unknown on a standard queue"
        );
        assert!(check("FifoQueue", "true", true, false).is_ok());
        assert!(check("FifoQueue", "false", true, false).is_err());
        let both = BTreeMap::from([
            ("KmsMasterKeyId".to_owned(), "k".to_owned()),
            ("SqsManagedSseEnabled".to_owned(), "true".to_owned()),
        ]);
        assert!(check_all(&both, false, true).is_err());
        let kms = Attributes::with_defaults(&BTreeMap::from([("KmsMasterKeyId".to_owned(), "k".to_owned())]), false);
        assert_eq!(kms.get("SqsManagedSseEnabled"), Some("false"));
        assert_eq!(kms.get("KmsDataKeyReusePeriodSeconds"), Some("300"));
    }

    #[test]
    fn redrive_policies_parse() {
        let r =
            parse_redrive(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}"#)
                .unwrap()
                .unwrap();
        assert_eq!(r.max_receive_count, 3);
        assert!(parse_redrive(r#"{"deadLetterTargetArn":"x","maxReceiveCount":0}"#).is_err());
        assert!(parse_redrive(r#"{"maxReceiveCount":2}"#).is_err());
        assert_eq!(parse_redrive("").unwrap(), None);
        assert_eq!(
            parse_redrive_allow(r#"{"redrivePermission":"byQueue","sourceQueueArns":["a"]}"#).unwrap(),
            Some(RedriveAllow::ByQueue(vec!["a".into()]))
        );
        assert!(parse_redrive_allow(r#"{"redrivePermission":"byQueue"}"#).is_err());
    }
}
