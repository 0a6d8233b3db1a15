//! The REST protocols' requests (restJson; restXml later): the operation a method and path
//! name, found from the model's URI templates, and its input as one tree built from the URI's
//! labels, the query string, the headers and the body, so that it is checked against the
//! model like any JSON request. The payload member (a blob that is the whole body, as Lambda
//! Invoke's `Payload`) stays out of the tree: its handler reads the body itself.

use crate::model::{Kind, Model, Node, Operation, ShapeId};
use std::borrow::Cow;

/// The operations of a REST model, by method and URI template.
pub struct Routes {
    routes: Vec<Route>,
}

struct Route {
    method: String,
    segments: Vec<Segment>,
    /// Fixed query parameters the template names (`?find=LayerVersion`, `?List=ALL`).
    fixed: Vec<(String, Option<String>)>,
    op: String,
}

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Label(String),
    /// `{Key+}`: the rest of the path.
    Greedy(String),
}

impl Routes {
    pub fn new(model: &Model) -> Routes {
        let mut routes: Vec<Route> = model
            .operations()
            .filter_map(|op| {
                let http = op.http.as_ref()?;
                let (path, query) = http.request_uri.split_once('?').unwrap_or((&http.request_uri, ""));
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(l) => match l.strip_suffix('+') {
                            Some(g) => Segment::Greedy(g.to_owned()),
                            None => Segment::Label(l.to_owned()),
                        },
                        None => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                let fixed = query
                    .split('&')
                    .filter(|q| !q.is_empty())
                    .map(|q| match q.split_once('=') {
                        Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                        None => (q.to_owned(), None),
                    })
                    .collect();
                Some(Route {
                    method: http.method.clone(),
                    segments,
                    fixed,
                    op: op.name.clone(),
                })
            })
            .collect();
        // The most specific first: fixed query parameters, then literal segments.
        routes.sort_by_key(|r| {
            let literals = r.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
            (
                std::cmp::Reverse(r.fixed.len()),
                std::cmp::Reverse(literals),
                r.op.clone(),
            )
        });
        Routes { routes }
    }

    /// The operation `method` and `path` name, with the URI's labels (decoded).
    pub fn find(&self, method: &str, path: &str, query: &[(String, String)]) -> Option<(&str, Vec<(String, String)>)> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        'routes: for r in &self.routes {
            if r.method != method {
                continue;
            }
            let fixed_ok = r.fixed.iter().all(|(k, v)| {
                query
                    .iter()
                    .any(|(qk, qv)| qk == k && v.as_ref().is_none_or(|v| v == qv))
            });
            if !fixed_ok {
                continue;
            }
            let mut labels = Vec::new();
            let mut rest = parts.iter();
            for seg in &r.segments {
                match seg {
                    Segment::Literal(l) => {
                        if rest.next() != Some(&l.as_str()) {
                            continue 'routes;
                        }
                    }
                    Segment::Label(name) => {
                        let Some(p) = rest.next() else { continue 'routes };
                        labels.push((name.clone(), percent_decode(p)));
                    }
                    Segment::Greedy(name) => {
                        let tail: Vec<&str> = rest.by_ref().copied().collect();
                        if tail.is_empty() {
                            continue 'routes;
                        }
                        labels.push((name.clone(), percent_decode(&tail.join("/"))));
                    }
                }
            }
            if rest.next().is_none() {
                return Some((&r.op, labels));
            }
        }
        None
    }
}

/// A query string's parameters, decoded, in order.
pub fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `%XX` decoded; invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let hex = tail
            .get(..2)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(decoded) if b == b'%' => {
                out.push(decoded);
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request parts an input tree is built from.
pub struct Parts<'r> {
    pub labels: &'r [(String, String)],
    pub query: &'r [(String, String)],
    /// Header names in lower case.
    pub headers: &'r [(String, String)],
}

/// The operation's input as one tree: its located members from `parts`, the others from the
/// JSON `body` (an object, or nothing). A value that does not parse as its member's type is
/// left a string, so the model check reports it.
pub fn input_tree<'a>(model: &Model, op: &Operation, parts: &Parts<'_>, body: Option<Node<'a>>) -> Node<'a> {
    let mut members: Vec<(Cow<'a, str>, Node<'a>)> = match body {
        Some(Node::Object(m)) => m,
        _ => Vec::new(),
    };
    let Some(input) = op.input.and_then(|i| model.shape(i)) else {
        return Node::Object(members);
    };
    let Kind::Structure { members: defs, .. } = &input.kind else {
        return Node::Object(members);
    };
    for m in defs {
        let wire = m.location_name.clone().unwrap_or_else(|| m.name.clone());
        let value = match m.location.as_deref() {
            Some("uri") => parts
                .labels
                .iter()
                .find(|(k, _)| *k == wire)
                .map(|(_, v)| typed(model, m.shape, v)),
            Some("querystring") => {
                let values: Vec<&String> = parts.query.iter().filter(|(k, _)| *k == wire).map(|(_, v)| v).collect();
                match model.shape(m.shape).map(|s| &s.kind) {
                    Some(Kind::List { member, .. }) if !values.is_empty() => {
                        Some(Node::List(values.iter().map(|v| typed(model, *member, v)).collect()))
                    }
                    _ => values.first().map(|v| typed(model, m.shape, v)),
                }
            }
            Some("header") => {
                let name = wire.to_ascii_lowercase();
                parts
                    .headers
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| typed(model, m.shape, v))
            }
            Some("headers") => {
                let prefix = wire.to_ascii_lowercase();
                let found: Vec<(Cow<'a, str>, Node<'a>)> = parts
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((
                            Cow::Owned(k.strip_prefix(&prefix)?.to_owned()),
                            Node::Str(Cow::Owned(v.clone())),
                        ))
                    })
                    .collect();
                (!found.is_empty()).then_some(Node::Object(found))
            }
            _ => continue,
        };
        members.retain(|(k, _)| k != &m.name);
        if let Some(v) = value {
            members.push((Cow::Owned(m.name.clone()), v));
        }
    }
    Node::Object(members)
}

