//! AWS service models, read at run time, and the request checks they define.
//!
//! The models are botocore's (Apache-2.0), stripped of documentation by
//! `tools/strip-model.py` into `crates/rheo-wire/models/`, and embedded in the binary. A model
//! is loaded once, on first use, into a table of shapes; [`check`] then walks a request body
//! ([`Node`]) against an operation's input shape the way AWS's JSON front end does: member
//! types first (SerializationException), then the constraints (ValidationException). Handlers
//! decode their typed shapes from the checked tree. Adding a service is adding its model.

pub mod check;
pub mod node;

pub use check::{Rejection, check_input};
pub use node::Node;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

/// Index of a shape in [`Model::shapes`].
pub type ShapeId = usize;

#[derive(Debug)]
pub struct Model {
    pub target_prefix: Option<String>,
    pub signing_name: Option<String>,
    pub protocol: String,
    /// `awsQueryCompatible` (SQS): the service reports constraint errors itself, with the
    /// codes of its query protocol (MissingParameter, InvalidAttributeName, ...), so the check
    /// stops after the types.
    pub query_compatible: bool,
    /// The query protocol's XML namespace and API version (`Version=`).
    pub xml_namespace: Option<String>,
    pub api_version: Option<String>,
    operations: HashMap<String, Operation>,
    shapes: Vec<Shape>,
}

#[derive(Debug)]
pub struct Operation {
    pub name: String,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    pub errors: Vec<String>,
    /// The query protocol's result element (`ReceiveMessageResult`).
    pub result_wrapper: Option<String>,
    /// The REST protocols' binding: method, URI template (`/2015-03-31/functions/{FunctionName}`,
    /// perhaps with fixed query parameters after `?`) and success status.
    pub http: Option<Http>,
}

#[derive(Debug, Clone)]
pub struct Http {
    pub method: String,
    pub request_uri: String,
    pub response_code: Option<u16>,
}

#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub kind: Kind,
    /// A length (strings, blobs, lists, maps) or value (numbers) bound.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The query protocol's names: the shape's own (`Tag` for a map of tags) and whether a
    /// list or map is flattened.
    pub location_name: Option<String>,
    pub flattened: bool,
    /// The REST protocols' payload member: the one that is the whole body.
    pub payload: Option<String>,
}

#[derive(Debug)]
pub enum Kind {
    String {
        pattern: Option<Pattern>,
        enumeration: Option<Vec<String>>,
    },
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Blob,
    Timestamp,
    List {
        member: ShapeId,
        /// The element name of a member in the query protocol (`member` by default).
        member_name: Option<String>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        /// The query protocol's key and value names (`key`, `value` by default).
        key_name: Option<String>,
        value_name: Option<String>,
    },
    Structure {
        members: Vec<Member>,
        /// An event stream, an exception or a union: never part of a checked request.
        special: bool,
    },
}

#[derive(Debug)]
pub struct Member {
    /// The member's name in the request (`StreamName`).
    pub name: String,
    /// As AWS names it in validation messages: the first letter lowered (`streamName`).
    pub field: String,
    pub shape: ShapeId,
    pub required: bool,
    /// The query protocol's name for it, and whether it flattens its list or map.
    pub location_name: Option<String>,
    pub flattened: bool,
    /// The REST protocols' place for it: `uri`, `querystring`, `header`, `headers` or
    /// `statusCode`; none for the body.
    pub location: Option<String>,
}

/// A model pattern, as AWS prints it, and compiled for a whole-value match.
pub struct Pattern {
    pub source: String,
    regex: Option<regex_lite::Regex>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Pattern {
    fn new(source: &str) -> Pattern {
        let translated = java_to_rust(source);
        let regex = regex_lite::Regex::new(&format!("^(?:{translated})$")).ok();
        Pattern {
            source: source.to_owned(),
            regex,
        }
    }

    /// Whether `value` matches the whole pattern. A pattern the regex engine cannot compile
    /// (none in the models served today; a unit test checks every one) matches everything.
    pub fn matches(&self, value: &str) -> bool {
        self.regex.as_ref().is_none_or(|r| r.is_match(value))
    }

    pub fn compiles(&self) -> bool {
        self.regex.is_some()
    }
}

/// Java's `\d`, `\s` and `\S` are ASCII classes; regex-lite's are too, but spell them out so the
/// meaning does not hang on the engine. Other syntax in the models is common to both.
fn java_to_rust(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('s') => out.push_str("[ \\t\\n\\x0B\\f\\r]"),
            Some('S') => out.push_str("[^ \\t\\n\\x0B\\f\\r]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push_str("\\\\"),
        }
    }
    out
}

