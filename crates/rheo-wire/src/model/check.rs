//! An operation's input checked against its model shape, with the errors AWS's JSON front end
//! gives (texts as kinesalite recorded them against AWS; see docs/compatibility.md):
//!
//! 1. **Types.** Each member's JSON type against its shape, depth first in member order; the
//!    first mismatch is a SerializationException (`class java.lang.Boolean can not be converted
//!    to an String`, `Expected map or null`, `Start of structure or map found where not
//!    expected.`, ...). On the way the tree is normalised as AWS reads it: unknown members and
//!    nulls are dropped, a repeated member keeps its last value, integers are floored (and
//!    `Integer`s capped at 2^31-1), blobs are decoded from base64.
//! 2. **Constraints.** Required members, then each member's pattern, enum, length and range,
//!    collected in member order (list elements in order, nested paths `records.1.member.data`),
//!    at most ten, into one ValidationException: `2 validation errors detected: Value 'x' at
//!    'streamName' failed to satisfy constraint: Member must ...; Value null at ...`.

use super::node::Node;
use super::{Kind, Model, ShapeId};
use crate::BASE64;
use base64::Engine as _;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Why a request was refused before its handler ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A member of the wrong JSON type: SerializationException.
    Serialization(String),
    /// Constraint violations: ValidationException.
    Validation(String),
}

/// AWS lists at most this many violations.
const MAX_VIOLATIONS: usize = 10;

/// The longest value a pattern is matched against.
const MAX_MATCHED: usize = 64 * 1024;

/// Checks `body` as the input of `shape` (an operation's input), normalising it for decoding.
pub fn check_input(model: &Model, shape: ShapeId, body: &mut Node<'_>) -> Result<(), Rejection> {
    if !matches!(body, Node::Object(_)) {
        return Err(Rejection::Serialization(mismatch_text(body, Expect::Structure)));
    }
    types(model, shape, body).map_err(Rejection::Serialization)?;
    if model.query_compatible {
        return Ok(());
    }
    let mut v = Vec::new();
    constraints(model, shape, body, &Path::Root, &mut v);
    crate::validate::message(&v).map_or(Ok(()), |m| Err(Rejection::Validation(m)))
}

