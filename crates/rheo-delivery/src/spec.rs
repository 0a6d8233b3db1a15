//! A delivery stream's S3 destination: the `ExtendedS3DestinationConfiguration` as the API
//! gives it (kept as JSON, so Describe returns what was set and UpdateDestination merges into
//! it), and the [`Plan`] the delivery worker runs, checked from it.

use crate::compress::Compression;
use crate::convert::Conversion;
use crate::prefix::{self, Rules, Template};
use serde_json::{Map, Value, json};

/// The destination's members as given (ExtendedS3DestinationConfiguration's names).
pub type Spec = Map<String, Value>;

/// The member an HTTP endpoint destination's settings ride in (never taken from a request).
pub const HTTP_KEY: &str = "RheoHttp";

/// The member a channel's synthesized destination carries its own settings in (never taken
/// from a request).
pub const CHANNEL_KEY: &str = "RheoChannel";

/// Processing of the records before they are buffered into objects.
#[derive(Debug, Clone, Default)]
pub struct Processing {
    pub lambda: Option<LambdaProcessor>,
    pub append_delimiter: bool,
    /// MetadataExtraction's jq query (partition keys from the records).
    pub metadata_query: Option<std::sync::Arc<crate::jq::Query>>,
    pub deaggregation: Option<Deaggregation>,
}

/// RecordDeAggregation: how one record holds several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deaggregation {
    /// Concatenated JSON objects (or JSON lines).
    Json,
    /// Records separated by the delimiter.
    Delimited(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct LambdaProcessor {
    pub arn: String,
    pub retries: u32,
    /// Records are handed over in calls of at most this many bytes.
    pub buffer_bytes: usize,
}

/// What the worker does, checked from a [`Spec`].
#[derive(Debug, Clone)]
pub struct Plan {
    pub bucket: String,
    pub prefix: Template,
    pub error_prefix: Option<Template>,
    pub size_bytes: u64,
    pub interval_ms: i64,
    pub compression: Compression,
    pub extension: String,
    pub zone: jiff::tz::TimeZone,
    pub processing: Processing,
    /// Dynamic partitioning: one object per evaluated prefix.
    pub dynamic: bool,
    /// A Kinesis channel's naming, record checks and dead letters.
    pub channel: Option<crate::channel::ChannelPlan>,
    /// An HTTP endpoint the buffers go to (the bucket then holds failures and backups).
    pub http: Option<crate::http::HttpPlan>,
    /// DataFormatConversion: records into Parquet with a catalog table's columns.
    pub conversion: Option<Conversion>,
}

const MIB: u64 = 1024 * 1024;

fn str_of<'a>(spec: &'a Spec, name: &str) -> Option<&'a str> {
    spec.get(name).and_then(Value::as_str)
}

fn int_of(v: Option<&Value>, name: &str) -> Option<i64> {
    v.and_then(|v| v.get(name)).and_then(Value::as_i64)
}

/// The bucket a `BucketARN` names.
pub fn bucket_of(arn: &str) -> Result<String, String> {
    arn.strip_prefix("arn:aws:s3:::")
        .or_else(|| arn.split_once(":s3:::").map(|(_, b)| b))
        .filter(|b| !b.is_empty() && !b.contains('/'))
        .map(str::to_owned)
        .ok_or_else(|| format!("BucketARN {arn} is not a valid S3 bucket ARN."))
}

