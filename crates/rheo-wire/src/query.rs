//! The AWS query protocol (awsQuery): form-encoded requests (`Action=...&Version=...` and the
//! input's members) read into the same tree a JSON request becomes, and JSON outputs written as
//! the XML a query client reads, both driven by the service's query model (its `locationName`
//! and `flattened` traits; SQS's come from its last query model, botocore 1.34.89).
//!
//! Request names: a structure member is `Parent.Member`; a list is `Name.member.N` (or
//! `Name.<memberName>.N`), flattened `Name.N` with the last segment replaced by the member's
//! name when it has one (`SendMessageBatchRequestEntry.1.Id`); a map is `Name.entry.N.key` /
//! `.value` (names overridable), flattened `Name.N.<key>`. N counts from 1; an empty value for
//! a list's own name (`Entries=`) is an empty list. Response XML: `<OpResponse xmlns=ns>` with
//! `<OpResult>` (the model's result wrapper) and `<ResponseMetadata><RequestId>`; flattened
//! lists and maps repeat their element, others wrap `member` or `entry` elements. Text escapes
//! `"` and CR as SQS does (a literal CR would be normalised away by XML parsers and change a
//! message body).

use crate::model::{Kind, Model, Node, Operation, ShapeId};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Parameters of a query request: the URL's query string, then the form body (which wins).
pub type Params = BTreeMap<String, String>;

/// Reads `application/x-www-form-urlencoded` pairs from the query string and the body. At most
/// [`crate::model::node::MAX_NODES`] pairs.
pub fn params(query: Option<&str>, body: &[u8]) -> Result<Params, String> {
    let mut out = Params::new();
    for part in [query.unwrap_or_default().as_bytes(), body] {
        for pair in part.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            if out.len() >= crate::model::node::MAX_NODES {
                return Err("too many parameters".into());
            }
            let mut halves = pair.splitn(2, |&b| b == b'=');
            let k = halves.next().unwrap_or_default();
            let v = halves.next().unwrap_or_default();
            out.insert(decode(k)?, decode(v)?);
        }
    }
    Ok(out)
}

/// Percent-decoding with `+` as a space.
fn decode(s: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex_digit);
                let lo = bytes.next().and_then(hex_digit);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => return Err("a bad percent escape".into()),
                }
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| "a parameter that is not UTF-8".into())
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The tree an operation's input is checked and decoded from.
pub fn input(model: &Model, op: &Operation, params: &Params) -> Node<'static> {
    match op.input {
        Some(shape) => structure(model, shape, "", params),
        None => Node::Object(Vec::new()),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Whether `key` or anything below it (`key.`) is present.
fn present(params: &Params, key: &str) -> bool {
    if params.contains_key(key) {
        return true;
    }
    let below = format!("{key}.");
    params
        .range(below.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&below))
}

fn structure(model: &Model, shape: ShapeId, prefix: &str, params: &Params) -> Node<'static> {
    let mut out = Vec::new();
    if let Some(Kind::Structure { members, .. }) = model.shape(shape).map(|s| &s.kind) {
        for m in members {
            let name = m.location_name.as_deref().unwrap_or(&m.name);
            if let Some(v) = value(model, m.shape, &join(prefix, name), m.flattened, params) {
                out.push((Cow::Owned(m.name.clone()), v));
            }
        }
    }
    Node::Object(out)
}

