//! Stream names, shard ids and ARNs.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid stream name")]
    StreamName,
    #[error("invalid shard id")]
    ShardId,
    #[error("invalid ARN")]
    Arn,
}

/// A stream name: 1 to 128 characters of `[a-zA-Z0-9_.-]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct StreamName(String);

impl StreamName {
    pub fn parse(s: &str) -> Result<StreamName, NameError> {
        if is_name(s, 128) {
            Ok(StreamName(s.to_owned()))
        } else {
            Err(NameError::StreamName)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when `s` is 1..=max characters of `[a-zA-Z0-9_.-]`, the model's pattern for names.
pub fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// A shard's index within its stream, shown as `shardId-000000000000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ShardId(pub u32);

impl ShardId {
    /// Reads a shard id as AWS does (kinesalite's tests against AWS): the digits after the
    /// first `-` up to the next one, or the whole id without a `-`; any prefix will do
    /// (`shardId-000000000005`, `shardId-5`, `shard-5`, `5`), at most 2^31 - 1.
    pub fn parse(s: &str) -> Result<ShardId, NameError> {
        let digits = match s.split('-').nth(1) {
            Some(d) if !d.is_empty() => d,
            _ => s,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NameError::ShardId);
        }
        match digits.trim_start_matches('0').parse::<u32>() {
            Ok(n) if n <= i32::MAX as u32 => Ok(ShardId(n)),
            Err(_) if digits.bytes().all(|b| b == b'0') => Ok(ShardId(0)),
            _ => Err(NameError::ShardId),
        }
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shardId-{:012}", self.0)
    }
}

/// The parts of a Kinesis stream ARN: `arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn {
    pub region: String,
    pub account: String,
    pub stream: StreamName,
}

impl Arn {
    pub fn parse(s: &str) -> Result<Arn, NameError> {
        let mut parts = s.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("kinesis"), Some(region), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(NameError::Arn);
        };
        if !partition.starts_with("aws") || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NameError::Arn);
        }
        let name = res.strip_prefix("stream/").ok_or(NameError::Arn)?;
        // A consumer ARN (stream/NAME/consumer/...) names its stream first.
        let name = name.split('/').next().unwrap_or(name);
        Ok(Arn {
            region: region.to_owned(),
            account: account.to_owned(),
            stream: StreamName::parse(name)?,
        })
    }

    pub fn format(region: &str, account: &str, stream: &StreamName) -> String {
        format!("arn:aws:kinesis:{region}:{account}:stream/{stream}")
    }
}

/// The parts of a consumer ARN:
/// `arn:PARTITION:kinesis:REGION:ACCOUNT:stream/STREAM/consumer/NAME:CREATED`, where CREATED is
/// the consumer's creation time in epoch seconds (so a re-registered consumer gets a new ARN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerArn {
    pub stream: Arn,
    /// 1 to 128 characters of `[a-zA-Z0-9_.-]`.
    pub name: String,
    pub created_secs: i64,
}

impl ConsumerArn {
    pub fn parse(s: &str) -> Result<ConsumerArn, NameError> {
        let stream = Arn::parse(s)?;
        let rest = s
            .split_once(&format!("stream/{}/consumer/", stream.stream))
            .map(|(_, r)| r)
            .ok_or(NameError::Arn)?;
        let (name, created) = rest.rsplit_once(':').ok_or(NameError::Arn)?;
        if !is_name(name, 128) || created.is_empty() || !created.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NameError::Arn);
        }
        Ok(ConsumerArn {
            stream,
            name: name.to_owned(),
            created_secs: created.parse().map_err(|_| NameError::Arn)?,
        })
    }

    pub fn format(stream_arn: &str, name: &str, created_secs: i64) -> String {
        format!("{stream_arn}/consumer/{name}:{created_secs}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids() {
        assert_eq!(ShardId::parse("shardId-000000000007"), Ok(ShardId(7)));
        assert_eq!(ShardId::parse("shardId-7"), Ok(ShardId(7)));
        for (s, n) in [
            ("shard-7", 7),
            ("7", 7),
            ("foo_bar.1-0", 0),
            ("a-00002147483647", i32::MAX as u32),
            ("-00002147483647", i32::MAX as u32),
            ("2147483647", i32::MAX as u32),
            ("0", 0),
            ("shardId-000000000000", 0),
        ] {
            assert_eq!(ShardId::parse(s), Ok(ShardId(n)), "{s}");
        }
        for s in [
            "2147483648",
            "shardId-002147483648",
            "ABKLFD8",
            "2.14E4",
            "",
            "shardId-",
            "shardId-x",
        ] {
            assert!(ShardId::parse(s).is_err(), "{s}");
        }
        assert_eq!(ShardId(3).to_string(), "shardId-000000000003");
    }

    #[test]
    fn arns() {
        let a = Arn::parse("arn:aws:kinesis:us-east-1:000000000000:stream/s1").unwrap();
        assert_eq!(a.stream.as_str(), "s1");
        assert_eq!(
            Arn::format("us-east-1", "000000000000", &a.stream),
            "arn:aws:kinesis:us-east-1:000000000000:stream/s1"
        );
        assert!(Arn::parse("arn:aws:kinesis:us-east-1:0:stream/s1").is_err());
        assert!(Arn::parse("arn:aws:sqs:us-east-1:000000000000:stream/s1").is_err());
    }

    #[test]
    fn consumer_arns() {
        let s = "arn:aws:kinesis:us-east-1:000000000000:stream/s1/consumer/c.1:1700000000";
        let c = ConsumerArn::parse(s).unwrap();
        assert_eq!(
            (c.stream.stream.as_str(), c.name.as_str(), c.created_secs),
            ("s1", "c.1", 1700000000)
        );
        assert_eq!(
            ConsumerArn::format("arn:aws:kinesis:us-east-1:000000000000:stream/s1", "c.1", 1700000000),
            s
        );
        for bad in [
            "arn:aws:kinesis:us-east-1:000000000000:stream/s1",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s1/consumer/c1",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s1/consumer/c1:",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s1/consumer/c 1:17",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s1/consumer/:17",
        ] {
            assert!(ConsumerArn::parse(bad).is_err(), "{bad}");
        }
    }
}
