//! Kinesis channels (the Kinesis API's CreateChannel, DescribeChannel, ListChannels,
//! UpdateChannel, DeleteChannel) to a general purpose S3 bucket, run on the delivery machinery:
//! a channel is a delivery stream reading its Kinesis stream from its creation on (no
//! backfill), buffering for `DataFreshnessInSeconds` (300–900, default 300), writing its
//! records as they are (JSON and STRING ones each ending with a newline; not verified) into
//! objects named by its `OutputKeyTemplate`, compressed NONE, GZIP or ZSTD. JSON records that are
//! not JSON and STRING records that are not UTF-8 go to the dead-letter prefix (by default
//! `kinesis-channel/errors/<name>/<id>/` in the same bucket), one JSON document per line with
//! the record's stream, shard, sequence number and the error, not its data (the docs say so;
//! the field names are Rheo's).
//!
//! Sources: the Kinesis Data Streams developer guide's "data delivery" pages (the key template,
//! its variables and rules, quotas), the model's operation docs.

use crate::catalog::StreamDef;
use crate::service::{Delivery, DeliveryError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, DeliveryError>;

/// The default key template (the developer guide's).
pub const DEFAULT_TEMPLATE: &str = "kinesis-channel/!{channel-name}/!{channel-id}/!{yyyy}/!{MM}/!{dd}/!{HH}/!{channel-name}-!{channel-id}-!{yyyy}-!{MM}-!{dd}-!{HH}-!{mm}!{extension}";

/// What a channel is beside the delivery stream that runs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChannelDef {
    pub name: String,
    pub id: String,
    pub role: String,
    pub stream_arn: String,
    pub stream_created_ms: i64,
    pub record_format: String,
    /// S3DestinationConfiguration as described (defaults filled).
    pub destination: Value,
    pub encryption: Option<Value>,
    pub logging: Value,
    pub tags: std::collections::BTreeMap<String, String>,
}

/// One piece of a key template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Var(String),
    /// `!{extension}` (from the compression) or `!{extension:.x}`.
    Extension(Option<String>),
}

const VARS: [&str; 9] = [
    "channel-name",
    "channel-id",
    "stream-name",
    "yyyy",
    "yy",
    "MM",
    "dd",
    "HH",
    "mm",
];