fn value(model: &Model, shape: ShapeId, key: &str, member_flattened: bool, params: &Params) -> Option<Node<'static>> {
    let s = model.shape(shape)?;
    let flattened = s.flattened || member_flattened;
    match &s.kind {
        Kind::Structure { .. } => present(params, key).then(|| structure(model, shape, key, params)),
        Kind::List { member, member_name } => {
            let base = if flattened {
                match member_name {
                    // The last segment becomes the member's name.
                    Some(n) => match key.rsplit_once('.') {
                        Some((p, _)) => format!("{p}.{n}"),
                        None => n.clone(),
                    },
                    None => key.to_owned(),
                }
            } else {
                join(key, member_name.as_deref().unwrap_or("member"))
            };
            let mut items = Vec::new();
            for n in 1.. {
                let item = format!("{base}.{n}");
                if !present(params, &item) {
                    break;
                }
                items.extend(value(model, *member, &item, false, params));
            }
            let empty_named = params.get(key).is_some_and(String::is_empty);
            (!items.is_empty() || empty_named).then_some(Node::List(items))
        }
        Kind::Map {
            key: k,
            value: v,
            key_name,
            value_name,
        } => {
            let base = if flattened {
                match &s.location_name {
                    Some(n) if !key.ends_with(n.as_str()) => match key.rsplit_once('.') {
                        Some((p, _)) => format!("{p}.{n}"),
                        None => n.clone(),
                    },
                    _ => key.to_owned(),
                }
            } else {
                join(key, "entry")
            };
            let (kn, vn) = (
                key_name.as_deref().unwrap_or("key"),
                value_name.as_deref().unwrap_or("value"),
            );
            let mut entries = Vec::new();
            for n in 1.. {
                let entry = format!("{base}.{n}");
                if !present(params, &entry) {
                    break;
                }
                let Some(name) = params.get(&join(&entry, kn)) else {
                    continue;
                };
                if let Some(val) = value(model, *v, &join(&entry, vn), false, params) {
                    let _ = k;
                    entries.push((Cow::Owned(name.clone()), val));
                }
            }
            (!entries.is_empty()).then_some(Node::Object(entries))
        }
        kind => params.get(key).map(|raw| scalar(kind, raw)),
    }
}

/// A scalar's text as the JSON value the check expects: numbers and booleans typed, the rest
/// strings (a text that is not a number stays a string, and the check names the mismatch).
fn scalar(kind: &Kind, raw: &str) -> Node<'static> {
    match kind {
        Kind::Integer | Kind::Long => raw
            .trim()
            .parse::<i64>()
            .map(|n| Node::Number(n.into()))
            .unwrap_or_else(|_| Node::Str(Cow::Owned(raw.to_owned()))),
        Kind::Float | Kind::Double => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Node::Number)
            .unwrap_or_else(|| Node::Str(Cow::Owned(raw.to_owned()))),
        Kind::Boolean => match raw {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            _ => Node::Str(Cow::Owned(raw.to_owned())),
        },
        _ => Node::Str(Cow::Owned(raw.to_owned())),
    }
}

/// A successful response: the operation's output (as JSON) written as XML.
pub fn response(model: &Model, op: &Operation, output: &serde_json::Value, request_id: &str) -> String {
    let mut x = String::with_capacity(256);
    x.push_str("<?xml version=\"1.0\"?>");
    let _ = write!(
        x,
        "<{}Response xmlns=\"{}\">",
        op.name,
        model.xml_namespace.as_deref().unwrap_or_default()
    );
    if let (Some(shape), Some(wrapper)) = (op.output, &op.result_wrapper) {
        let _ = write!(x, "<{wrapper}>");
        write_members(&mut x, model, shape, output);
        let _ = write!(x, "</{wrapper}>");
    }
    let _ = write!(
        x,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{}Response>",
        escape(request_id),
        op.name
    );
    x
}

/// An error response: `<ErrorResponse>` with the error's fault, code and message.
pub fn error(model: &Model, fault: &str, code: &str, message: Option<&str>, request_id: &str) -> String {
    let mut x = String::with_capacity(256);
    let _ = write!(
        x,
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{}\"><Error><Type>{fault}</Type><Code>{}</Code>",
        model.xml_namespace.as_deref().unwrap_or_default(),
        escape(code)
    );
    if let Some(m) = message {
        let _ = write!(x, "<Message>{}</Message>", escape(m));
    }
    let _ = write!(
        x,
        "<Detail/></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(request_id)
    );
    x
}

