//! Lambda over real sockets with the official aws-sdk-lambda: functions created from zips and
//! run as local processes through the Lambda Runtime API, by a shell `bootstrap` (the
//! provided runtime, AWS's documented shell runtime) and by AWS's Python runtime client
//! (awslambdaric, in a virtualenv Rheo prepares): invocation, errors, timeouts, crashes, logs,
//! configuration updates, reserved concurrency, and asynchronous invocations with retries and
//! an OnFailure destination.

use crate::common::{Options, TestServer, lambda_client};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    DestinationConfig, Environment, FunctionCode, InvocationType, LogType, OnFailure, Runtime, State,
};
use base64::Engine as _;
use std::io::Write;
use std::time::Duration;

/// The Python the tests' functions run with: a virtualenv Rheo prepares once under the target
/// directory (shared by the tests), with aws-lambda-powertools beside AWS's runtime client.
pub fn test_python() -> rheo_functions::runtime::PythonSetup {
    rheo_functions::runtime::PythonSetup::Managed {
        dir: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("rheo-runtimes/python"),
        extra: vec!["aws-lambda-powertools==3.37.0".into()],
    }
}

const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// A zip of `files` (name, content, Unix mode).
pub fn zip_of(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body, mode) in files {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        w.start_file(*name, opts).unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// AWS's shell runtime (the "custom runtime" tutorial): polls the Runtime API with curl and runs
/// `body` on each event, with `$event`, `$id` and `$api` set.
pub fn shell_runtime(body: &str) -> String {
    format!(
        r#"#!/bin/sh
set -eu
api="http://${{AWS_LAMBDA_RUNTIME_API}}/2018-06-01/runtime"
while true; do
  headers="$(mktemp)"
  event="$(curl -sS -D "$headers" "$api/invocation/next")"
  id="$(grep -Fi lambda-runtime-aws-request-id "$headers" | tr -d '[:space:]' | cut -d: -f2)"
  rm -f "$headers"
{body}
done
"#
    )
}

/// Answers by what the event says.
const SHELL_CASES: &str = r#"  echo "event $event"
  case "$event" in
    *fail*) curl -sS -o /dev/null -X POST "$api/invocation/$id/error" -H 'Lambda-Runtime-Function-Error-Type: Unhandled' -d '{"errorMessage":"asked to fail","errorType":"Failure"}' ;;
    *sleep*) sleep 30 ;;
    *exit*) echo "exiting"; exit 3 ;;
    *) curl -sS -o /dev/null -X POST "$api/invocation/$id/response" -d "{\"echo\":$event,\"function\":\"$AWS_LAMBDA_FUNCTION_NAME\",\"greeting\":\"${GREETING:-none}\",\"memory\":\"$AWS_LAMBDA_FUNCTION_MEMORY_SIZE\"}" ;;
  esac"#;