/// A string from a URI, query or header, as its member's type.
fn typed<'a>(model: &Model, shape: ShapeId, v: &str) -> Node<'a> {
    let number = |v: &str| v.parse::<serde_json::Number>().ok().map(Node::Number);
    let node = match model.shape(shape).map(|s| &s.kind) {
        Some(Kind::Integer | Kind::Long | Kind::Float | Kind::Double) => number(v),
        Some(Kind::Boolean) => match v {
            "true" => Some(Node::Bool(true)),
            "false" => Some(Node::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    node.unwrap_or_else(|| Node::Str(Cow::Owned(v.to_owned())))
}

/// Whether the operation's input has members read from a JSON body.
pub fn has_body_members(model: &Model, op: &Operation) -> bool {
    let Some(Kind::Structure { members, .. }) = op.input.and_then(|i| model.shape(i)).map(|s| &s.kind) else {
        return false;
    };
    let payload = op.input.and_then(|i| model.shape(i)).and_then(|s| s.payload.clone());
    members
        .iter()
        .any(|m| m.location.is_none() && payload.as_deref() != Some(m.name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LAMBDA;

    #[test]
    fn lambda_paths_name_their_operations_and_labels() {
        let routes = Routes::new(&LAMBDA);
        let find = |m: &str, p: &str, q: &str| {
            routes
                .find(m, p, &query_params(Some(q)))
                .map(|(op, labels)| (op.to_owned(), labels))
        };
        assert_eq!(find("POST", "/2015-03-31/functions", "").unwrap().0, "CreateFunction");
        let (op, labels) = find(
            "GET",
            "/2015-03-31/functions/my-fn/configuration",
            "Qualifier=%24LATEST",
        )
        .unwrap();
        assert_eq!(op, "GetFunctionConfiguration");
        assert_eq!(labels, [("FunctionName".to_owned(), "my-fn".to_owned())]);
        let (op, labels) = find(
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations",
            "",
        )
        .unwrap();
        assert_eq!(op, "Invoke");
        assert_eq!(labels[0].1, "arn:aws:lambda:us-east-1:000000000000:function:f");
        assert_eq!(
            find("GET", "/2018-10-31/layers", "find=LayerVersion&Arn=x").unwrap().0,
            "GetLayerVersionByArn"
        );
        assert_eq!(find("GET", "/2018-10-31/layers", "").unwrap().0, "ListLayers");
        assert_eq!(
            find("DELETE", "/2017-03-31/tags/arn%3Ax", "tagKeys=a&tagKeys=b")
                .unwrap()
                .0,
            "UntagResource"
        );
        assert!(find("GET", "/nothing", "").is_none());
    }

    #[test]
    fn percent_escapes_decode_and_bad_ones_stay() {
        assert_eq!(percent_decode("a%3Ab%2f%zz%4"), "a:b/%zz%4");
        assert_eq!(percent_decode("%E2%82%AC+"), "€+");
    }

    #[test]
    fn input_trees_take_labels_query_headers_and_body() {
        let op = LAMBDA.operation("Invoke").unwrap();
        let labels = [("FunctionName".to_owned(), "f".to_owned())];
        let query = query_params(Some("Qualifier=%24LATEST"));
        let headers = [("x-amz-invocation-type".to_owned(), "Event".to_owned())];
        let parts = Parts {
            labels: &labels,
            query: &query,
            headers: &headers,
        };
        let tree = input_tree(&LAMBDA, op, &parts, None);
        assert_eq!(tree.get("FunctionName").and_then(Node::as_str), Some("f"));
        assert_eq!(tree.get("Qualifier").and_then(Node::as_str), Some("$LATEST"));
        assert_eq!(tree.get("InvocationType").and_then(Node::as_str), Some("Event"));
        assert!(!has_body_members(&LAMBDA, op), "Invoke's body is its payload");

        let op = LAMBDA.operation("UntagResource").unwrap();
        let labels = [("Resource".to_owned(), "arn".to_owned())];
        let query = query_params(Some("tagKeys=a&tagKeys=b"));
        let parts = Parts {
            labels: &labels,
            query: &query,
            headers: &[],
        };
        let tree = input_tree(&LAMBDA, op, &parts, None);
        assert_eq!(
            tree.get("TagKeys"),
            Some(&Node::List(vec![Node::Str("a".into()), Node::Str("b".into())]))
        );
        let op = LAMBDA.operation("ListFunctions").unwrap();
        let query = query_params(Some("MaxItems=5"));
        let parts = Parts {
            labels: &[],
            query: &query,
            headers: &[],
        };
        let tree = input_tree(&LAMBDA, op, &parts, None);
        assert_eq!(tree.get("MaxItems"), Some(&Node::Number(5.into())));
    }
}