fn write_members(x: &mut String, model: &Model, shape: ShapeId, v: &serde_json::Value) {
    let Some(Kind::Structure { members, .. }) = model.shape(shape).map(|s| &s.kind) else {
        return;
    };
    let Some(obj) = v.as_object() else { return };
    for m in members {
        if let Some(val) = obj.get(&m.name).filter(|v| !v.is_null()) {
            let name = m.location_name.as_deref().unwrap_or(&m.name);
            write_value(x, model, m.shape, name, m.flattened, val);
        }
    }
}

fn write_value(
    x: &mut String,
    model: &Model,
    shape: ShapeId,
    name: &str,
    member_flattened: bool,
    v: &serde_json::Value,
) {
    let Some(s) = model.shape(shape) else { return };
    let flattened = s.flattened || member_flattened;
    match &s.kind {
        Kind::Structure { .. } => {
            let _ = write!(x, "<{name}>");
            write_members(x, model, shape, v);
            let _ = write!(x, "</{name}>");
        }
        Kind::List { member, member_name } => {
            let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
            if flattened {
                let item_name = member_name.as_deref().unwrap_or(name);
                for item in items {
                    write_value(x, model, *member, item_name, false, item);
                }
            } else {
                let _ = write!(x, "<{name}>");
                for item in items {
                    write_value(
                        x,
                        model,
                        *member,
                        member_name.as_deref().unwrap_or("member"),
                        false,
                        item,
                    );
                }
                let _ = write!(x, "</{name}>");
            }
        }
        Kind::Map {
            value,
            key_name,
            value_name,
            ..
        } => {
            let (kn, vn) = (
                key_name.as_deref().unwrap_or("key"),
                value_name.as_deref().unwrap_or("value"),
            );
            let Some(entries) = v.as_object() else { return };
            if !flattened {
                let _ = write!(x, "<{name}>");
            }
            for (k, val) in entries {
                let _ = write!(
                    x,
                    "<{}><{kn}>{}</{kn}>",
                    if flattened { name } else { "entry" },
                    escape(k)
                );
                write_value(x, model, *value, vn, false, val);
                let _ = write!(x, "</{}>", if flattened { name } else { "entry" });
            }
            if !flattened {
                let _ = write!(x, "</{name}>");
            }
        }
        _ => {
            let text = match v {
                serde_json::Value::String(s) => escape(s),
                serde_json::Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            let _ = write!(x, "<{name}>{text}</{name}>");
        }
    }
}

/// XML text, escaped as SQS escapes it: `& < > "` as entities and CR as `&#xD;`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SQS_QUERY;

    fn node_json(n: &Node<'_>) -> serde_json::Value {
        match n {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => (*b).into(),
            Node::Number(n) => serde_json::Value::Number(n.clone()),
            Node::Str(s) => s.as_ref().into(),
            Node::Blob(_) => "blob".into(),
            Node::List(items) => items.iter().map(node_json).collect(),
            Node::Object(m) => m.iter().map(|(k, v)| (k.to_string(), node_json(v))).collect(),
        }
    }

    fn read(body: &str) -> serde_json::Value {
        let p = params(None, body.as_bytes()).unwrap();
        let op = SQS_QUERY.operation(p.get("Action").unwrap()).unwrap();
        node_json(&input(&SQS_QUERY, op, &p))
    }

    /// Bodies botocore 1.43.11 sent with the SQS query model (research note).
    #[test]
    fn botocore_query_requests_read_into_json_shapes() {
        assert_eq!(
            read(
                "Action=CreateQueue&Version=2012-11-05&QueueName=q1&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Attribute.2.Name=DelaySeconds&Attribute.2.Value=0&Tag.1.Key=team&Tag.1.Value=a"
            ),
            serde_json::json!({"QueueName": "q1", "Attributes": {"VisibilityTimeout": "40", "DelaySeconds": "0"}, "tags": {"team": "a"}})
        );
        assert_eq!(
            read(
                "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Flocalhost%3A5055%2F123456789012%2Fq1&MessageBody=hello+%3C%26%3E+%22world%22&DelaySeconds=0&MessageAttribute.1.Name=s&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=str&MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAFiaW4%3D"
            ),
            serde_json::json!({
                "QueueUrl": "http://localhost:5055/123456789012/q1",
                "MessageBody": "hello <&> \"world\"",
                "DelaySeconds": 0,
                "MessageAttributes": {
                    "s": {"StringValue": "str", "DataType": "String"},
                    "b": {"BinaryValue": "AAFiaW4=", "DataType": "Binary"}
                }
            })
        );
        assert_eq!(
            read(
                "Action=SendMessageBatch&Version=2012-11-05&QueueUrl=u&SendMessageBatchRequestEntry.1.Id=m1&SendMessageBatchRequestEntry.1.MessageBody=one&SendMessageBatchRequestEntry.2.Id=m2&SendMessageBatchRequestEntry.2.MessageBody=two&SendMessageBatchRequestEntry.2.DelaySeconds=1"
            ),
            serde_json::json!({"QueueUrl": "u", "Entries": [
                {"Id": "m1", "MessageBody": "one"},
                {"Id": "m2", "MessageBody": "two", "DelaySeconds": 1}
            ]})
        );
        assert_eq!(
            read(
                "Action=ReceiveMessage&Version=2012-11-05&QueueUrl=u&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10"
            ),
            serde_json::json!({"QueueUrl": "u", "AttributeNames": ["All"], "MessageAttributeNames": ["All"], "MaxNumberOfMessages": 10})
        );
        assert_eq!(
            read("Action=UntagQueue&Version=2012-11-05&QueueUrl=u&TagKey.1=k1&TagKey.2=env"),
            serde_json::json!({"QueueUrl": "u", "TagKeys": ["k1", "env"]})
        );
        assert_eq!(
            read("Action=TagQueue&Version=2012-11-05&QueueUrl=u&Tag.1.Key=team&Tag.1.Value=ci"),
            serde_json::json!({"QueueUrl": "u", "Tags": {"team": "ci"}})
        );
        assert_eq!(
            read("Action=SendMessageBatch&Version=2012-11-05&QueueUrl=u&Entries="),
            serde_json::json!({"QueueUrl": "u", "Entries": []})
        );
    }

    #[test]
    fn outputs_are_written_as_query_xml() {
        let op = SQS_QUERY.operation("ReceiveMessage").unwrap();
        let out = serde_json::json!({"Messages": [{
            "MessageId": "m", "ReceiptHandle": "h", "MD5OfBody": "d", "Body": "a\r\"b\"",
            "Attributes": {"SenderId": "1"},
            "MessageAttributes": {"k": {"StringValue": "v", "DataType": "String"}}
        }]});
        assert_eq!(
            response(&SQS_QUERY, op, &out, "r"),
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ReceiveMessageResult>\
             <Message><MessageId>m</MessageId><ReceiptHandle>h</ReceiptHandle><MD5OfBody>d</MD5OfBody><Body>a&#xD;&quot;b&quot;</Body>\
             <Attribute><Name>SenderId</Name><Value>1</Value></Attribute>\
             <MessageAttribute><Name>k</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute></Message>\
             </ReceiveMessageResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ReceiveMessageResponse>"
        );
        let op = SQS_QUERY.operation("ListQueues").unwrap();
        let xml = response(&SQS_QUERY, op, &serde_json::json!({"QueueUrls": ["a", "b"]}), "r");
        assert!(
            xml.contains("<ListQueuesResult><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl></ListQueuesResult>"),
            "{xml}"
        );
        let op = SQS_QUERY.operation("DeleteMessage").unwrap();
        let xml = response(&SQS_QUERY, op, &serde_json::json!({}), "r");
        assert!(xml.ends_with("<DeleteMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteMessageResponse>"), "{xml}");
    }

    #[test]
    fn forms_decode_percent_escapes_and_plus() {
        let p = params(Some("Action=X&A=1"), b"A=2&B=a+b%26c%3Dd%2F%C3%A9&C").unwrap();
        assert_eq!(p["A"], "2");
        assert_eq!(p["B"], "a b&c=d/é");
        assert_eq!(p["C"], "");
        assert!(params(None, b"A=%zz").is_err());
        assert!(params(None, b"A=%4").is_err());
    }
}
