//! AWS's answers to malformed and invalid requests, table-driven: every row of
//! `tests/aws-cases/kinesis.json` is a request with the status, `__type` and message AWS gave,
//! and names its source (kinesalite's tests, which were run against AWS). Each row is sent in
//! JSON and in CBOR to a fresh server; every difference is reported at once.
//!
//! A row may carry `adjusted`: the answer AWS recorded then (`recorded`) differs from today's
//! model (a limit has moved since), and the row expects what the model gives now.

use crate::common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use minicbor::data::Type;
use minicbor::{Decoder, Encoder};
use serde::Deserialize;

const CASES: &str = include_str!("../aws-cases/kinesis.json");
/// Rows about an existing stream (`<testStream>`: ACTIVE, 3 shards, as in the recorded tests).
const WITH_STREAM: &str = include_str!("../aws-cases/kinesis-with-stream.json");
const TEST_STREAM: &str = "rheo_test";

#[derive(Deserialize)]
struct Case {
    source: String,
    it: String,
    target: String,
    body: serde_json::Value,
    status: u16,
    #[serde(rename = "type")]
    kind: String,
    /// The exact message.
    message: Option<String>,
    /// Messages in any order, joined as AWS joins them.
    messages: Option<Vec<String>>,
    /// One of these messages.
    one_of: Option<Vec<String>>,
}

const ACCOUNT: &str = "000000000000";

/// Fills the placeholders of the recorded tests: random stream names, the account, and long
/// strings (`<a*129>`: 129 times `a`).
fn fill(s: &str) -> String {
    let mut out = s.replace("<account>", ACCOUNT).replace("<testStream>", TEST_STREAM);
    for n in [129, 257, 513] {
        out = out.replace(&format!("<a*{n}>"), &"a".repeat(n));
    }
    for i in 1..=9 {
        // Without `-`: the recorded tests' names had none (a `-` changes how shard ids read).
        out = out.replace(&format!("<randomName{i}>"), &format!("rheo_missing_{i}"));
    }
    for n in [51201, 1048577] {
        let zeros = rheo_wire::encode_blob(&vec![0u8; n]);
        out = out.replace(&format!("<base64 of {n} zero bytes>"), &zeros);
    }
    out
}

fn cbor_of(v: &serde_json::Value, e: &mut Encoder<Vec<u8>>) {
    use serde_json::Value as V;
    match v {
        V::Null => drop(e.null().unwrap()),
        V::Bool(b) => drop(e.bool(*b).unwrap()),
        V::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => drop(e.i64(i).unwrap()),
            (_, Some(u)) => drop(e.u64(u).unwrap()),
            _ => drop(e.f64(n.as_f64().unwrap()).unwrap()),
        },
        V::String(s) => drop(e.str(s).unwrap()),
        V::Array(a) => {
            e.array(a.len() as u64).unwrap();
            a.iter().for_each(|x| cbor_of(x, e));
        }
        V::Object(m) => {
            e.map(m.len() as u64).unwrap();
            for (k, x) in m {
                e.str(k).unwrap();
                cbor_of(x, e);
            }
        }
    }
}

/// The `__type` and message of a CBOR error body.
fn cbor_error(bytes: &[u8]) -> (String, Option<String>) {
    let mut d = Decoder::new(bytes);
    // A success (an empty body, or output) has no error to read.
    let Ok(Some(n)) = d.map() else {
        return (String::new(), None);
    };
    let (mut kind, mut message) = (String::new(), None);
    for _ in 0..n {
        let Ok(k) = d.str().map(str::to_owned) else {
            return (kind, message);
        };
        let v = match d.datatype().unwrap() {
            Type::String => d.str().unwrap().to_owned(),
            _ => {
                d.skip().unwrap();
                continue;
            }
        };
        match k.as_str() {
            "__type" => kind = v,
            "message" | "Message" => message = Some(v),
            _ => {}
        }
    }
    (kind, message)
}

