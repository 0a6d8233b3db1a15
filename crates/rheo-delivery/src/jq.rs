//! The MetadataExtraction processor's jq queries (`JsonParsingEngine` `JQ-1.6`), on jaq: a
//! query is compiled once with jq's standard library, then run on each record's JSON.
//!
//! jaq is jq-like, not jq 1.6 bit for bit; the differences that reach partition keys are closed
//! here: integral floats are integers (jq has only doubles and prints `2`, jaq `2.0`), and
//! `tostring` prints them so. `halt`/`halt_error` end the query with an error, never the
//! process; `env` and `$ENV` see nothing of the server's. The tests compare with Debian's jq 1.6.

use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data::JustLut};
use jaq_json::{Num, Val};
use serde_json::Value as Json;

type D = JustLut<Val>;

/// Definitions after the standard library's, which shadow them.
const PRELUDE: &str = r#"
def tostring: if type == "string" then .
  elif type == "number" and . == floor and fabs < 9007199254740992 then floor | tojson
  else tojson end;
def env: {};
"#;

/// A compiled query.
pub struct Query {
    filter: jaq_core::Filter<D>,
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Query")
    }
}

impl Query {
    /// Compiles a query; the message says what is wrong.
    pub fn compile(code: &str) -> Result<Query, String> {
        let prelude = load::parse(PRELUDE, |p| p.defs()).ok_or("the jq prelude does not parse")?;
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(prelude);
        let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(&arena, File { code, path: () })
            .map_err(|errs| format!("The jq query {code:?} does not parse ({} errors).", errs.len()))?;
        let filter = Compiler::default().with_funs(funs).compile(modules).map_err(|errs| {
            let names: Vec<String> = errs
                .into_iter()
                .flat_map(|(_, es)| es)
                .map(|(name, _)| name.to_owned())
                .collect();
            format!("The jq query {code:?} names undefined filters: {}.", names.join(", "))
        })?;
        Ok(Query { filter })
    }

    /// The query's first output on `input`.
    pub fn run(&self, input: &Json) -> Result<Json, String> {
        let ctx = Ctx::<D>::new(&self.filter.lut, Vars::new([]));
        match self.filter.id.run((ctx, to_val(input))).next() {
            Some(Ok(v)) => to_json(&v),
            Some(Err(e)) => Err(match e.get_err() {
                Ok(err) => match err.into_val() {
                    Val::TStr(s) => String::from_utf8_lossy(&s).into_owned(),
                    other => other.to_string(),
                },
                Err(_) => "the query stopped".to_owned(),
            }),
            None => Err("the query gave no output".to_owned()),
        }
    }
}

const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

fn to_val(v: &Json) -> Val {
    match v {
        Json::Null => Val::Null,
        Json::Bool(b) => Val::Bool(*b),
        // jq 1.6 has only doubles: integers past 2^53 lose precision there, and here.
        Json::Number(n) => Val::Num(if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= 1 << 53) {
            Num::from_integral(i)
        } else {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < MAX_SAFE {
                Num::Int(f as isize)
            } else {
                Num::Float(f)
            }
        }),
        Json::String(s) => Val::from(s.clone()),
        Json::Array(a) => a.iter().map(to_val).collect(),
        Json::Object(o) => Val::obj(o.iter().map(|(k, v)| (Val::from(k.clone()), to_val(v))).collect()),
    }
}

/// Values nested deeper than this are refused (a query can build them; serde_json and the
/// stack cannot take them).
const MAX_DEPTH: usize = 128;

fn to_json(v: &Val) -> Result<Json, String> {
    to_json_at(v, 0)
}

