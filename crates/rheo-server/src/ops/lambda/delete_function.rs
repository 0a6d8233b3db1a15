//! DeleteFunction: the function, its code and its processes.

use super::{Ctx, Node, Reply, Result, api_error, function_name, parse};
use rheo_wire::lambda::FunctionInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    ctx.functions.delete(&name).await.map_err(api_error)?;
    Reply::empty(204)
}
