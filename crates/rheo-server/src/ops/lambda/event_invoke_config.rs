//! Put/Update/Get/DeleteFunctionEventInvokeConfig: the retries (0–2) and maximum age (60 s –
//! 6 h) of asynchronous invocations and their OnSuccess and OnFailure destinations (SQS queues,
//! SNS topics, functions).

use super::{Ctx, Node, Reply, Result, api_error, function_name, parse, set};
use rheo_functions::FunctionError;
use rheo_functions::catalog::EventInvokeConfig;
use rheo_wire::lambda::{EventInvokeConfigInput, FunctionInput};

fn render(ctx: &Ctx, name: &str, c: &EventInvokeConfig) -> serde_json::Value {
    let dest = |d: &Option<String>| match d {
        Some(arn) => serde_json::json!({"Destination": arn}),
        None => serde_json::json!({}),
    };
    let mut v = serde_json::json!({
        "LastModified": c.last_modified_ms as f64 / 1000.0,
        "FunctionArn": format!("{}:$LATEST", ctx.functions.function_arn(name)),
        "DestinationConfig": {"OnSuccess": dest(&c.on_success), "OnFailure": dest(&c.on_failure)},
    });
    if let Some(n) = c.maximum_retry_attempts {
        set(&mut v, "MaximumRetryAttempts", n);
    }
    if let Some(n) = c.maximum_event_age_s {
        set(&mut v, "MaximumEventAgeInSeconds", n);
    }
    v
}

pub async fn put(ctx: &Ctx, input: Node<'_>, merge: bool) -> Result<Reply> {
    let i: EventInvokeConfigInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    let dest = i.destination_config.unwrap_or_default();
    let pick = |d: Option<rheo_wire::lambda::Destination>| d.and_then(|d| d.destination).filter(|d| !d.is_empty());
    let config = EventInvokeConfig {
        maximum_retry_attempts: i.maximum_retry_attempts,
        maximum_event_age_s: i.maximum_event_age_in_seconds,
        on_success: pick(dest.on_success),
        on_failure: pick(dest.on_failure),
        last_modified_ms: 0,
    };
    for arn in config.on_success.iter().chain(config.on_failure.iter()) {
        let service = arn.split(':').nth(2).unwrap_or_default();
        if !matches!(service, "sqs" | "sns" | "lambda" | "events") {
            return Err(api_error(FunctionError::InvalidParameter(format!(
                "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={arn})) is invalid."
            ))));
        }
    }
    let saved = ctx
        .functions
        .set_event_invoke(&name, Some(config), merge)
        .map_err(api_error)?
        .unwrap_or_default();
    Reply::json(200, &render(ctx, &name, &saved))
}

pub async fn get(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    let view = ctx.functions.get(&name).map_err(api_error)?;
    match &view.def.event_invoke {
        Some(c) => Reply::json(200, &render(ctx, &name, c)),
        None => Err(api_error(FunctionError::NotFound(format!(
            "The function {}:$LATEST doesn't have an EventInvokeConfig",
            view.arn
        )))),
    }
}

pub async fn delete(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    ctx.functions.set_event_invoke(&name, None, false).map_err(api_error)?;
    Reply::empty(204)
}