fn to_json_at(v: &Val, depth: usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!("the query's output is nested deeper than {MAX_DEPTH}"));
    }
    Ok(match v {
        Val::Null => Json::Null,
        Val::Bool(b) => Json::Bool(*b),
        Val::Num(n) => match n {
            Num::Int(i) => Json::from(*i as i64),
            Num::Float(f) if f.fract() == 0.0 && f.abs() <= MAX_SAFE => Json::from(*f as i64),
            Num::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Num::BigInt(_) | Num::Dec(_) => n
                .to_string()
                .parse::<serde_json::Number>()
                .map_or(Json::Null, Json::Number),
        },
        Val::TStr(b) | Val::BStr(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(a) => Json::Array(a.iter().map(|x| to_json_at(x, depth + 1)).collect::<Result<_, _>>()?),
        Val::Obj(o) => Json::Object(
            o.iter()
                .map(|(k, v)| {
                    let k = match k {
                        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => "?".to_owned(),
                    };
                    Ok((k, to_json_at(v, depth + 1)?))
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// A partition key's text: a string as it is, any other value as JSON; null is no key.
pub fn key_text(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jq16(query: &str, input: &str) -> Option<String> {
        let out = std::process::Command::new("jq")
            .args(["-c", query])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().map(|mut s| s.write_all(input.as_bytes()));
                c.wait_with_output()
            })
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The same answers as Debian's jq 1.6 for what partition keys use.
    #[test]
    fn partition_queries_agree_with_jq_1_6() {
        // The expected answers are jq 1.6's (Debian's), recorded; where jq is installed they
        // are also asked of it.
        let cases = [
            (
                r#"{customer_id:.customer_id, year:.ts|strftime("%Y")}"#,
                r#"{"customer_id":"c1","ts":1700000000}"#,
                r#"{"customer_id":"c1","year":"2023"}"#,
            ),
            (
                r#"{y:.ts|strftime("%Y/%m/%d/%H")}"#,
                r#"{"ts":1700000000.5}"#,
                r#"{"y":"2023/11/14/22"}"#,
            ),
            ("{a:.x.y}", r#"{"x":{"y":3}}"#, r#"{"a":3}"#),
            ("{a:.x.y}", "{}", r#"{"a":null}"#),
            ("{a:(.x|tonumber)}", r#"{"x":"42"}"#, r#"{"a":42}"#),
            (
                "{a:(.f|tostring), b:(4/2|tostring), c:.f}",
                r#"{"f":2.0}"#,
                r#"{"a":"2","b":"2","c":2}"#,
            ),
            (
                r#"{c:(.c // "unknown"), d:(.d|ascii_downcase)}"#,
                r#"{"d":"ABC"}"#,
                r#"{"c":"unknown","d":"abc"}"#,
            ),
            (
                "{t:(.ts|todate)}",
                r#"{"ts":1700000000}"#,
                r#"{"t":"2023-11-14T22:13:20Z"}"#,
            ),
            (
                "{n:(.items|length), first:.items[0].id}",
                r#"{"items":[{"id":"x"},{"id":"y"}]}"#,
                r#"{"n":2,"first":"x"}"#,
            ),
        ];
        let jq_present = jq16(".", "1").is_some();
        for (query, input, recorded) in cases {
            let q = Query::compile(query).unwrap();
            let got = q.run(&serde_json::from_str(input).unwrap()).unwrap();
            assert_eq!(
                got,
                serde_json::from_str::<Json>(recorded).unwrap(),
                "{query} on {input}"
            );
            if jq_present {
                let want: Json = serde_json::from_str(&jq16(query, input).unwrap()).unwrap();
                assert_eq!(got, want, "{query} on {input}, live jq");
            }
        }
        let q = Query::compile(r#"{y:.ts|strftime("%Y")}"#).unwrap();
        assert_eq!(
            q.run(&serde_json::json!({"ts": 1700000000})).unwrap(),
            serde_json::json!({"y": "2023"})
        );
    }

    #[test]
    fn errors_are_values() {
        assert!(Query::compile("{a:.x.").is_err());
        assert!(Query::compile("{a:.x|nosuchfn}").is_err());
        let q = Query::compile("{a:(.x|tonumber)}").unwrap();
        assert!(q.run(&serde_json::json!({"x": "nope"})).is_err());
        let q = Query::compile("halt_error").unwrap();
        assert!(
            q.run(&serde_json::json!({"x": 1})).is_err(),
            "halt ends the query, not the process"
        );
        let q = Query::compile("{h: env.HOME}").unwrap();
        assert_eq!(q.run(&serde_json::json!({})).unwrap(), serde_json::json!({"h": null}));
        assert_eq!(key_text(&serde_json::json!(7)), Some("7".into()));
        assert_eq!(key_text(&Json::Null), None);
        let q = Query::compile("reduce range(1000) as $i (.; [.])").unwrap();
        assert!(q.run(&serde_json::json!(1)).is_err(), "too deep for a partition key");
        // jq 1.6 turns 9007199254740993 into 9007199254740992.
        let q = Query::compile("{a:.n}").unwrap();
        let big: Json = serde_json::from_str(r#"{"n":9007199254740993}"#).unwrap();
        assert_eq!(q.run(&big).unwrap()["a"], serde_json::json!(9_007_199_254_740_992u64));
    }
}
