//! GetFunctionConfiguration.

use super::{Ctx, Node, Reply, Result, api_error, configuration, function_name, parse};
use rheo_wire::lambda::FunctionInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    let view = ctx.functions.get(&name).map_err(api_error)?;
    Reply::json(200, &configuration(&view))
}
