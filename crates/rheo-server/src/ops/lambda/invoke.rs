//! Invoke: RequestResponse (the function's answer, `X-Amz-Function-Error` when it failed,
//! `X-Amz-Log-Result` with LogType=Tail), Event (202, run in the background with Lambda's
//! retries) and DryRun (204).

use super::{Ctx, Node, Reply, Result, api_error, function_name, parse};
use http::StatusCode;
use rheo_functions::InvokeKind;
use rheo_wire::lambda::InvocationInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: InvocationInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    let kind = match i.invocation_type.as_deref() {
        Some("Event") => InvokeKind::Event,
        Some("DryRun") => InvokeKind::DryRun,
        _ => InvokeKind::RequestResponse,
    };
    let out = ctx
        .functions
        .invoke(
            &name,
            None,
            ctx.body.clone(),
            kind,
            i.log_type.as_deref() == Some("Tail"),
            i.client_context,
        )
        .await
        .map_err(api_error)?;
    let mut headers = vec![("x-amz-executed-version", out.executed_version.to_owned())];
    if out.status == 200 {
        headers.push(("content-type", "application/json".to_owned()));
    }
    if let Some(e) = out.function_error {
        headers.push(("x-amz-function-error", e));
    }
    if let Some(l) = out.log_result {
        headers.push(("x-amz-log-result", l));
    }
    Ok(Reply {
        status: StatusCode::from_u16(out.status).unwrap_or(StatusCode::OK),
        headers,
        body: out.payload,
    })
}