async fn send(url: &str, target: &str, body: Vec<u8>, content_type: &str) -> (u16, Vec<u8>) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let req = well_formed_signature(http::Request::post(format!("{url}/")))
        .header("content-type", content_type)
        .header("x-amz-target", format!("Kinesis_20131202.{target}"))
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// What is wrong with an answer, if anything.
fn judge(case: &Case, status: u16, kind: &str, message: Option<&str>) -> Option<String> {
    let want = |m: &str| fill(m);
    let ok_message = match (&case.message, &case.messages, &case.one_of) {
        (Some(m), _, _) => message == Some(want(m).as_str()),
        (_, Some(all), _) => message.is_some_and(|got| {
            let prefix = match all.len() {
                1 => "1 validation error detected: ".to_owned(),
                n => format!("{n} validation errors detected: "),
            };
            let mut got: Vec<String> = got
                .strip_prefix(&prefix)
                .map(|rest| rest.split("; ").map(str::to_owned).collect())
                .unwrap_or_default();
            let mut all: Vec<String> = all.iter().map(|m| want(m)).collect();
            got.sort();
            all.sort();
            got == all
        }),
        (_, _, Some(any)) => message.is_some_and(|got| any.iter().any(|m| want(m) == got)),
        _ => true,
    };
    (status != case.status || kind != case.kind || !ok_message).then(|| {
        let wanted = case
            .message
            .clone()
            .or_else(|| case.messages.as_ref().map(|m| m.join("; ")))
            .or_else(|| case.one_of.as_ref().map(|m| m.join(" | ")))
            .unwrap_or_default();
        format!(
            "{} [{}] {}: \n    sent {}\n    want {} {} {}\n    got  {status} {kind} {}",
            case.source,
            case.target,
            case.it,
            case.body,
            case.status,
            case.kind,
            fill(&wanted),
            message.unwrap_or("(no message)")
        )
    })
}

#[tokio::test]
async fn malformed_and_invalid_requests_get_aws_answers_in_json_and_cbor() {
    let cases: Vec<Case> = serde_json::from_str(CASES).unwrap();
    assert!(cases.len() > 400, "{} cases", cases.len());
    let server = TestServer::start().await;
    replay(&server, &cases).await;
}

#[tokio::test]
async fn requests_about_an_existing_stream_get_aws_answers_in_json_and_cbor() {
    let cases: Vec<Case> = serde_json::from_str(WITH_STREAM).unwrap();
    assert!(cases.len() > 40, "{} cases", cases.len());
    let server = TestServer::start().await;
    create_active(&server.client(), TEST_STREAM, 3).await;
    replay(&server, &cases).await;
}

/// Sends every case in JSON and in CBOR; fails listing every answer that differs.
async fn replay(server: &TestServer, cases: &[Case]) {
    let url = server.url();
    let mut wrong = Vec::new();
    for case in cases {
        let body = fill(&case.body.to_string());
        let (status, bytes) = send(
            &url,
            &case.target,
            body.clone().into_bytes(),
            "application/x-amz-json-1.1",
        )
        .await;
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = v["message"].as_str().or(v["Message"].as_str());
        let kind = v["__type"].as_str().unwrap_or_default();
        // SerializationException keeps its text under `Message`, every other error `message`.
        let key_ok = match kind {
            "SerializationException" => v.get("message").is_none(),
            _ => v.get("Message").is_none(),
        };
        wrong.extend(judge(case, status, kind, message));
        if !key_ok {
            wrong.push(format!("{}: message under the wrong key: {v}", case.source));
        }
        let mut e = Encoder::new(Vec::new());
        cbor_of(&serde_json::from_str(&body).unwrap(), &mut e);
        let (status, bytes) = send(&url, &case.target, e.into_writer(), "application/x-amz-cbor-1.1").await;
        let (kind, message) = cbor_error(&bytes);
        wrong.extend(judge(case, status, &kind, message.as_deref()).map(|w| format!("CBOR {w}")));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers differ from AWS's:\n{}",
        wrong.len(),
        cases.len() * 2,
        wrong.join("\n")
    );
}