#[derive(Clone, Copy)]
enum Expect {
    Str,
    Boolean,
    Number(&'static str),
    Blob,
    Timestamp,
    List,
    Map,
    Structure,
}

/// AWS's text for a value of the wrong JSON type.
fn mismatch_text(node: &Node<'_>, expect: Expect) -> String {
    let java = |class: &str| match expect {
        Expect::Str => format!("class {class} can not be converted to an String"),
        Expect::Boolean => format!("class {class} can not be converted to an Boolean"),
        Expect::Number(t) => format!("class {class} can not be converted to an {t}"),
        Expect::Blob => format!("class {class} can not be converted to a Blob"),
        Expect::Timestamp => format!("class {class} can not be converted to milliseconds since epoch"),
        Expect::List => "Expected list or null".into(),
        Expect::Map => "Expected map or null".into(),
        Expect::Structure => "Expected null".into(),
    };
    match node {
        Node::List(_) => "Start of list found where not expected".into(),
        Node::Object(_) => "Start of structure or map found where not expected.".into(),
        Node::Bool(_) => java("java.lang.Boolean"),
        Node::Number(_) => java("com.amazon.coral.value.json.numbers.TruncatingBigNumber"),
        Node::Str(s) => match expect {
            Expect::Boolean => format!("'{}' can not be converted to an Boolean", s.to_uppercase()),
            _ => java("java.lang.String"),
        },
        Node::Null | Node::Blob(_) => java("java.lang.Object"),
    }
}

/// Pass 1: JSON types, depth first; normalises `node`.
fn types(model: &Model, id: ShapeId, node: &mut Node<'_>) -> Result<(), String> {
    let Some(shape) = model.shape(id) else { return Ok(()) };
    if node.is_null() {
        return Ok(());
    }
    match &shape.kind {
        Kind::String { .. } => match node {
            Node::Str(_) => Ok(()),
            other => Err(mismatch_text(other, Expect::Str)),
        },
        Kind::Boolean => match node {
            Node::Bool(_) => Ok(()),
            Node::Str(s) => {
                // Coral reads these words as booleans (kinesalite's notes from AWS).
                let b = match s.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => true,
                    "false" | "no" | "0" => false,
                    _ => return Err(mismatch_text(node, Expect::Boolean)),
                };
                *node = Node::Bool(b);
                Ok(())
            }
            other => Err(mismatch_text(other, Expect::Boolean)),
        },
        Kind::Integer | Kind::Long | Kind::Float | Kind::Double => {
            let name = match shape.kind {
                Kind::Integer => "Integer",
                Kind::Long => "Long",
                Kind::Float => "Float",
                _ => "Double",
            };
            match node {
                Node::Number(n) => {
                    if matches!(shape.kind, Kind::Integer | Kind::Long) {
                        // AWS's truncating numbers: a fraction is floored, a number past the
                        // type's range capped (float-to-int casts saturate).
                        let whole = n
                            .as_i64()
                            .or_else(|| n.as_u64().map(|_| i64::MAX))
                            .unwrap_or_else(|| n.as_f64().unwrap_or_default().floor() as i64);
                        let capped = match shape.kind {
                            Kind::Integer => whole.clamp(i64::from(i32::MIN), i64::from(i32::MAX)),
                            _ => whole,
                        };
                        *n = capped.into();
                    }
                    Ok(())
                }
                other => Err(mismatch_text(other, Expect::Number(name))),
            }
        }
        Kind::Timestamp => match node {
            Node::Number(_) => Ok(()),
            other => Err(mismatch_text(other, Expect::Timestamp)),
        },
        Kind::Blob => match node {
            Node::Str(s) => {
                let bytes = decode_blob(s)?;
                *node = Node::Blob(bytes);
                Ok(())
            }
            Node::Blob(_) => Ok(()),
            other => Err(mismatch_text(other, Expect::Blob)),
        },
        Kind::List { member, .. } => match node {
            Node::List(items) => {
                // Nulls in a list are dropped, as nulls among a structure's members are.
                items.retain(|i| !i.is_null());
                for item in items.iter_mut() {
                    types(model, *member, item)?;
                }
                Ok(())
            }
            other => Err(mismatch_text(other, Expect::List)),
        },
        Kind::Map { value, .. } => match node {
            Node::Object(entries) => {
                dedupe(entries);
                entries.retain(|(_, v)| !v.is_null());
                for (_, v) in entries.iter_mut() {
                    types(model, *value, v)?;
                }
                Ok(())
            }
            other => Err(mismatch_text(other, Expect::Map)),
        },
        Kind::Structure { members, .. } => match node {
            Node::Object(entries) => {
                dedupe(entries);
                entries.retain(|(k, v)| !v.is_null() && members.iter().any(|m| m.name == *k));
                for m in members {
                    if let Some((_, v)) = entries.iter_mut().find(|(k, _)| *k == m.name) {
                        types(model, m.shape, v)?;
                    }
                }
                Ok(())
            }
            other => Err(mismatch_text(other, Expect::Structure)),
        },
    }
}

