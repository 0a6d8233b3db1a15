//! This crate's `bootstrap` (AWS's Rust runtime client) run by Rheo as a `provided.al2023`
//! function: created from a zip with aws-sdk-lambda, invoked, failing with the error the Rust
//! client posts, and fed by a Kinesis stream through an event source mapping.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{EventSourcePosition, FunctionCode, LogType, Runtime, State};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use rheo_engine::{Clock, Engine, EngineConfig, ManualClock};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

fn zip_of_bootstrap() -> Vec<u8> {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_bootstrap")).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "bootstrap",
        zip::write::SimpleFileOptions::default().unix_permissions(0o755),
    )
    .unwrap();
    w.write_all(&binary).unwrap();
    w.finish().unwrap().into_inner()
}

macro_rules! client {
    ($sdk:ident, $url:expr) => {{
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .endpoint_url($url)
            .credentials_provider($sdk::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(http)
            .build();
        $sdk::Client::from_conf(config)
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_lambda_runtime_bootstrap_is_invoked_directly_and_by_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path().join("data"));
    config.transition_delay_ms = 0;
    let clock = Arc::new(ManualClock::default());
    let engine = Engine::open(config, clock as Arc<dyn Clock>).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(rheo_server::serve(
        listener,
        engine,
        rheo_server::ServerOptions::default(),
    ));
    let c = client!(aws_sdk_lambda, &url);
    let k = client!(aws_sdk_kinesis, &url);

    let created = c
        .create_function()
        .function_name("rusty")
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role("arn:aws:iam::000000000000:role/r")
        .code(FunctionCode::builder().zip_file(Blob::new(zip_of_bootstrap())).build())
        .send()
        .await
        .unwrap();
    assert_eq!(created.state(), Some(&State::Active));

    let out = c
        .invoke()
        .function_name("rusty")
        .payload(Blob::new(r#"{"hello":"rust"}"#))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), None);
    let answer: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(answer["echo"]["hello"], "rust");
    assert_eq!(
        answer["function_arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:rusty"
    );
    assert_eq!(answer["request_id"].as_str().unwrap().len(), 36);

    // The Rust client posts its error with `lambda-runtime-function-error-type: unhandled`.
    let out = c
        .invoke()
        .function_name("rusty")
        .payload(Blob::new(r#"{"fail":true}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let error: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(error["errorMessage"], "asked to fail");

    // A stream feeds it.
    k.create_stream()
        .stream_name("rust-events")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    for n in 0..3 {
        k.put_record()
            .stream_name("rust-events")
            .partition_key("k")
            .data(aws_sdk_kinesis::primitives::Blob::new(format!("event {n}")))
            .send()
            .await
            .unwrap();
    }
    c.create_event_source_mapping()
        .function_name("rusty")
        .event_source_arn("arn:aws:kinesis:us-east-1:000000000000:stream/rust-events")
        .starting_position(EventSourcePosition::TrimHorizon)
        .send()
        .await
        .unwrap();
    let mut ok = false;
    for _ in 0..100 {
        let m = c
            .list_event_source_mappings()
            .function_name("rusty")
            .send()
            .await
            .unwrap();
        if m.event_source_mappings()[0].last_processing_result() == Some("OK") {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the mapping's batch succeeded");
}