/// Parses and checks a key template by the developer guide's rules.
pub fn parse_template(t: &str, compressed: bool) -> std::result::Result<Vec<Piece>, String> {
    let bad = |why: &str| Err(format!("The OutputKeyTemplate {t:?} is not valid: {why}."));
    if t.starts_with('/') {
        return bad("it must not start with /");
    }
    if t.contains("//") {
        return bad("it must not contain //");
    }
    if t.contains("..") || t.split('/').any(|seg| seg == ".") {
        return bad("it must not contain .. or a . segment");
    }
    let mut pieces = Vec::new();
    let mut rest = t;
    while !rest.is_empty() {
        match rest.find("!{") {
            Some(0) => {
                let end = match rest.find('}') {
                    Some(e) => e,
                    None => return bad("a variable is not closed"),
                };
                let name = &rest[2..end];
                let piece = match name {
                    "extension" => Piece::Extension(None),
                    n if n.starts_with("extension:") => {
                        let ext = &n["extension:".len()..];
                        if !ext.starts_with('.') || !ext.chars().all(|c| c == '.' || c.is_ascii_lowercase()) {
                            return bad("a literal extension starts with . and holds lowercase letters and periods");
                        }
                        Piece::Extension(Some(ext.to_owned()))
                    }
                    n if VARS.contains(&n) => Piece::Var(n.to_owned()),
                    n => return bad(&format!("!{{{n}}} is not a supported variable")),
                };
                pieces.push(piece);
                rest = &rest[end + 1..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                let lit = &rest[..end];
                if !lit
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!-_'.*()/=".contains(c))
                {
                    return bad("literal characters are letters, digits and ! - _ ' . * ( ) / =");
                }
                pieces.push(Piece::Literal(lit.to_owned()));
                rest = &rest[end..];
            }
        }
    }
    let extensions = pieces.iter().filter(|p| matches!(p, Piece::Extension(_))).count();
    if extensions > 1 {
        return bad("it may hold one extension placeholder");
    }
    if extensions == 1 && !matches!(pieces.last(), Some(Piece::Extension(_))) {
        return bad("the extension placeholder must end it");
    }
    if compressed && extensions == 0 {
        return bad("with compression it must end with an extension placeholder");
    }
    Ok(pieces)
}

/// What the worker needs to name a channel's objects and place its dead letters.
#[derive(Debug, Clone)]
pub struct ChannelPlan {
    pub name: String,
    pub id: String,
    pub stream_name: String,
    pub template: Vec<Piece>,
    pub record_format: String,
    pub dlq_bucket: String,
    pub dlq_prefix: String,
}

impl ChannelPlan {
    /// An object's key: the template expanded at `ms` (UTC), with the unique suffix before
    /// its extension (AWS appends a suffix of up to 38 characters; where is not documented).
    pub fn key(&self, ms: i64, extension: &str, suffix: &str) -> String {
        let t = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let z = t.to_zoned(jiff::tz::TimeZone::UTC);
        let mut out = String::new();
        let mut ext = String::new();
        for p in &self.template {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Extension(None) => ext = extension.to_owned(),
                Piece::Extension(Some(e)) => ext = e.clone(),
                Piece::Var(v) => out.push_str(&match v.as_str() {
                    "channel-name" => self.name.clone(),
                    "channel-id" => self.id.clone(),
                    "stream-name" => self.stream_name.clone(),
                    "yyyy" => format!("{:04}", z.year()),
                    "yy" => format!("{:02}", i64::from(z.year()).rem_euclid(100)),
                    "MM" => format!("{:02}", z.month()),
                    "dd" => format!("{:02}", z.day()),
                    "HH" => format!("{:02}", z.hour()),
                    "mm" => format!("{:02}", z.minute()),
                    _ => String::new(),
                }),
            }
        }
        format!("{out}-{suffix}{ext}")
    }

    /// Why a record cannot be delivered in the channel's format, if it cannot.
    pub fn invalid(&self, data: &[u8]) -> Option<(&'static str, String)> {
        match self.record_format.as_str() {
            "JSON" => serde_json::from_slice::<serde::de::IgnoredAny>(data)
                .err()
                .map(|e| ("InvalidJsonRecord", format!("The record is not valid JSON: {e}"))),
            "STRING" => std::str::from_utf8(data)
                .err()
                .map(|e| ("InvalidStringRecord", format!("The record is not valid UTF-8: {e}"))),
            _ => None,
        }
    }

    /// Whether each record ends with a newline (JSON and STRING records).
    pub fn lines(&self) -> bool {
        matches!(self.record_format.as_str(), "JSON" | "STRING")
    }
}