/// Keeps the last of repeated keys, in place.
fn dedupe(entries: &mut Vec<(Cow<'_, str>, Node<'_>)>) {
    if entries.len() < 2 {
        return;
    }
    // The common case, no key repeated, checked without allocating for small objects.
    let repeated = match entries.get(..16.min(entries.len())) {
        Some(small) if entries.len() <= 16 => small
            .iter()
            .enumerate()
            .any(|(i, (k, _))| small.iter().skip(i.saturating_add(1)).any(|(o, _)| o == k)),
        _ => true,
    };
    if !repeated {
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    let mut keep = vec![false; entries.len()];
    for (i, (k, _)) in entries.iter().enumerate().rev() {
        if seen.insert(k.clone())
            && let Some(slot) = keep.get_mut(i)
        {
            *slot = true;
        }
    }
    let mut flags = keep.into_iter();
    entries.retain(|_| flags.next().unwrap_or(true));
}

/// Base64 as AWS checks it: a multiple of four characters, the standard alphabet, canonical
/// last character.
fn decode_blob(s: &str) -> Result<Vec<u8>, String> {
    // Valid base64 (the common case) decodes at SIMD speed; the checks below only word the error.
    if s.len().is_multiple_of(4)
        && let Ok(bytes) = BASE64.decode(s)
    {
        return Ok(bytes);
    }
    let len = utf16_len(s);
    if !len.is_multiple_of(4) {
        return Err(format!(
            "'{s}' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: {len}"
        ));
    }
    let bad = s.char_indices().find(|&(i, c)| {
        !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')
            || (c == '='
                && s.get(i.saturating_add(1)..)
                    .and_then(|r| r.chars().next())
                    .is_some_and(|n| n != '='))
    });
    if let Some((_, c)) = bad {
        return Err(format!(
            "'{s}' can not be converted to a Blob: Invalid Base64 character: '{c}'"
        ));
    }
    BASE64
        .decode(s)
        .map_err(|_| format!("'{s}' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"))
}

/// Where a value sits in the request (`records.1.member.data`), written out only when a
/// violation names it: a valid request builds no strings.
enum Path<'p> {
    Root,
    Member(&'p Path<'p>, &'p str),
    Item(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Member(parent, field) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(field);
            }
            Path::Item(parent, i) => {
                parent.write(out);
                let _ = write!(out, ".{}.member", i.saturating_add(1));
            }
        }
    }
}

/// Pass 2: constraints of the members of structure `id` in `node`, under `path`.
fn constraints(model: &Model, id: ShapeId, node: &Node<'_>, path: &Path<'_>, v: &mut Vec<String>) {
    let Some(Kind::Structure { members, .. }) = model.shape(id).map(|s| &s.kind) else {
        return;
    };
    for m in members {
        if v.len() >= MAX_VIOLATIONS {
            return;
        }
        let field = Path::Member(path, &m.field);
        match node.get(&m.name) {
            None if m.required => push(v, "null", &field, "Member must not be null"),
            None => {}
            Some(value) => member(model, m.shape, value, &field, v),
        }
    }
}

fn push(v: &mut Vec<String>, shown: &str, field: &Path<'_>, constraint: &str) {
    if v.len() < MAX_VIOLATIONS {
        let mut at = String::new();
        field.write(&mut at);
        v.push(crate::validate::violation(shown, &at, constraint));
    }
}

