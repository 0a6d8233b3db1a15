//! GetFunction: the configuration, tags and reserved concurrency.

use super::{Ctx, Node, Reply, Result, api_error, configuration, function_name, parse};
use rheo_wire::lambda::FunctionInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: FunctionInput = parse(input)?;
    let name = function_name(ctx, &i.function_name, i.qualifier.as_deref())?;
    let view = ctx.functions.get(&name).map_err(api_error)?;
    let mut out = serde_json::json!({
        "Configuration": configuration(&view),
        "Code": {"RepositoryType": "S3"},
    });
    if !view.def.tags.is_empty() {
        super::set(&mut out, "Tags", serde_json::json!(view.def.tags));
    }
    if let Some(n) = view.def.reserved_concurrency {
        super::set(
            &mut out,
            "Concurrency",
            serde_json::json!({"ReservedConcurrentExecutions": n}),
        );
    }
    Reply::json(200, &out)
}