/// Checks a destination and makes its plan. The model has checked shapes, ranges and patterns.
pub fn plan(spec: &Spec) -> Result<Plan, String> {
    let bucket = bucket_of(str_of(spec, "BucketARN").unwrap_or_default())?;
    let hints = spec.get("BufferingHints");
    let (size, interval) = (int_of(hints, "SizeInMBs"), int_of(hints, "IntervalInSeconds"));
    let dynamic = spec
        .get("DynamicPartitioningConfiguration")
        .and_then(|d| d.get("Enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let conversion = conversion(spec)?;
    if let Some(b) = backup(spec)? {
        plan(&b).map_err(|e| format!("S3BackupConfiguration: {e}"))?;
    }
    let prefix_raw = str_of(spec, "Prefix");
    let error_raw = str_of(spec, "ErrorOutputPrefix").filter(|s| !s.is_empty());
    prefix::check(
        prefix_raw,
        error_raw,
        Rules {
            dynamic_partitioning: dynamic,
        },
    )?;
    let compression = match str_of(spec, "CompressionFormat") {
        None => Compression::Uncompressed,
        Some(c) => Compression::parse(c).ok_or_else(|| format!("CompressionFormat {c} is not supported."))?,
    };
    let extension = str_of(spec, "FileExtension")
        .filter(|e| !e.is_empty())
        .unwrap_or(compression.extension())
        .to_owned();
    let prefix = Template::parse(prefix_raw.unwrap_or_default())?;
    let error_prefix = error_raw.map(Template::parse).transpose()?;
    let zone = prefix::zone(str_of(spec, "CustomTimeZone"))?;
    for (t, kind) in [
        (Some(&prefix), None),
        (error_prefix.as_ref(), Some("processing-failed")),
    ] {
        if let Some(t) = t {
            prefix::check_length(t, &zone, kind)?;
        }
    }
    let processing = processing(spec.get("ProcessingConfiguration"))?;
    check_processing(&processing, &prefix, dynamic)?;
    let (channel, compression) = match spec.get(CHANNEL_KEY) {
        Some(c) => {
            let (plan, compression) = crate::channel::plan_of(c)?;
            (Some(plan), compression)
        }
        None => (None, compression),
    };
    let extension = if channel.is_some() {
        compression.extension().to_owned()
    } else if conversion.is_some() && str_of(spec, "FileExtension").is_none_or(str::is_empty) {
        ".parquet".to_owned()
    } else {
        extension
    };
    let default_size = if conversion.is_some() { 128 } else { 5 };
    Ok(Plan {
        bucket,
        prefix,
        error_prefix,
        size_bytes: size.map_or(default_size, |s| s.max(1) as u64) * MIB,
        interval_ms: interval.unwrap_or(300).max(0) * 1000,
        compression,
        extension,
        zone,
        processing,
        dynamic,
        channel,
        http: spec.get(HTTP_KEY).map(crate::http::plan_of).transpose()?,
        conversion,
    })
}

/// The source-record backup's destination, with S3BackupMode Enabled (an S3 destination's
/// members: bucket, prefixes, buffering, compression).
pub fn backup(spec: &Spec) -> Result<Option<Spec>, String> {
    if spec.contains_key(HTTP_KEY) || str_of(spec, "S3BackupMode") != Some("Enabled") {
        return Ok(None);
    }
    spec.get("S3BackupConfiguration")
        .and_then(Value::as_object)
        .cloned()
        .map(Some)
        .ok_or_else(|| "S3BackupConfiguration is required when S3BackupMode is Enabled.".into())
}

/// DataFormatConversionConfiguration, when enabled: JSON records into Parquet. The checks and
/// their messages are AWS's, in AWS's order.
fn conversion(spec: &Spec) -> Result<Option<Conversion>, String> {
    use crate::convert::{Deserializer, ParquetOptions, TableRef, TimestampFormat};
    let Some(c) = spec.get("DataFormatConversionConfiguration") else {
        return Ok(None);
    };
    if c.get("Enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    if str_of(spec, "CompressionFormat").is_some_and(|c| c != "UNCOMPRESSED") {
        return Err("The S3 destination's compression format must be set to UNCOMPRESSED when data format conversion is enabled. To enable compression within the converted output format, set the appropriate serialization option in the output format configuration.".into());
    }
    if int_of(spec.get("BufferingHints"), "SizeInMBs").is_some_and(|s| s < 64) {
        return Err("BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled.".into());
    }
    let part = |name: &str| {
        c.get(name)
            .filter(|v| !v.is_null())
            .ok_or(format!("{name} must not be null"))
    };
    let (input, output, schema) = (
        part("InputFormatConfiguration")?,
        part("OutputFormatConfiguration")?,
        part("SchemaConfiguration")?,
    );
    // Exactly one of a pair of members (an empty object is none).
    let one =
        |v: &Value, outer: &str, a: &str, b: &str, what: &str| -> Result<(Option<Value>, Option<Value>), String> {
            let get = |n: &str| v.get(outer).and_then(|o| o.get(n)).filter(|x| !x.is_null()).cloned();
            match (get(a), get(b)) {
                (None, None) => Err(format!("{outer} must not be null")),
                (Some(_), Some(_)) => Err(format!("More than one {what} specified. Only one may be chosen.")),
                pair => Ok(pair),
            }
        };
    let de = one(input, "Deserializer", "OpenXJsonSerDe", "HiveJsonSerDe", "deserializer")?;
    let ser = one(output, "Serializer", "ParquetSerDe", "OrcSerDe", "serializer")?;
    let member = |name: &str| {
        schema
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let required =
        |name: &str, shown: &str| member(name).ok_or(format!("SchemaConfiguration.{shown} must not be null or empty"));
    required("RoleARN", "RoleArn")?;
    let (database, table) = (
        required("DatabaseName", "DatabaseName")?,
        required("TableName", "TableName")?,
    );
    let table = TableRef {
        catalog_id: member("CatalogId"),
        database,
        table,
        region: member("Region"),
        version_id: member("VersionId").unwrap_or_else(|| "LATEST".into()),
    };
    let deserializer = match de {
        (Some(o), _) => Deserializer::OpenX {
            case_insensitive: o.get("CaseInsensitive").and_then(Value::as_bool).unwrap_or(true),
            dots_to_underscores: o
                .get("ConvertDotsInJsonKeysToUnderscores")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            mappings: o
                .get("ColumnToJsonKeyMappings")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
        },
        (None, h) => Deserializer::Hive {
            timestamp_formats: h
                .as_ref()
                .and_then(|h| h.get("TimestampFormats"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| TimestampFormat::parse(f.as_str().unwrap_or_default()))
                .collect::<Result<_, _>>()?,
        },
    };
    let parquet = match ser {
        (Some(p), _) => {
            let d = ParquetOptions::default();
            let size = |name: &str, default: usize| p.get(name).and_then(Value::as_u64).map_or(default, |n| n as usize);
            ParquetOptions {
                block_size: size("BlockSizeBytes", d.block_size),
                page_size: size("PageSizeBytes", d.page_size),
                compression: match p.get("Compression").and_then(Value::as_str) {
                    None | Some("SNAPPY") => parquet::basic::Compression::SNAPPY,
                    Some("GZIP") => parquet::basic::Compression::GZIP(Default::default()),
                    Some(_) => parquet::basic::Compression::UNCOMPRESSED,
                },
                dictionary: p
                    .get("EnableDictionaryCompression")
                    .and_then(Value::as_bool)
                    .unwrap_or(d.dictionary),
                v2: p.get("WriterVersion").and_then(Value::as_str) == Some("V2"),
            }
        }
        (None, _) => return Err("The ORC serializer (OrcSerDe) is not supported by Rheo; use ParquetSerDe.".into()),
    };
    Ok(Some(Conversion {
        table,
        deserializer,
        parquet,
    }))
}

fn processing(config: Option<&Value>) -> Result<Processing, String> {
    let mut out = Processing::default();
    let Some(config) = config else { return Ok(out) };
    if config.get("Enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(out);
    }
    for p in config.get("Processors").and_then(Value::as_array).into_iter().flatten() {
        let kind = p.get("Type").and_then(Value::as_str).unwrap_or_default();
        let params: Vec<(&str, &str)> = p
            .get("Parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| Some((x.get("ParameterName")?.as_str()?, x.get("ParameterValue")?.as_str()?)))
            .collect();
        let param = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match kind {
            "Lambda" => {
                let arn = param("LambdaArn")
                    .ok_or("The Lambda processor requires the LambdaArn parameter.")?
                    .to_owned();
                let retries = match param("NumberOfRetries") {
                    None => 3,
                    Some(v) => v
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 300)
                        .ok_or_else(|| format!("NumberOfRetries {v} is not a number from 0 to 300."))?,
                };
                let buffer_mb = match param("BufferSizeInMBs") {
                    None => 1.0,
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|n| (0.2..=3.0).contains(n))
                        .ok_or_else(|| format!("BufferSizeInMBs {v} is not a number from 0.2 to 3."))?,
                };
                if let Some(v) = param("BufferIntervalInSeconds")
                    && !v.parse::<u32>().is_ok_and(|n| n <= 900)
                {
                    return Err(format!("BufferIntervalInSeconds {v} is not a number from 0 to 900."));
                }
                out.lambda = Some(LambdaProcessor {
                    arn,
                    retries,
                    buffer_bytes: (buffer_mb * MIB as f64) as usize,
                });
            }
            "AppendDelimiterToRecord" => out.append_delimiter = true,
            "MetadataExtraction" => {
                let query = param("MetadataExtractionQuery")
                    .ok_or("The MetadataExtraction processor requires the MetadataExtractionQuery parameter.")?;
                match param("JsonParsingEngine") {
                    None | Some("JQ-1.6") => {}
                    Some(other) => return Err(format!("JsonParsingEngine {other} is not supported; use JQ-1.6.")),
                }
                out.metadata_query = Some(std::sync::Arc::new(crate::jq::Query::compile(query)?));
            }
            "RecordDeAggregation" => {
                out.deaggregation = Some(match param("SubRecordType") {
                    Some("JSON") | None => Deaggregation::Json,
                    Some("DELIMITED") => {
                        use base64::Engine as _;
                        let d = param("Delimiter").ok_or("A DELIMITED RecordDeAggregation requires a Delimiter.")?;
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(d)
                            .map_err(|_| format!("The Delimiter {d} is not base64."))?;
                        if bytes.is_empty() {
                            return Err("The Delimiter is empty.".into());
                        }
                        Deaggregation::Delimited(bytes)
                    }
                    Some(other) => return Err(format!("SubRecordType {other} is not JSON or DELIMITED.")),
                });
            }
            other => return Err(format!("The processor type {other} is not supported by Rheo yet.")),
        }
    }
    Ok(out)
}

/// What partition keys need: a query for `partitionKeyFromQuery`, a function for
/// `partitionKeyFromLambda`, dynamic partitioning for either, and for the processors that make
/// them.
fn check_processing(p: &Processing, prefix: &Template, dynamic: bool) -> Result<(), String> {
    use crate::prefix::Part;
    if prefix.has(|x| matches!(x, Part::PartitionKeyFromQuery(_))) && p.metadata_query.is_none() {
        return Err("partitionKeyFromQuery needs a MetadataExtraction processor.".into());
    }
    if prefix.has(|x| matches!(x, Part::PartitionKeyFromLambda(_))) && p.lambda.is_none() {
        return Err("partitionKeyFromLambda needs a Lambda processor.".into());
    }
    if !dynamic && (p.metadata_query.is_some() || p.deaggregation.is_some()) {
        return Err("MetadataExtraction and RecordDeAggregation need dynamic partitioning enabled.".into());
    }
    Ok(())
}

/// An HTTP endpoint destination as a synthesized destination: its S3Configuration (failed
/// records and backups) with its own buffering, processing and endpoint settings.
pub fn from_http(c: &Value) -> Result<Spec, String> {
    let s3 = c
        .get("S3Configuration")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut spec = Spec::new();
    for k in [
        "RoleARN",
        "BucketARN",
        "Prefix",
        "ErrorOutputPrefix",
        "CompressionFormat",
    ] {
        if let Some(v) = s3.get(k) {
            spec.insert(k.into(), v.clone());
        }
    }
    let hints = c.get("BufferingHints").cloned().unwrap_or_else(|| json!({}));
    let size = hints.get("SizeInMBs").and_then(Value::as_i64).unwrap_or(5);
    if size > 64 {
        return Err(format!("SizeInMBs {size} is more than an HTTP endpoint's 64."));
    }
    let interval = hints.get("IntervalInSeconds").and_then(Value::as_i64).unwrap_or(300);
    spec.insert(
        "BufferingHints".into(),
        json!({"SizeInMBs": size, "IntervalInSeconds": interval}),
    );
    if let Some(p) = c.get("ProcessingConfiguration") {
        spec.insert("ProcessingConfiguration".into(), p.clone());
    }
    let endpoint = &c["EndpointConfiguration"];
    let request = &c["RequestConfiguration"];
    spec.insert(
        HTTP_KEY.into(),
        json!({
            "Url": endpoint["Url"],
            "AccessKey": endpoint["AccessKey"],
            "ContentEncoding": request["ContentEncoding"],
            "CommonAttributes": request["CommonAttributes"],
            "RetryDurationInSeconds": c["RetryOptions"]["DurationInSeconds"].as_u64().unwrap_or(300),
            "S3BackupMode": c["S3BackupMode"].as_str().unwrap_or("FailedDataOnly"),
            "Description": describe_http(c),
            "Configuration": c,
        }),
    );
    Ok(spec)
}

/// UpdateDestination of an HTTP endpoint destination: the update's members replace the
/// configuration's (`S3Update`'s members those of `S3Configuration`), and the destination is
/// made again from the result.
pub fn update_http(spec: &Spec, update: &Value) -> Result<Spec, String> {
    let mut c =
        spec.get(HTTP_KEY).and_then(|h| h.get("Configuration")).cloned().ok_or(
            "This HTTP endpoint destination was created by an older Rheo and cannot be updated; create it again.",
        )?;
    for (k, v) in update.as_object().into_iter().flatten() {
        match k.as_str() {
            "S3Update" => {
                let s3 = c
                    .as_object_mut()
                    .map(|o| o.entry("S3Configuration").or_insert_with(|| json!({})));
                if let (Some(Value::Object(s3)), Some(u)) = (s3, v.as_object()) {
                    for (k, v) in u {
                        s3.insert(k.clone(), v.clone());
                    }
                }
            }
            _ => c[k] = v.clone(),
        }
    }
    from_http(&c)
}

/// HttpEndpointDestinationDescription of a configuration (the access key is not shown).
fn describe_http(c: &Value) -> Value {
    let mut d = json!({
        "EndpointConfiguration": {"Url": c["EndpointConfiguration"]["Url"]},
        "BufferingHints": {
            "SizeInMBs": c["BufferingHints"]["SizeInMBs"].as_i64().unwrap_or(5),
            "IntervalInSeconds": c["BufferingHints"]["IntervalInSeconds"].as_i64().unwrap_or(300),
        },
        "RequestConfiguration": {"ContentEncoding": c["RequestConfiguration"]["ContentEncoding"].as_str().unwrap_or("NONE")},
        "RetryOptions": {"DurationInSeconds": c["RetryOptions"]["DurationInSeconds"].as_u64().unwrap_or(300)},
        "S3BackupMode": c["S3BackupMode"].as_str().unwrap_or("FailedDataOnly"),
    });
    if let Some(n) = c["EndpointConfiguration"].get("Name") {
        d["EndpointConfiguration"]["Name"] = n.clone();
    }
    if let Some(a) = c["RequestConfiguration"].get("CommonAttributes") {
        d["RequestConfiguration"]["CommonAttributes"] = a.clone();
    }
    for k in ["RoleARN", "ProcessingConfiguration", "CloudWatchLoggingOptions"] {
        if let Some(v) = c.get(k) {
            d[k] = v.clone();
        }
    }
    if let Some(s3) = c.get("S3Configuration").and_then(Value::as_object) {
        d["S3DestinationDescription"] = describe_plain(s3);
    }
    d
}

/// The destination as Describe gives it: what was set, with the defaults of the members the
/// description requires.
pub fn describe(spec: &Spec) -> Value {
    let mut d = spec.clone();
    let converting = conversion(spec).ok().flatten().is_some();
    let hints = d.entry("BufferingHints").or_insert_with(|| json!({}));
    if let Some(h) = hints.as_object_mut() {
        h.entry("SizeInMBs").or_insert(json!(if converting { 128 } else { 5 }));
        h.entry("IntervalInSeconds").or_insert(json!(300));
    }
    d.entry("CompressionFormat").or_insert_with(|| json!("UNCOMPRESSED"));
    d.entry("EncryptionConfiguration")
        .or_insert_with(|| json!({"NoEncryptionConfig": "NoEncryption"}));
    d.entry("S3BackupMode").or_insert_with(|| json!("Disabled"));
    if let Some(Value::Object(b)) = d.remove("S3BackupConfiguration") {
        d.insert("S3BackupDescription".into(), describe_plain(&b));
    }
    Value::Object(d)
}

/// The plain S3 description of an extended destination (AWS gives both).
pub fn describe_plain(spec: &Spec) -> Value {
    let full = describe(spec);
    let keep = [
        "RoleARN",
        "BucketARN",
        "Prefix",
        "ErrorOutputPrefix",
        "BufferingHints",
        "CompressionFormat",
        "EncryptionConfiguration",
        "CloudWatchLoggingOptions",
    ];
    let mut out = Map::new();
    for k in keep {
        if let Some(v) = full.get(k) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// UpdateDestination: the given members replace the stored ones; a data format conversion's
/// merge member by member, nested ones too. `S3BackupUpdate` is the update's name for
/// `S3BackupConfiguration`.
pub fn merge(spec: &Spec, update: &Spec) -> Spec {
    fn deep(into: &mut Value, from: &Value) {
        match (into.as_object_mut(), from.as_object()) {
            (Some(a), Some(b)) => {
                for (k, v) in b {
                    deep(a.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
            _ => *into = from.clone(),
        }
    }
    let mut out = spec.clone();
    for (k, v) in update {
        match k.as_str() {
            "S3BackupUpdate" => {
                out.insert("S3BackupConfiguration".to_owned(), v.clone());
            }
            "DataFormatConversionConfiguration" => deep(out.entry(k.clone()).or_insert(Value::Null), v),
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> Spec {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_and_checks() {
        let s = spec(json!({"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::b"}));
        let p = plan(&s).unwrap();
        assert_eq!(
            (p.bucket.as_str(), p.size_bytes, p.interval_ms),
            ("b", 5 * MIB, 300_000)
        );
        assert_eq!(p.compression, Compression::Uncompressed);
        let d = describe(&s);
        assert_eq!(d["BufferingHints"]["SizeInMBs"], 5);
        assert_eq!(d["CompressionFormat"], "UNCOMPRESSED");
        let s = spec(
            json!({"BucketARN": "arn:aws:s3:::b", "CompressionFormat": "GZIP", "FileExtension": ".json.gz",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}),
        );
        let p = plan(&s).unwrap();
        assert_eq!(
            (p.extension.as_str(), p.size_bytes, p.interval_ms),
            (".json.gz", MIB, 0)
        );
        assert!(
            plan(&spec(
                json!({"BucketARN": "arn:aws:s3:::b", "Prefix": "x/!{timestamp:yyyy}/"})
            ))
            .is_err()
        );
        assert!(plan(&spec(json!({"BucketARN": "nope"}))).is_err());
        let lambda = spec(
            json!({"BucketARN": "arn:aws:s3:::b", "ProcessingConfiguration": {"Enabled": true,
            "Processors": [{"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:f"},
                {"ParameterName": "NumberOfRetries", "ParameterValue": "1"}]}, {"Type": "AppendDelimiterToRecord"}]}}),
        );
        let p = plan(&lambda).unwrap();
        assert_eq!(p.processing.lambda.as_ref().unwrap().retries, 1);
        assert!(p.processing.append_delimiter);
        let merged = merge(&lambda, &spec(json!({"CompressionFormat": "ZIP"})));
        assert_eq!(plan(&merged).unwrap().compression, Compression::Zip);
    }
}