/// The constraints one value of shape `id` breaks, as AWS words them, in AWS's order.
fn broken(model: &Model, id: ShapeId, value: &Node<'_>) -> Vec<String> {
    let Some(shape) = model.shape(id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let len = |min: Option<f64>, max: Option<f64>, n: usize, out: &mut Vec<String>| {
        if let Some(min) = min.filter(|m| (n as f64) < *m) {
            out.push(format!("Member must have length greater than or equal to {}", num(min)));
        }
        if let Some(max) = max.filter(|m| (n as f64) > *m) {
            out.push(format!("Member must have length less than or equal to {}", num(max)));
        }
    };
    match (&shape.kind, value) {
        (Kind::String { pattern, enumeration }, Node::Str(s)) => {
            // A pattern is matched on values up to 64 KiB only: the regex engine's time grows
            // with the value, on an async worker (docs/compatibility.md).
            if let Some(p) = pattern.as_ref().filter(|p| s.len() <= MAX_MATCHED && !p.matches(s)) {
                out.push(format!("Member must satisfy regular expression pattern: {}", p.source));
            }
            if let Some(e) = enumeration.as_ref().filter(|e| !e.iter().any(|x| x == s.as_ref())) {
                out.push(format!("Member must satisfy enum value set: [{}]", e.join(", ")));
            }
            if shape.min.is_some() || shape.max.is_some() {
                len(shape.min, shape.max, utf16_len(s), &mut out);
            }
        }
        (Kind::Blob, Node::Blob(b)) => len(shape.min, shape.max, b.len(), &mut out),
        (Kind::List { .. }, Node::List(items)) => len(shape.min, shape.max, items.len(), &mut out),
        (Kind::Map { .. }, Node::Object(entries)) => len(shape.min, shape.max, entries.len(), &mut out),
        (Kind::Integer | Kind::Long | Kind::Float | Kind::Double, Node::Number(n)) => {
            let x = n.as_f64().unwrap_or_default();
            if let Some(min) = shape.min.filter(|m| x < *m) {
                out.push(format!("Member must have value greater than or equal to {}", num(min)));
            }
            if let Some(max) = shape.max.filter(|m| x > *m) {
                out.push(format!("Member must have value less than or equal to {}", num(max)));
            }
        }
        _ => {}
    }
    out
}

/// A string's length as Java counts it (UTF-16 units).
fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// Every constraint shape `id` states, as AWS lists them for a list's elements or a map's
/// keys and values (`[Member must have length less than or equal to 128, Member must have
/// length greater than or equal to 1]`).
fn stated(model: &Model, id: ShapeId) -> Vec<String> {
    let Some(shape) = model.shape(id) else {
        return Vec::new();
    };
    let numeric = matches!(shape.kind, Kind::Integer | Kind::Long | Kind::Float | Kind::Double);
    let what = if numeric { "value" } else { "length" };
    let mut out = Vec::new();
    if let Some(max) = shape.max {
        out.push(format!("Member must have {what} less than or equal to {}", num(max)));
    }
    if let Some(min) = shape.min {
        out.push(format!("Member must have {what} greater than or equal to {}", num(min)));
    }
    if let Kind::String { pattern, enumeration } = &shape.kind {
        if let Some(p) = pattern {
            out.push(format!("Member must satisfy regular expression pattern: {}", p.source));
        }
        if let Some(e) = enumeration {
            out.push(format!("Member must satisfy enum value set: [{}]", e.join(", ")));
        }
    }
    out
}

fn is_structure(model: &Model, id: ShapeId) -> bool {
    matches!(model.shape(id).map(|s| &s.kind), Some(Kind::Structure { .. }))
}

/// Checks one member's value (and, for containers, what it holds).
fn member(model: &Model, id: ShapeId, value: &Node<'_>, field: &Path<'_>, v: &mut Vec<String>) {
    let Some(shape) = model.shape(id) else { return };
    let own = broken(model, id, value);
    if !own.is_empty() {
        let shown = render(model, id, value);
        for c in own {
            push(v, &shown, field, &c);
        }
    }
    match (&shape.kind, value) {
        (Kind::Structure { .. }, Node::Object(_)) => constraints(model, id, value, field, v),
        (Kind::List { member: m, .. }, Node::List(items)) if is_structure(model, *m) => {
            for (i, item) in items.iter().enumerate() {
                if v.len() >= MAX_VIOLATIONS {
                    return;
                }
                constraints(model, *m, item, &Path::Item(field, i), v);
            }
        }
        (Kind::List { member: m, .. }, Node::List(items))
            if items.iter().any(|item| !broken(model, *m, item).is_empty()) =>
        {
            let shown = render(model, id, value);
            let all = stated(model, *m).join(", ");
            push(v, &shown, field, &format!("Member must satisfy constraint: [{all}]"));
        }
        (Kind::Map { key, value: val, .. }, Node::Object(entries)) => {
            let shown = || render(model, id, value);
            if entries
                .iter()
                .any(|(k, _)| !broken(model, *key, &Node::Str(k.clone())).is_empty())
            {
                let all = stated(model, *key).join(", ");
                push(
                    v,
                    &shown(),
                    field,
                    &format!("Map keys must satisfy constraint: [{all}]"),
                );
            }
            if entries.iter().any(|(_, x)| !broken(model, *val, x).is_empty()) {
                let all = stated(model, *val).join(", ");
                push(
                    v,
                    &shown(),
                    field,
                    &format!("Map value must satisfy constraint: [{all}]"),
                );
            }
        }
        _ => {}
    }
}

/// A bound as AWS prints it: integral bounds without a fraction.
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e18 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A value as AWS shows it in a violation, quoted (Java's `toString` of what it parsed).
fn render(model: &Model, id: ShapeId, value: &Node<'_>) -> String {
    format!("'{}'", plain(model, id, value))
}

fn plain(model: &Model, id: ShapeId, value: &Node<'_>) -> String {
    let kind = model.shape(id).map(|s| &s.kind);
    match value {
        Node::Null => "null".into(),
        Node::Bool(b) => b.to_string(),
        Node::Number(n) => n.to_string(),
        Node::Str(s) => s.to_string(),
        Node::Blob(b) => format!("java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]", b.len()),
        Node::List(items) => {
            let member = match kind {
                Some(Kind::List { member, .. }) => Some(*member),
                _ => None,
            };
            let parts: Vec<String> = items
                .iter()
                .map(|i| member.map_or_else(String::new, |m| plain(model, m, i)))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Node::Object(entries) => match kind {
            Some(Kind::Map { value: val, .. }) => {
                let mut out = String::from("{");
                for (i, (k, x)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{k}={}", plain(model, *val, x));
                }
                out.push('}');
                out
            }
            Some(Kind::Structure { members, .. }) => {
                // Coral's generated toString: `Shape(Member=value, ...)` without null members.
                let name = model.shape(id).map_or("", |s| s.name.as_str());
                let parts: Vec<String> = members
                    .iter()
                    .filter_map(|m| {
                        value
                            .get(&m.name)
                            .map(|x| format!("{}={}", m.name, plain(model, m.shape, x)))
                    })
                    .collect();
                format!("{name}({})", parts.join(", "))
            }
            _ => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model fragment in the botocore form: what a service's model gives the checker.
    const FRAGMENT: &str = r#"{
      "metadata": {"protocol": "json", "targetPrefix": "Test_1", "signingName": "test"},
      "operations": {"Put": {"name": "Put", "input": {"shape": "PutInput"}}},
      "shapes": {
        "PutInput": {"type": "structure", "required": ["Name", "Items"], "members": {
          "Name": {"shape": "Name"}, "Count": {"shape": "Count"}, "Items": {"shape": "Items"},
          "Tags": {"shape": "Tags"}, "Keys": {"shape": "Keys"}, "Data": {"shape": "Data"},
          "Mode": {"shape": "Mode"}, "Flag": {"shape": "Flag"}, "At": {"shape": "At"}}},
        "Name": {"type": "string", "min": 1, "max": 5, "pattern": "[a-z]+"},
        "Count": {"type": "integer", "min": 1, "max": 10},
        "Items": {"type": "list", "member": {"shape": "Item"}, "min": 1, "max": 2},
        "Item": {"type": "structure", "required": ["Data"], "members": {"Data": {"shape": "Data"}, "Key": {"shape": "Name"}}},
        "Data": {"type": "blob", "max": 3},
        "Tags": {"type": "map", "key": {"shape": "TagKey"}, "value": {"shape": "TagValue"}, "min": 1},
        "TagKey": {"type": "string", "min": 1, "max": 3},
        "TagValue": {"type": "string", "max": 2},
        "Keys": {"type": "list", "member": {"shape": "TagKey"}},
        "Mode": {"type": "string", "enum": ["ON", "OFF"]},
        "Flag": {"type": "boolean"},
        "At": {"type": "timestamp"}
      }
    }"#;

    fn run(body: &str) -> Result<Node<'_>, Rejection> {
        let model = Model::from_json(FRAGMENT).unwrap();
        let input = model.operation("Put").unwrap().input.unwrap();
        let mut node = Node::parse(body.as_bytes()).unwrap();
        check_input(&model, input, &mut node).map(|()| node)
    }

    fn serialization(body: &str) -> String {
        match run(body) {
            Err(Rejection::Serialization(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    fn validation(body: &str) -> String {
        match run(body) {
            Err(Rejection::Validation(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn wrong_json_types_get_the_serialization_texts() {
        let cases = [
            (
                r#"{"Name":true}"#,
                "class java.lang.Boolean can not be converted to an String",
            ),
            (
                r#"{"Name":12}"#,
                "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
            ),
            (r#"{"Name":[]}"#, "Start of list found where not expected"),
            (r#"{"Name":{}}"#, "Start of structure or map found where not expected."),
            (
                r#"{"Count":"5"}"#,
                "class java.lang.String can not be converted to an Integer",
            ),
            (
                r#"{"Count":false}"#,
                "class java.lang.Boolean can not be converted to an Integer",
            ),
            (r#"{"Tags":"23"}"#, "Expected map or null"),
            (r#"{"Tags":[]}"#, "Start of list found where not expected"),
            (r#"{"Items":"x"}"#, "Expected list or null"),
            (r#"{"Items":{}}"#, "Start of structure or map found where not expected."),
            (
                r#"{"Items":[{"Data":5}]}"#,
                "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob",
            ),
            (r#"{"Items":["x"]}"#, "Expected null"),
            (r#"{"Flag":"maybe"}"#, "'MAYBE' can not be converted to an Boolean"),
            (
                r#"{"At":"2020"}"#,
                "class java.lang.String can not be converted to milliseconds since epoch",
            ),
            (
                r#"{"Data":"abc"}"#,
                "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3",
            ),
            (
                r#"{"Data":"ab~="}"#,
                "'ab~=' can not be converted to a Blob: Invalid Base64 character: '~'",
            ),
            (
                r#"{"Data":"YR=="}"#,
                "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(serialization(body), want, "{body}");
        }
        assert_eq!(
            match run("[]") {
                Err(Rejection::Serialization(m)) => m,
                other => panic!("{other:?}"),
            },
            "Start of list found where not expected"
        );
    }

    #[test]
    fn constraints_are_listed_in_member_order_with_aws_wording() {
        assert_eq!(
            validation("{}"),
            "2 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; \
             Value null at 'items' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            validation(r#"{"Name":"ABCDEF","Count":0,"Items":[]}"#),
            "4 validation errors detected: \
             Value 'ABCDEF' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+; \
             Value 'ABCDEF' at 'name' failed to satisfy constraint: Member must have length less than or equal to 5; \
             Value '0' at 'count' failed to satisfy constraint: Member must have value greater than or equal to 1; \
             Value '[]' at 'items' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert_eq!(
            validation(r#"{"Name":"a","Items":[{"Data":"YWJjZA=="},{}]}"#),
            "2 validation errors detected: \
             Value 'java.nio.HeapByteBuffer[pos=0 lim=4 cap=4]' at 'items.1.member.data' failed to satisfy constraint: Member must have length less than or equal to 3; \
             Value null at 'items.2.member.data' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            validation(r#"{"Name":"a","Items":[{"Data":""}],"Tags":{"long":"vvv"},"Keys":["a",""],"Mode":"UP"}"#),
            "4 validation errors detected: \
             Value '{long=vvv}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 3, Member must have length greater than or equal to 1]; \
             Value '{long=vvv}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 2]; \
             Value '[a, ]' at 'keys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 3, Member must have length greater than or equal to 1]; \
             Value 'UP' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [ON, OFF]"
        );
    }

    #[test]
    fn nulls_in_lists_are_dropped_and_long_values_are_not_matched() {
        let node = run(r#"{"Name":"a","Items":[null,{"Data":"YQ=="}],"Keys":[null,"k"]}"#).unwrap();
        assert!(matches!(node.get("Keys"), Some(Node::List(k)) if k.len() == 1));
        assert!(matches!(node.get("Items"), Some(Node::List(k)) if k.len() == 1));
        // Past 64 KiB only the length is reported, not the pattern.
        let long = format!(r#"{{"Name":"{}","Items":[{{}}]}}"#, "A".repeat(MAX_MATCHED + 1));
        let m = validation(&long);
        assert!(
            m.contains("length less than or equal to 5") && !m.contains("pattern"),
            "{m}"
        );
    }

    #[test]
    fn at_most_ten_violations_are_listed() {
        let items: Vec<String> = (0..2).map(|_| "{}".into()).collect();
        let body = format!(
            r#"{{"Name":"A","Count":99,"Items":[{}],"Tags":{{}},"Mode":"x","Keys":[""]}}"#,
            items.join(",")
        );
        let m = validation(&body);
        assert!(m.starts_with("7 validation errors detected"), "{m}");
        let many = format!(r#"{{"Name":"ABCDEFG","Items":[{}]}}"#, vec!["{}"; 20].join(","));
        let m = validation(&many);
        assert!(m.starts_with("10 validation errors detected"), "{m}");
        assert_eq!(m.matches("failed to satisfy").count(), 10);
    }

    #[test]
    fn the_tree_is_normalised_for_decoding() {
        let node = run(
            r#"{"Name":"ab","Name":"a","Items":[{"Data":"YQ=="}],"Count":7.9,"Flag":"TRUE","Other":1,"Keys":null}"#,
        )
        .unwrap();
        assert_eq!(node.get("Name").and_then(Node::as_str), Some("a"));
        assert_eq!(node.get("Count"), Some(&Node::Number(7.into())));
        assert_eq!(node.get("Flag"), Some(&Node::Bool(true)));
        assert!(node.get("Other").is_none() && node.get("Keys").is_none());
        let item = match node.get("Items") {
            Some(Node::List(items)) => items[0].clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(item.get("Data"), Some(&Node::Blob(b"a".to_vec())));
        let big = run(r#"{"Name":"a","Items":[{}],"Count":1e12}"#);
        match big {
            Err(Rejection::Validation(m)) => assert!(m.contains("Value '2147483647' at 'count'"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_pattern_of_the_embedded_models_compiles() {
        let sqs = &*super::super::SQS;
        assert_eq!(sqs.target_prefix.as_deref(), Some("AmazonSQS"));
        assert!(sqs.query_compatible && !super::super::KINESIS.query_compatible);
        assert_eq!(sqs.operations().count(), 23);
        let model = &*super::super::KINESIS;
        assert!(model.operation("PutRecords").is_some());
        for m in [model, sqs] {
            for shape in m.shapes() {
                if let Kind::String { pattern: Some(p), .. } = &shape.kind {
                    assert!(p.compiles(), "{}: {}", shape.name, p.source);
                }
            }
        }
        for shape in ["PutRecordInput", "PutRecordsRequestEntry"] {
            let id = model.shape_named(shape).unwrap();
            let Some(Kind::Structure { members, .. }) = model.shape(id).map(|s| &s.kind) else {
                panic!()
            };
            assert!(
                members.iter().any(|m| m.name == "PartitionKey" && m.required),
                "{shape}"
            );
        }
        // Every recorded order names real members, and is applied.
        for (shape, first) in super::super::KINESIS_ORDER {
            let id = model.shape_named(shape).unwrap_or_else(|| panic!("{shape}"));
            let Some(Kind::Structure { members, .. }) = model.shape(id).map(|s| &s.kind) else {
                panic!()
            };
            let names: Vec<&str> = members.iter().take(first.len()).map(|m| m.name.as_str()).collect();
            assert_eq!(&names, first, "{shape}");
        }
        let name = model.shape_named("StreamARN").unwrap();
        let Some(Kind::String { pattern: Some(p), .. }) = model.shape(name).map(|s| &s.kind) else {
            panic!()
        };
        assert!(p.matches("arn:aws:kinesis:us-east-1:123456789012:stream/s"));
        assert!(!p.matches("arn:aws:kinesis:us-east-1:12345678901x:stream/s"));
        assert!(
            !p.matches("xarn:aws:kinesis:us-east-1:123456789012:stream/s"),
            "whole-value match"
        );
    }
}