/// The synthesized destination a channel's delivery stream runs with.
fn spec_of(def: &ChannelDef) -> crate::spec::Spec {
    let d = &def.destination;
    let storage = &d["StorageConfiguration"];
    let dlq = &d["DeadLetterQueueS3Configuration"];
    json!({
        "BucketARN": storage["BucketARN"],
        "RoleARN": def.role,
        "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": d["DataFreshnessInSeconds"]},
        "CompressionFormat": "UNCOMPRESSED",
        "RheoChannel": {
            "name": def.name,
            "id": def.id,
            "stream": def.stream_arn.rsplit('/').next().unwrap_or_default(),
            "compression": storage["CompressionType"],
            "template": storage.get("OutputKeyTemplate").cloned().unwrap_or(json!(DEFAULT_TEMPLATE)),
            "format": def.record_format,
            "dlq_bucket": dlq["BucketARN"],
            "dlq_prefix": dlq["ErrorOutputPrefix"],
        }
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// The channel part of a plan, from a synthesized destination.
pub fn plan_of(spec: &Value) -> std::result::Result<(ChannelPlan, crate::compress::Compression), String> {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let compression = match s("compression").as_str() {
        "GZIP" => crate::compress::Compression::Gzip,
        "ZSTD" => crate::compress::Compression::Zstd,
        _ => crate::compress::Compression::Uncompressed,
    };
    let template = parse_template(
        &s("template"),
        compression != crate::compress::Compression::Uncompressed,
    )?;
    Ok((
        ChannelPlan {
            name: s("name"),
            id: s("id"),
            stream_name: s("stream"),
            template,
            record_format: s("format"),
            dlq_bucket: crate::spec::bucket_of(&s("dlq_bucket"))?,
            dlq_prefix: s("dlq_prefix"),
        },
        compression,
    ))
}

fn new_id() -> String {
    (0..16)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect()
}

fn key_of(id: &str) -> String {
    format!("channel/{id}")
}

impl Delivery {
    fn channel_arn(&self, id: &str) -> String {
        let (region, account) = self.place();
        format!("arn:aws:kinesis:{region}:{account}:channel/{id}")
    }

    /// How many channels read the stream named `stream` (AWS refuses to delete it then).
    pub fn channels_reading(&self, stream: &str) -> usize {
        self.channels()
            .iter()
            .filter(|(_, c)| c.stream_arn.rsplit_once(":stream/").is_some_and(|(_, n)| n == stream))
            .count()
    }

    /// Every channel: the definition of the stream that runs it, and its own.
    fn channels(&self) -> Vec<(StreamDef, ChannelDef)> {
        self.defs()
            .into_iter()
            .filter_map(|d| {
                let c = d.channel.clone()?;
                Some((d, c))
            })
            .collect()
    }

    fn channel_by_arn(&self, arn: &str) -> Result<(StreamDef, ChannelDef)> {
        let id = arn.rsplit_once(":channel/").map(|(_, id)| id).unwrap_or_default();
        self.channels()
            .into_iter()
            .find(|(_, c)| c.id == id)
            .filter(|_| arn == self.channel_arn(id))
            .ok_or_else(|| DeliveryError::ResourceNotFound(format!("Channel {arn} not found.")))
    }

    /// ChannelDescription, in `status`.
    fn channel_description(&self, create_ms: i64, c: &ChannelDef, status: &str) -> Value {
        let mut d = json!({
            "ChannelName": c.name,
            "ChannelARN": self.channel_arn(&c.id),
            "ChannelId": c.id,
            "ChannelStatus": status,
            "ChannelCreationTimestamp": create_ms as f64 / 1000.0,
            "ServiceExecutionRoleARN": c.role,
            "StreamConfigurationList": [{
                "StreamARN": c.stream_arn,
                "StreamCreationTimestamp": c.stream_created_ms as f64 / 1000.0,
                "RecordConfiguration": {"RecordFormatType": c.record_format},
            }],
            "S3DestinationConfiguration": c.destination,
            "LoggingConfiguration": c.logging,
        });
        if let Some(e) = &c.encryption {
            d["EncryptionConfiguration"] = e.clone();
        }
        d
    }

    /// CreateChannel.
    pub fn create_channel(&self, input: &Value) -> Result<Value> {
        let invalid = |m: &str| Err(DeliveryError::InvalidArgument(m.to_owned()));
        let name = input["ChannelName"].as_str().unwrap_or_default().to_owned();
        if name.chars().all(|c| c == '.') {
            // It would make `.` or `..` segments in the channel's keys.
            return invalid("A channel name cannot be made of periods only.");
        }
        let streams = input["StreamConfigurationList"].as_array().cloned().unwrap_or_default();
        let [stream] = streams.as_slice() else {
            return invalid("A channel reads exactly one stream: StreamConfigurationList must have one entry.");
        };
        let format = stream["RecordConfiguration"]["RecordFormatType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if input.get("S3TablesDestinationConfiguration").is_some() {
            return invalid(
                "S3TablesDestinationConfiguration is not supported by Rheo yet; use S3DestinationConfiguration.",
            );
        }
        let Some(dest) = input
            .get("S3DestinationConfiguration")
            .and_then(Value::as_object)
            .cloned()
        else {
            return invalid("An S3DestinationConfiguration or S3TablesDestinationConfiguration must be given.");
        };
        if format == "GSR_JSON" {
            return invalid(
                "The GSR_JSON record format is not supported for delivery to general purpose Amazon S3 buckets.",
            );
        }
        let freshness = dest
            .get("DataFreshnessInSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(300);
        check_freshness(freshness)?;
        let stream_arn = stream["StreamARN"].as_str().unwrap_or_default().to_owned();
        let (stream_name, created_ms) = self.on_demand_stream(&stream_arn)?;
        let id = new_id();
        let mut destination = Value::Object(dest);
        destination["DataFreshnessInSeconds"] = json!(freshness);
        let storage = destination["StorageConfiguration"].clone();
        let storage_class = storage.get("StorageClass").cloned().unwrap_or(json!("STANDARD"));
        destination["StorageConfiguration"]["StorageClass"] = storage_class;
        if destination.get("DeadLetterQueueS3Configuration").is_none() {
            destination["DeadLetterQueueS3Configuration"] = json!({
                "BucketARN": storage["BucketARN"],
                "ExpectedBucketOwner": storage["ExpectedBucketOwner"],
                "ErrorOutputPrefix": format!("kinesis-channel/errors/{name}/{id}/"),
            });
        } else if destination["DeadLetterQueueS3Configuration"]
            .get("ErrorOutputPrefix")
            .is_none()
        {
            destination["DeadLetterQueueS3Configuration"]["ErrorOutputPrefix"] =
                json!(format!("kinesis-channel/errors/{name}/{id}/"));
        }
        let logging = input
            .get("LoggingConfiguration")
            .cloned()
            .unwrap_or_else(|| json!({"CloudWatchLogs": {"Enabled": false}}));
        let channel = ChannelDef {
            name: name.clone(),
            id: id.clone(),
            role: input["ServiceExecutionRoleARN"].as_str().unwrap_or_default().to_owned(),
            stream_arn: stream_arn.clone(),
            stream_created_ms: created_ms,
            record_format: format,
            destination,
            encryption: input.get("EncryptionConfiguration").cloned(),
            logging,
            tags: input
                .get("Tags")
                .and_then(Value::as_object)
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let spec = spec_of(&channel);
        crate::spec::plan(&spec).map_err(DeliveryError::InvalidArgument)?;
        // Checked with the catalog locked: of two racing creates, one wins.
        let unique = |existing: &mut dyn Iterator<Item = &StreamDef>| {
            for c in existing.filter_map(|d| d.channel.as_ref()) {
                if c.name == name {
                    return Err(DeliveryError::ResourceInUse(format!("Channel {name} already exists.")));
                }
                if c.stream_arn == stream_arn {
                    return Err(DeliveryError::LimitExceeded(format!(
                        "The stream {stream_name} already has a channel to a general purpose Amazon S3 bucket (one per stream)."
                    )));
                }
            }
            Ok(())
        };
        let def = self.create_internal(
            &key_of(&id),
            "Channel",
            spec,
            Some(channel.clone()),
            &stream_arn,
            &unique,
        )?;
        // Ready at once; the response says CREATING, as AWS's does.
        Ok(json!({ "ChannelDescription": self.channel_description(def.create_ms, &channel, "CREATING") }))
    }

    /// DescribeChannel.
    pub fn describe_channel(&self, arn: &str) -> Result<Value> {
        let (def, c) = self.channel_by_arn(arn)?;
        Ok(json!({ "ChannelDescription": self.channel_description(def.create_ms, &c, "ACTIVE") }))
    }

    /// ListChannels: by name, 100 a page at most, filtered by stream.
    pub fn list_channels(&self, input: &Value) -> Result<Value> {
        let max = input["MaxResults"].as_u64().unwrap_or(100).min(100) as usize;
        let filter: Vec<&str> = input["StreamFilter"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["StreamARN"].as_str())
            .collect();
        let after = match input["NextToken"].as_str() {
            None => None,
            Some(t) => Some(decode_token(t)?),
        };
        let mut all: Vec<(StreamDef, ChannelDef)> = self
            .channels()
            .into_iter()
            .filter(|(_, c)| filter.is_empty() || filter.contains(&c.stream_arn.as_str()))
            .collect();
        all.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        let mut rest = all
            .iter()
            .filter(|(_, c)| after.as_deref().is_none_or(|a| c.name.as_str() > a))
            .peekable();
        let mut page = Vec::new();
        while page.len() < max {
            let Some((d, c)) = rest.next() else { break };
            page.push(json!({
                "ChannelName": c.name,
                "ChannelARN": self.channel_arn(&c.id),
                "ChannelId": c.id,
                "ChannelStatus": "ACTIVE",
                "ChannelCreationTimestamp": d.create_ms as f64 / 1000.0,
                "ChannelDestinationType": "S3",
                "Streams": [{"StreamARN": c.stream_arn, "StreamCreationTimestamp": c.stream_created_ms as f64 / 1000.0}],
            }));
        }
        let mut out = json!({ "ChannelSummaries": page });
        if rest.peek().is_some()
            && let Some(last) = out["ChannelSummaries"].as_array().and_then(|p| p.last())
        {
            out["NextToken"] = json!(encode_token(last["ChannelName"].as_str().unwrap_or_default()));
        }
        Ok(out)
    }

    /// UpdateChannel: the data freshness and the logging settings.
    pub fn update_channel(&self, input: &Value) -> Result<Value> {
        let arn = input["ChannelARN"].as_str().unwrap_or_default();
        let (def, _) = self.channel_by_arn(arn)?;
        if input.get("S3TablesDestinationConfiguration").is_some() {
            return Err(DeliveryError::InvalidArgument(
                "The channel delivers to a general purpose Amazon S3 bucket: use S3DestinationConfiguration.".into(),
            ));
        }
        let freshness = input["S3DestinationConfiguration"]["DataFreshnessInSeconds"].as_i64();
        if let Some(f) = freshness {
            check_freshness(f)?;
        }
        let logging = input.get("LoggingConfiguration").cloned();
        let def = self.update_internal(&def.name, |def| {
            let Some(c) = def.channel.as_mut() else { return };
            if let Some(f) = freshness {
                c.destination["DataFreshnessInSeconds"] = json!(f);
            }
            if let Some(l) = logging {
                c.logging = l;
            }
            def.destination = spec_of(c);
        })?;
        let c = def
            .channel
            .as_ref()
            .ok_or_else(|| DeliveryError::ResourceNotFound(format!("Channel {arn} not found.")))?;
        // Applied at once; the response says UPDATING, as AWS's does.
        Ok(json!({ "ChannelDescription": self.channel_description(def.create_ms, c, "UPDATING") }))
    }

    /// DeleteChannel: delivery stops; what was delivered stays.
    pub fn delete_channel(&self, arn: &str) -> Result<Value> {
        let (def, _) = self.channel_by_arn(arn)?;
        self.delete(&def.name)?;
        Ok(json!({}))
    }
}

fn check_freshness(f: i64) -> Result<()> {
    if (300..=900).contains(&f) {
        Ok(())
    } else {
        Err(DeliveryError::InvalidArgument(format!(
            "DataFreshnessInSeconds {f} is not between 300 and 900."
        )))
    }
}

fn encode_token(name: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(name)
}

fn decode_token(t: &str) -> Result<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| DeliveryError::InvalidArgument("NextToken is not valid.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_follow_the_rules() {
        let t = parse_template(DEFAULT_TEMPLATE, true).unwrap();
        let plan = ChannelPlan {
            name: "orders".into(),
            id: "0123456789abcdef".into(),
            stream_name: "s".into(),
            template: t,
            record_format: "JSON".into(),
            dlq_bucket: "b".into(),
            dlq_prefix: "e/".into(),
        };
        // 2026-07-20T14:30:05Z
        assert_eq!(
            plan.key(1_784_557_805_000, ".gz", "x1"),
            "kinesis-channel/orders/0123456789abcdef/2026/07/20/14/orders-0123456789abcdef-2026-07-20-14-30-x1.gz"
        );
        assert!(
            parse_template(
                "data/stream=!{stream-name}/!{yyyy}-!{MM}-!{dd}/!{HH}!{mm}!{extension:.json}",
                false
            )
            .is_ok()
        );
        assert!(parse_template("!{channel-name}/!{channel-id}", false).is_ok());
        for bad in [
            "/lead/!{yyyy}",
            "a/../b",
            "a//b",
            "a/!{extension}/b",
            "a/!{partition-id}",
            "a/!{yyyy",
            "a b/!{yyyy}",
            "a/!{extension:.JSON}",
        ] {
            assert!(parse_template(bad, false).is_err(), "{bad}");
        }
        assert!(
            parse_template("!{channel-name}/x", true).is_err(),
            "compression needs an extension"
        );
        assert!(plan.invalid(b"{\"a\":1}").is_none());
        assert!(plan.invalid(b"nope").is_some());
    }
}
