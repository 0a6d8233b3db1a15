//! The HTTP endpoint destination (Firehose developer guide, "HTTP endpoint delivery request and
//! response specifications"): each buffer is one `POST <Url>` of
//! `{"requestId", "timestamp", "records": [{"data": <base64>}]}` with the headers
//! `X-Amz-Firehose-Protocol-Version: 1.0`, `X-Amz-Firehose-Request-Id` (the same on every
//! retry), `X-Amz-Firehose-Source-Arn`, `X-Amz-Firehose-Access-Key` (when set),
//! `X-Amz-Firehose-Common-Attributes` (`{"commonAttributes": {...}}`, when set), and
//! `Content-Encoding: gzip` with `ContentEncoding: GZIP`. The endpoint answers `200` with
//! `{"requestId": <the same>, "timestamp"}`; anything else is retried (1 s, doubling, 15 %
//! jitter, 2 minutes at most) for `RetryOptions.DurationInSeconds` (default 300); `413` is not
//! retried. Records that could not be delivered go to the S3 backup bucket under
//! `http-endpoint-failed`; with `S3BackupMode: AllData` every buffer is also written there.
//! Delivery is at least once: a retried request may reach the endpoint twice, with one id.

use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// What an HTTP endpoint destination does, from its configuration.
#[derive(Debug, Clone)]
pub struct HttpPlan {
    pub url: String,
    pub access_key: Option<String>,
    pub gzip: bool,
    pub common_attributes: BTreeMap<String, String>,
    pub retry: Duration,
    pub all_data: bool,
}

/// The error output type of records an endpoint did not take.
pub const FAILED: &str = "http-endpoint-failed";

pub fn plan_of(v: &Value) -> Result<HttpPlan, String> {
    let url = v["Url"].as_str().unwrap_or_default().to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("The endpoint URL {url} is not an http or https URL."));
    }
    Ok(HttpPlan {
        url,
        access_key: v["AccessKey"].as_str().map(str::to_owned),
        gzip: v["ContentEncoding"].as_str() == Some("GZIP"),
        common_attributes: v["CommonAttributes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((
                    a["AttributeName"].as_str()?.to_owned(),
                    a["AttributeValue"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        retry: Duration::from_secs(v["RetryDurationInSeconds"].as_u64().unwrap_or(300)),
        all_data: v["S3BackupMode"].as_str() == Some("AllData"),
    })
}

/// The request body for `records`.
pub fn body(request_id: &str, timestamp_ms: i64, records: &[Vec<u8>], gzip: bool) -> std::io::Result<Vec<u8>> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let records: Vec<Value> = records.iter().map(|r| json!({ "data": b64.encode(r) })).collect();
    let text = json!({ "requestId": request_id, "timestamp": timestamp_ms, "records": records })
        .to_string()
        .into_bytes();
    if !gzip {
        return Ok(text);
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&text)?;
    e.finish()
}

/// What the endpoint made of a request.
#[derive(Debug)]
pub enum Answer {
    Taken,
    /// Retried until the retry duration ends.
    Failed {
        code: String,
        message: String,
    },
    /// 413: not retried.
    TooLarge(String),
}

fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        // https endpoints: rustls with ring, as the rest of Rheo.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(Duration::from_secs(180))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// One attempt.
pub async fn post(plan: &HttpPlan, source_arn: &str, request_id: &str, body: Vec<u8>) -> Answer {
    let mut req = client()
        .post(&plan.url)
        .header("Content-Type", "application/json")
        .header("X-Amz-Firehose-Protocol-Version", "1.0")
        .header("X-Amz-Firehose-Request-Id", request_id)
        .header("X-Amz-Firehose-Source-Arn", source_arn)
        .body(body);
    if plan.gzip {
        req = req.header("Content-Encoding", "gzip");
    }
    if let Some(k) = &plan.access_key {
        req = req.header("X-Amz-Firehose-Access-Key", k);
    }
    if !plan.common_attributes.is_empty() {
        let attrs = json!({ "commonAttributes": plan.common_attributes }).to_string();
        req = req.header("X-Amz-Firehose-Common-Attributes", attrs);
    }
    let failed = |code: &str, message: String| Answer::Failed {
        code: code.to_owned(),
        message,
    };
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return failed("HttpEndpoint.RequestFailed", format!("The request failed: {e}")),
    };
    let status = resp.status();
    let text = resp.bytes().await.unwrap_or_default();
    if status.as_u16() == 413 {
        return Answer::TooLarge("The endpoint answered 413 Request Entity Too Large.".into());
    }
    if status.as_u16() != 200 {
        let message = serde_json::from_slice::<Value>(&text)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("The endpoint answered {status}."));
        return failed("HttpEndpoint.ResponseFailed", message);
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(v) if v["requestId"].as_str() == Some(request_id) => Answer::Taken,
        Ok(_) => failed(
            "HttpEndpoint.InvalidResponseFromDestination",
            "The response's requestId is not the request's.".into(),
        ),
        Err(_) => failed(
            "HttpEndpoint.MalformedResponse",
            "The response is not the JSON the protocol asks for.".into(),
        ),
    }
}

/// Sends a request until the endpoint takes it or the retry duration ends; the last answer
/// and the attempts made.
pub async fn send(plan: &HttpPlan, source_arn: &str, request_id: &str, body: &[u8]) -> (Answer, u32) {
    let started = Instant::now();
    let mut backoff = Duration::from_secs(1);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let answer = post(plan, source_arn, request_id, body.to_vec()).await;
        match answer {
            Answer::Failed { .. } if started.elapsed() + backoff <= plan.retry => {
                let jitter = backoff.mul_f64(0.15 * fastrand::f64());
                tokio::time::sleep(backoff + jitter).await;
                backoff = (backoff * 2).min(Duration::from_secs(120));
            }
            other => return (other, attempts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_protocol() {
        let b = body("req-1", 42, &[b"a".to_vec(), b"bc".to_vec()], false).unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v,
            json!({"requestId": "req-1", "timestamp": 42, "records": [{"data": "YQ=="}, {"data": "YmM="}]})
        );
        let gz = body("req-1", 42, &[b"a".to_vec()], true).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
        assert!(out.contains("\"requestId\":\"req-1\""));
        let p = plan_of(&json!({"Url": "http://127.0.0.1:1/x", "ContentEncoding": "GZIP",
            "CommonAttributes": [{"AttributeName": "env", "AttributeValue": "test"}], "RetryDurationInSeconds": 0}))
        .unwrap();
        assert!(p.gzip && p.retry.is_zero() && p.common_attributes["env"] == "test");
        assert!(plan_of(&json!({"Url": "ftp://x"})).is_err());
    }
}
