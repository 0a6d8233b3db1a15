//! `rheo logs NAME`: a function's log lines (its log group `/aws/lambda/NAME`) from a running
//! server, through CloudWatch Logs' FilterLogEvents, signed like any client; `--follow` keeps
//! printing new lines.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

#[derive(clap::Args)]
pub struct LogsArgs {
    /// The function's name.
    pub function: String,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:4567", env = "AWS_ENDPOINT_URL")]
    pub endpoint: String,
    #[arg(long, default_value = "us-east-1", env = "AWS_DEFAULT_REGION")]
    pub region: String,
    #[arg(long, default_value = "local", env = "AWS_ACCESS_KEY_ID")]
    pub access_key: String,
    #[arg(long, default_value = "local", env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// Keep printing new lines.
    #[arg(long, short)]
    pub follow: bool,
}

pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let group = format!("/aws/lambda/{}", args.function);
    // Lines are asked for from the last one's millisecond on; the ones already printed are
    // known by their event ids.
    let mut since: Option<i64> = None;
    let mut printed = std::collections::HashSet::new();
    loop {
        let mut body = serde_json::json!({"logGroupName": group});
        if let (Some(t), Some(o)) = (since, body.as_object_mut()) {
            o.insert("startTime".into(), t.into());
        }
        let answer = call(&http, &args, "Logs_20140328.FilterLogEvents", body.to_string()).await?;
        if let Some(kind) = answer.get("__type").and_then(|t| t.as_str()) {
            if kind.ends_with("ResourceNotFoundException") && args.follow {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            bail!("{kind}: {}", answer["message"].as_str().unwrap_or_default());
        }
        for e in answer["events"].as_array().into_iter().flatten() {
            if !printed.insert(e["eventId"].as_str().unwrap_or_default().to_owned()) {
                continue;
            }
            let ts = e["timestamp"].as_i64().unwrap_or_default();
            since = Some(since.map_or(ts, |s| s.max(ts)));
            println!("{}", e["message"].as_str().unwrap_or_default());
        }
        if !args.follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn call(
    http: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    args: &LogsArgs,
    target: &str,
    body: String,
) -> anyhow::Result<serde_json::Value> {
    let uri: http::Uri = args.endpoint.parse().context("the endpoint URL")?;
    let host = uri.authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let amz_date = rheo_wire::sigv4::format_amz_date(now);
    let hash = rheo_wire::sigv4::sha256_hex(body.as_bytes());
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("host", host.as_str()),
        ("x-amz-date", amz_date.as_str()),
        ("x-amz-target", target),
    ];
    let parts = rheo_wire::sigv4::RequestParts {
        method: "POST",
        path: "/",
        query: None,
        headers: &headers,
    };
    let scope = rheo_wire::sigv4::Scope {
        access_key: args.access_key.clone(),
        date: amz_date.get(..8).unwrap_or_default().to_owned(),
        region: args.region.clone(),
        service: "logs".into(),
    };
    let names = ["content-type", "host", "x-amz-date", "x-amz-target"];
    let auth = rheo_wire::sigv4::authorization(&parts, &scope, &args.secret_key, &amz_date, &names, &hash);
    let req = http::Request::post(uri)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-date", &amz_date)
        .header("x-amz-target", target)
        .header("authorization", auth)
        .body(Full::new(Bytes::from(body)))?;
    let resp = http
        .request(req)
        .await
        .with_context(|| format!("calling {}", args.endpoint))?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes).unwrap_or_default())
}
