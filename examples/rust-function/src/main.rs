//! A Lambda function written with AWS's Rust runtime client, `lambda_runtime`, built as the
//! `bootstrap` of a `provided.al2023` package. It echoes its event with its context, fails when
//! asked (`{"fail": true}`), and counts the records of a Kinesis event.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("asked to fail".into());
    }
    let records = payload.get("Records").and_then(Value::as_array).map_or(0, Vec::len);
    println!("records: {records}");
    Ok(json!({
        "echo": payload,
        "request_id": context.request_id,
        "function_arn": context.invoked_function_arn,
        "records": records,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
