//! PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency: reserved
//! concurrency caps the function's processes; invocations past it are throttled
//! (TooManyRequestsException), and 0 stops every invocation.

use super::{Ctx, Node, Reply, Result, api_error, function_name, parse};
use rheo_wire::lambda::{FunctionInput, PutFunctionConcurrencyInput};

pub async fn put(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: PutFunctionConcurrencyInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, None)?;
    ctx.functions
        .set_concurrency(&name, Some(i.reserved_concurrent_executions))
        .map_err(api_error)?;
    Reply::json(
        200,
        &serde_json::json!({"ReservedConcurrentExecutions": i.reserved_concurrent_executions}),
    )
}

pub async fn get(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, None)?;
    let view = ctx.functions.get(&name).map_err(api_error)?;
    match view.def.reserved_concurrency {
        Some(n) => Reply::json(200, &serde_json::json!({"ReservedConcurrentExecutions": n})),
        None => Reply::json(200, &serde_json::json!({})),
    }
}

pub async fn delete(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, None)?;
    ctx.functions.set_concurrency(&name, None).map_err(api_error)?;
    Reply::empty(204)
}