impl Model {
    /// Reads a (stripped or full) botocore model.
    pub fn from_json(json: &str) -> Result<Model, String> {
        let raw: RawModel = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let ids: HashMap<&str, ShapeId> = raw
            .shapes
            .0
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        let id = |name: &str| ids.get(name).copied().ok_or_else(|| format!("unknown shape {name}"));
        let mut shapes = Vec::with_capacity(raw.shapes.0.len());
        for (name, s) in &raw.shapes.0 {
            let kind = match s.kind.as_str() {
                "string" => Kind::String {
                    pattern: s.pattern.as_deref().map(Pattern::new),
                    enumeration: s.enumeration.clone(),
                },
                "integer" => Kind::Integer,
                "long" => Kind::Long,
                "float" => Kind::Float,
                "double" => Kind::Double,
                "boolean" => Kind::Boolean,
                "blob" => Kind::Blob,
                "timestamp" => Kind::Timestamp,
                "list" => {
                    let m = s.member.as_ref().ok_or("a list without member")?;
                    Kind::List {
                        member: id(&m.shape)?,
                        member_name: m.location_name.clone(),
                    }
                }
                "map" => {
                    let k = s.key.as_ref().ok_or("a map without key")?;
                    let v = s.value.as_ref().ok_or("a map without value")?;
                    Kind::Map {
                        key: id(&k.shape)?,
                        value: id(&v.shape)?,
                        key_name: k.location_name.clone(),
                        value_name: v.location_name.clone(),
                    }
                }
                "structure" | "union" => {
                    let required = s.required.clone().unwrap_or_default();
                    let members = s
                        .members
                        .as_ref()
                        .map(|m| m.0.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .map(|(mname, m)| {
                            Ok(Member {
                                name: mname.clone(),
                                field: lower_first(mname),
                                shape: id(&m.shape)?,
                                required: required.contains(mname),
                                location_name: m.location_name.clone(),
                                flattened: m.flattened,
                                location: m.location.clone(),
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    let special = s.kind == "union" || s.exception || s.eventstream;
                    Kind::Structure { members, special }
                }
                other => return Err(format!("shape {name}: unknown type {other}")),
            };
            shapes.push(Shape {
                name: name.clone(),
                kind,
                min: s.min,
                max: s.max,
                location_name: s.location_name.clone(),
                flattened: s.flattened,
                payload: s.payload.clone(),
            });
        }
        let mut operations = HashMap::new();
        for (name, op) in raw.operations.0 {
            let input = op.input.map(|r| id(&r.shape)).transpose()?;
            let result_wrapper = op.output.as_ref().and_then(|r| r.result_wrapper.clone());
            let output = op.output.map(|r| id(&r.shape)).transpose()?;
            let errors = op.errors.unwrap_or_default().into_iter().map(|e| e.shape).collect();
            let http = op.http.map(|h| Http {
                method: h.method,
                request_uri: h.request_uri,
                response_code: h.response_code,
            });
            operations.insert(
                name.clone(),
                Operation {
                    name,
                    input,
                    output,
                    errors,
                    result_wrapper,
                    http,
                },
            );
        }
        Ok(Model {
            target_prefix: raw.metadata.target_prefix,
            signing_name: raw.metadata.signing_name.or(raw.metadata.endpoint_prefix),
            protocol: raw.metadata.protocol.clone(),
            // Query services report constraint errors themselves too (InvalidParameter).
            query_compatible: raw.metadata.aws_query_compatible.is_some() || raw.metadata.protocol == "query",
            xml_namespace: raw.metadata.xml_namespace,
            api_version: raw.metadata.api_version,
            operations,
            shapes,
        })
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    pub fn shape(&self, id: ShapeId) -> Option<&Shape> {
        self.shapes.get(id)
    }

    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values()
    }

    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    pub fn shape_named(&self, name: &str) -> Option<ShapeId> {
        self.shapes.iter().position(|s| s.name == name)
    }

    /// Puts the members of structure `shape` in the order AWS checks them: `first` in that
    /// order, then the others in model order. AWS's order is its service's own, not the model's
    /// (nor its reverse); where it is known it is recorded with the service's model.
    pub fn order(&mut self, shape: &str, first: &[&str]) {
        let Some(Kind::Structure { members, .. }) =
            self.shapes.iter_mut().find(|s| s.name == shape).map(|s| &mut s.kind)
        else {
            return;
        };
        members.sort_by_key(|m| first.iter().position(|f| *f == m.name).unwrap_or(first.len()));
    }

    /// Lists the values of enum `shape` as AWS prints them in a violation.
    pub fn enum_order(&mut self, shape: &str, values: &[&str]) {
        if let Some(Kind::String {
            enumeration: Some(e), ..
        }) = self.shapes.iter_mut().find(|s| s.name == shape).map(|s| &mut s.kind)
        {
            e.sort_by_key(|v| values.iter().position(|x| x == v).unwrap_or(values.len()));
        }
    }

    /// Replaces the pattern of string `shape` (each use says why).
    pub fn set_pattern(&mut self, shape: &str, pattern: &str) {
        if let Some(Kind::String { pattern: p, .. }) =
            self.shapes.iter_mut().find(|s| s.name == shape).map(|s| &mut s.kind)
        {
            *p = Some(Pattern::new(pattern));
        }
    }

    /// Makes `member` of structure `shape` required: a rule Rheo keeps that the model no
    /// longer states (each use says why). Returns whether the member exists.
    pub fn require(&mut self, shape: &str, member: &str) -> bool {
        let Some(Kind::Structure { members, .. }) =
            self.shapes.iter_mut().find(|s| s.name == shape).map(|s| &mut s.kind)
        else {
            return false;
        };
        members
            .iter_mut()
            .find(|m| m.name == member)
            .map(|m| m.required = true)
            .is_some()
    }
}

pub fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Amazon Kinesis (2013-12-02).
pub static KINESIS: LazyLock<Model> = LazyLock::new(|| {
    // The embedded model is tested to load; failing here would be a build defect.
    let mut m = Model::from_json(include_str!("../../models/kinesis.json")).expect("the Kinesis model loads");
    // The 2025 model made PartitionKey optional, for streams that place records themselves;
    // Rheo requires it, as the model did before (docs/compatibility.md).
    m.require("PutRecordInput", "PartitionKey");
    m.require("PutRecordsRequestEntry", "PartitionKey");
    for (shape, first) in KINESIS_ORDER {
        m.order(shape, first);
    }
    m.enum_order(
        "ShardIteratorType",
        &[
            "AFTER_SEQUENCE_NUMBER",
            "LATEST",
            "AT_TIMESTAMP",
            "AT_SEQUENCE_NUMBER",
            "TRIM_HORIZON",
        ],
    );
    m
});

/// Amazon SQS's last query-protocol model (botocore 1.34.89): the names its form requests and
/// XML responses use, which the JSON model no longer carries.
pub static SQS_QUERY: LazyLock<Model> =
    LazyLock::new(|| Model::from_json(include_str!("../../models/sqs-query.json")).expect("the SQS query model loads"));

/// Amazon SNS (2010-03-31), query protocol.
pub static SNS: LazyLock<Model> =
    LazyLock::new(|| Model::from_json(include_str!("../../models/sns.json")).expect("the SNS model loads"));

/// Amazon SQS (2012-11-05), AWS JSON 1.0 with `awsQueryCompatible`.
/// CloudWatch Logs (`2014-03-28`, AWS JSON 1.1): the log groups of functions.
pub static LOGS: LazyLock<Model> = LazyLock::new(|| {
    Model::from_json(include_str!("../../models/logs.json")).expect("the CloudWatch Logs model loads")
});

/// Amazon Data Firehose (`2015-08-04`, AWS JSON 1.1).
pub static FIREHOSE: LazyLock<Model> = LazyLock::new(|| {
    let mut m = Model::from_json(include_str!("../../models/firehose.json")).expect("the Firehose model loads");
    // HTTP endpoints may be plain HTTP here: a self-hosted pipeline's receivers often are
    // (docs/compatibility.md).
    m.set_pattern("HttpEndpointUrl", "https?://.*");
    m
});

/// AWS Glue (`2017-03-31`, AWS JSON 1.1): its data catalog's operations are served.
pub static GLUE: LazyLock<Model> =
    LazyLock::new(|| Model::from_json(include_str!("../../models/glue.json")).expect("the Glue model loads"));

/// Lambda (`2015-03-31`, rest-json).
pub static LAMBDA: LazyLock<Model> =
    LazyLock::new(|| Model::from_json(include_str!("../../models/lambda.json")).expect("the Lambda model loads"));

pub static SQS: LazyLock<Model> =
    LazyLock::new(|| Model::from_json(include_str!("../../models/sqs.json")).expect("the SQS model loads"));

/// The order in which AWS checks the members of Kinesis inputs, as kinesalite's tests recorded
/// it against AWS (its `validations/*.js` reproduce every exact message of those tests). Members
/// added to the model since come after, in model order (their place is not known).
pub(crate) const KINESIS_ORDER: &[(&str, &[&str])] = &[
    ("AddTagsToStreamInput", &["Tags", "StreamName"]),
    ("CreateStreamInput", &["ShardCount", "StreamName"]),
    (
        "DecreaseStreamRetentionPeriodInput",
        &["RetentionPeriodHours", "StreamName"],
    ),
    (
        "IncreaseStreamRetentionPeriodInput",
        &["RetentionPeriodHours", "StreamName"],
    ),
    ("DescribeStreamInput", &["Limit", "ExclusiveStartShardId", "StreamName"]),
    ("GetRecordsInput", &["Limit", "ShardIterator"]),
    (
        "GetShardIteratorInput",
        &[
            "ShardId",
            "ShardIteratorType",
            "StartingSequenceNumber",
            "StreamName",
            "Timestamp",
        ],
    ),
    (
        "ListShardsInput",
        &[
            "ExclusiveStartShardId",
            "MaxResults",
            "NextToken",
            "StreamCreationTimestamp",
            "StreamName",
        ],
    ),
    ("ListStreamsInput", &["Limit", "ExclusiveStartStreamName"]),
    (
        "ListTagsForStreamInput",
        &["Limit", "ExclusiveStartTagKey", "StreamName"],
    ),
    (
        "MergeShardsInput",
        &["ShardToMerge", "AdjacentShardToMerge", "StreamName"],
    ),
    (
        "PutRecordInput",
        &[
            "SequenceNumberForOrdering",
            "PartitionKey",
            "ExplicitHashKey",
            "Data",
            "StreamName",
        ],
    ),
    ("PutRecordsInput", &["Records", "StreamName"]),
    ("PutRecordsRequestEntry", &["PartitionKey", "ExplicitHashKey", "Data"]),
    ("RemoveTagsFromStreamInput", &["TagKeys", "StreamName"]),
    ("SplitShardInput", &["NewStartingHashKey", "StreamName", "ShardToSplit"]),
];

// The botocore JSON, as far as it is read.

#[derive(Deserialize)]
struct RawModel {
    metadata: RawMetadata,
    operations: Ordered<RawOperation>,
    shapes: Ordered<RawShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    protocol: String,
    target_prefix: Option<String>,
    signing_name: Option<String>,
    endpoint_prefix: Option<String>,
    aws_query_compatible: Option<serde::de::IgnoredAny>,
    xml_namespace: Option<String>,
    api_version: Option<String>,
}

#[derive(Deserialize)]
struct RawOperation {
    http: Option<RawHttp>,
    input: Option<RawRef>,
    output: Option<RawRef>,
    errors: Option<Vec<RawRef>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHttp {
    method: String,
    request_uri: String,
    response_code: Option<u16>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRef {
    shape: String,
    location: Option<String>,
    location_name: Option<String>,
    #[serde(default)]
    flattened: bool,
    result_wrapper: Option<String>,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    required: Option<Vec<String>>,
    members: Option<Ordered<RawRef>>,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enumeration: Option<Vec<String>>,
    #[serde(default)]
    exception: bool,
    #[serde(default)]
    eventstream: bool,
    #[serde(rename = "locationName")]
    location_name: Option<String>,
    #[serde(default)]
    flattened: bool,
    payload: Option<String>,
}

/// A JSON object's members in document order (member order matters to validation).
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}