/// Creates a Python function from `handler` (its `app.py`) and waits until it is Active.
pub async fn create_python(c: &aws_sdk_lambda::Client, name: &str, handler: &str, env: &[(&str, &str)]) {
    let mut vars = Environment::builder();
    for (k, v) in env {
        vars = vars.variables(*k, *v);
    }
    c.create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .handler("app.handler")
        .role(ROLE)
        .timeout(30)
        .environment(vars.build())
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip_of(&[("app.py", handler, 0o644)])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Pending while the runtime is prepared (minutes on a fresh machine), then Active.
    for _ in 0..1200 {
        let cfg = c.get_function_configuration().function_name(name).send().await.unwrap();
        match cfg.state() {
            Some(State::Active) => return,
            Some(State::Failed) => panic!("the function failed: {:?}", cfg.state_reason()),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("the function never became Active");
}

fn shell_zip() -> Vec<u8> {
    zip_of(&[("bootstrap", &shell_runtime(SHELL_CASES), 0o755)])
}

async fn create_shell(c: &aws_sdk_lambda::Client, name: &str, timeout: i32) {
    let out = c
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .role(ROLE)
        .handler("unused")
        .timeout(timeout)
        .code(FunctionCode::builder().zip_file(Blob::new(shell_zip())).build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.state(), Some(&State::Active), "a bootstrap needs no preparing");
}

async fn invoke(
    c: &aws_sdk_lambda::Client,
    name: &str,
    payload: &str,
) -> aws_sdk_lambda::operation::invoke::InvokeOutput {
    c.invoke()
        .function_name(name)
        .payload(Blob::new(payload.as_bytes().to_vec()))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap()
}

fn payload(out: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> serde_json::Value {
    serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap()
}

fn log_tail(out: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> String {
    let b = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provided_runtime_is_created_invoked_updated_and_deleted() {
    let s = TestServer::start().await;
    let c = lambda_client(&s.url());
    create_shell(&c, "echo", 3).await;

    // A warm process answers the second invocation; the log tail has the invocation's lines.
    for n in 0..2 {
        let out = invoke(&c, "echo", &format!(r#"{{"n":{n}}}"#)).await;
        assert_eq!(out.status_code(), 200);
        assert_eq!(out.function_error(), None);
        assert_eq!(out.executed_version(), Some("$LATEST"));
        let p = payload(&out);
        assert_eq!(p["echo"]["n"], n);
        assert_eq!(p["function"], "echo");
        assert_eq!(p["memory"], "128");
        let tail = log_tail(&out);
        assert!(tail.contains("START RequestId: "), "{tail}");
        assert!(tail.contains(&format!(r#"event {{"n":{n}}}"#)), "{tail}");
        assert!(tail.contains("END RequestId: "), "{tail}");
        assert!(tail.contains("REPORT RequestId: "), "{tail}");
        assert_eq!(
            tail.contains("Init Duration"),
            n == 0,
            "a cold start only the first time: {tail}"
        );
    }

    // `rheo logs` reads the function's log group through CloudWatch Logs' FilterLogEvents.
    let logs = std::process::Command::new(env!("CARGO_BIN_EXE_rheo"))
        .args(["logs", "echo", "--endpoint", &s.url()])
        .output()
        .unwrap();
    assert!(logs.status.success(), "{}", String::from_utf8_lossy(&logs.stderr));
    let text = String::from_utf8(logs.stdout).unwrap();
    assert_eq!(text.matches("START RequestId: ").count(), 2, "{text}");
    assert_eq!(text.matches("REPORT RequestId: ").count(), 2, "{text}");
    assert!(text.contains(r#"event {"n":1}"#), "{text}");
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_rheo"))
        .args(["logs", "nothing", "--endpoint", &s.url()])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("The specified log group does not exist."));

    // A function error: HTTP 200, X-Amz-Function-Error, the error the runtime posted.
    let out = invoke(&c, "echo", r#"{"please":"fail"}"#).await;
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), Some("Unhandled"));
    assert_eq!(payload(&out)["errorType"], "Failure");

    // A crash: Runtime.ExitError; the next invocation starts a new process.
    let out = invoke(&c, "echo", r#"{"please":"exit"}"#).await;
    assert_eq!(out.function_error(), Some("Unhandled"));
    let p = payload(&out);
    assert_eq!(p["errorType"], "Runtime.ExitError");
    assert!(
        p["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: exit status 3"),
        "{p}"
    );
    assert_eq!(payload(&invoke(&c, "echo", "{}").await)["function"], "echo");

    // Configuration: a new environment reaches new processes.
    let updated = c
        .update_function_configuration()
        .function_name("echo")
        .environment(Environment::builder().variables("GREETING", "hello").build())
        .memory_size(256)
        .timeout(1)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.memory_size(), Some(256));
    let out = invoke(&c, "echo", "{}").await;
    assert_eq!(payload(&out)["greeting"], "hello");
    assert_eq!(payload(&out)["memory"], "256");

    // A timeout kills the process: Sandbox.Timedout.
    let out = invoke(&c, "echo", r#"{"please":"sleep"}"#).await;
    assert_eq!(out.function_error(), Some("Unhandled"));
    let p = payload(&out);
    assert_eq!(p["errorType"], "Sandbox.Timedout");
    assert!(
        p["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{p}"
    );
    assert!(log_tail(&out).contains("Task timed out after 1.00 seconds"));

    // Get, List; the environment shows; reserved environment keys are refused.
    let got = c.get_function().function_name("echo").send().await.unwrap();
    let cfg = got.configuration().unwrap();
    assert_eq!(
        cfg.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:echo")
    );
    assert_eq!(cfg.timeout(), Some(1));
    assert_eq!(cfg.environment().unwrap().variables().unwrap()["GREETING"], "hello");
    let by_arn = c
        .get_function_configuration()
        .function_name("arn:aws:lambda:us-east-1:000000000000:function:echo")
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.revision_id(), cfg.revision_id());
    create_shell(&c, "second", 3).await;
    let list = c.list_functions().max_items(1).send().await.unwrap();
    assert_eq!(list.functions().len(), 1);
    let next = c
        .list_functions()
        .marker(list.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.functions()[0].function_name(), Some("second"));
    let e = c
        .update_function_configuration()
        .function_name("echo")
        .environment(Environment::builder().variables("AWS_REGION", "x").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_parameter_value_exception(), "{e:?}");

    // New code.
    let code = zip_of(&[(
        "bootstrap",
        &shell_runtime(&SHELL_CASES.replace("\\\"echo\\\"", "\\\"v2\\\"")),
        0o755,
    )]);
    c.update_function_code()
        .function_name("echo")
        .zip_file(Blob::new(code))
        .send()
        .await
        .unwrap();
    assert!(payload(&invoke(&c, "echo", r#"{"x":1}"#).await).get("v2").is_some());

    // Errors: bad JSON, a missing function, a duplicate, a bad zip, Node.js.
    let e = c
        .invoke()
        .function_name("echo")
        .payload(Blob::new("not json"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_content_exception(), "{e:?}");
    let e = c
        .invoke()
        .function_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(
        e.message(),
        Some("Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope")
    );
    let e = c
        .create_function()
        .function_name("echo")
        .runtime(Runtime::Providedal2023)
        .role(ROLE)
        .code(FunctionCode::builder().zip_file(Blob::new(shell_zip())).build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_conflict_exception(), "{e:?}");
    let e = c
        .create_function()
        .function_name("broken")
        .runtime(Runtime::Providedal2023)
        .role(ROLE)
        .code(FunctionCode::builder().zip_file(Blob::new("not a zip")).build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_parameter_value_exception(), "{e:?}");
    let e = c
        .create_function()
        .function_name("node")
        .runtime(Runtime::Nodejs20x)
        .handler("index.handler")
        .role(ROLE)
        .code(FunctionCode::builder().zip_file(Blob::new(shell_zip())).build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.message().unwrap().contains("Node.js 22"), "{e:?}");
    let e = c
        .create_function()
        .function_name("bad name!")
        .runtime(Runtime::Providedal2023)
        .role(ROLE)
        .code(FunctionCode::builder().zip_file(Blob::new(shell_zip())).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");

    // Reserved concurrency 0 throttles every invocation.
    c.put_function_concurrency()
        .function_name("second")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let e = c
        .invoke()
        .function_name("second")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_too_many_requests_exception(), "{e:?}");
    c.delete_function_concurrency()
        .function_name("second")
        .send()
        .await
        .unwrap();
    assert_eq!(payload(&invoke(&c, "second", "{}").await)["function"], "second");

    // Tags.
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:second";
    c.tag_resource()
        .resource(arn)
        .tags("team", "data")
        .send()
        .await
        .unwrap();
    let tags = c.list_tags().resource(arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["team"], "data");
    c.untag_resource().resource(arn).tag_keys("team").send().await.unwrap();
    assert!(
        c.list_tags()
            .resource(arn)
            .send()
            .await
            .unwrap()
            .tags()
            .unwrap()
            .is_empty()
    );

    // DryRun, then delete.
    let dry = c
        .invoke()
        .function_name("echo")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status_code(), 204);
    c.delete_function().function_name("echo").send().await.unwrap();
    let e = c
        .get_function()
        .function_name("echo")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let settings = c.get_account_settings().send().await.unwrap();
    assert_eq!(settings.account_usage().unwrap().function_count(), 1);
}

/// An Event invocation that keeps failing is retried (after the configured delays) and then
/// sent to its OnFailure destination, an SQS queue, with Lambda's invocation record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_asynchronous_invocations_are_retried_then_sent_to_their_destination() {
    let s = TestServer::with(Options {
        configure: |o| o.functions.retry_delays = vec![Duration::from_millis(100)],
        ..Options::default()
    })
    .await;
    let c = lambda_client(&s.url());
    let sqs = s.sqs();
    let dlq = crate::sqs::queue(&sqs, "failures").await;
    create_shell(&c, "worker", 3).await;
    c.put_function_event_invoke_config()
        .function_name("worker")
        .maximum_retry_attempts(1)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(
                    OnFailure::builder()
                        .destination("arn:aws:sqs:us-east-1:000000000000:failures")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = c
        .get_function_event_invoke_config()
        .function_name("worker")
        .send()
        .await
        .unwrap();
    assert_eq!(got.maximum_retry_attempts(), Some(1));
    let out = c
        .invoke()
        .function_name("worker")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"please":"fail"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
    let mut body = None;
    for _ in 0..100 {
        let r = sqs
            .receive_message()
            .queue_url(&dlq)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = r.messages().first() {
            body = m.body().map(str::to_owned);
            break;
        }
    }
    let record: serde_json::Value = serde_json::from_str(&body.expect("the failure reached the queue")).unwrap();
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(
        record["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:worker:$LATEST"
    );
    assert_eq!(record["requestPayload"]["please"], "fail");
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responsePayload"]["errorType"], "Failure");
}

/// A Python handler under AWS's runtime client (awslambdaric), in the virtualenv Rheo
/// prepares (shared by the tests under the target directory): Pending, then Active; its answer,
/// its exception, and a boto3 call from inside it back to Rheo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_handler_runs_under_awslambdaric_and_calls_rheo_with_boto3() {
    let s = TestServer::with(Options {
        configure: |o| o.functions.python = Some(crate::lambda::test_python()),
        ..Options::default()
    })
    .await;
    let c = lambda_client(&s.url());
    let sqs = s.sqs();
    let box_url = crate::sqs::queue(&sqs, "from-python").await;
    let handler = r#"
import json
import os

import boto3


def handler(event, context):
    print("got", json.dumps(event))
    if event.get("fail"):
        raise ValueError("asked to fail")
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="from-python")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    return {
        "echo": event,
        "function": context.function_name,
        "arn": context.invoked_function_arn,
        "remaining_ok": context.get_remaining_time_in_millis() > 0,
        "region": os.environ["AWS_REGION"],
    }
"#;
    create_python(&c, "py", handler, &[]).await;
    let created = c.get_function_configuration().function_name("py").send().await.unwrap();
    assert_eq!(created.runtime(), Some(&Runtime::Python312));

    let out = invoke(&c, "py", r#"{"order": 7}"#).await;
    assert_eq!(
        out.function_error(),
        None,
        "{:?}",
        String::from_utf8_lossy(out.payload().unwrap().as_ref())
    );
    let p = payload(&out);
    assert_eq!(p["echo"]["order"], 7);
    assert_eq!(p["function"], "py");
    assert_eq!(p["arn"], "arn:aws:lambda:us-east-1:000000000000:function:py");
    assert_eq!(p["remaining_ok"], true);
    assert_eq!(p["region"], "us-east-1");
    assert!(log_tail(&out).contains(r#"got {"order": 7}"#), "{}", log_tail(&out));
    let sent = sqs.receive_message().queue_url(&box_url).send().await.unwrap();
    assert_eq!(
        sent.messages()[0].body(),
        Some(r#"{"order": 7}"#),
        "the handler's boto3 call reached Rheo"
    );

    let out = invoke(&c, "py", r#"{"fail": true}"#).await;
    assert_eq!(out.function_error(), Some("Unhandled"));
    let p = payload(&out);
    assert_eq!(p["errorType"], "ValueError");
    assert_eq!(p["errorMessage"], "asked to fail");
}

/// An acknowledged Event invocation survives a SIGKILL: it waits on disk (here throttled by
/// reserved concurrency 0) and runs after the restart, once the function may run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_event_invocation_runs_after_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("events.txt");
    let start =
        || crate::common::ChildServer::start(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &[]);
    let mut server = start();
    let c = lambda_client(&server.url);
    let body = r#"  printf '%s\n' "$event" >> "$OUT"
  curl -sS -o /dev/null -X POST "$api/invocation/$id/response" -d '{}'"#;
    c.create_function()
        .function_name("later")
        .runtime(Runtime::Providedal2023)
        .role(ROLE)
        .environment(
            Environment::builder()
                .variables("OUT", out.display().to_string())
                .build(),
        )
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip_of(&[("bootstrap", &shell_runtime(body), 0o755)])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.put_function_concurrency()
        .function_name("later")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let queued = c
        .invoke()
        .function_name("later")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"kept":"across the crash"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status_code(), 202);
    server.kill();
    assert!(!out.exists(), "nothing ran before the crash");
    server = start();
    let c = lambda_client(&server.url);
    c.delete_function_concurrency()
        .function_name("later")
        .send()
        .await
        .unwrap();
    for _ in 0..100 {
        if std::fs::read_to_string(&out).is_ok_and(|t| t.contains("across the crash")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(text.lines().count(), 1, "run once: {text}");
    assert!(text.contains(r#"{"kept":"across the crash"}"#), "{text}");
}
