//! ListFunctions: name order, at most MaxItems (1–50, default 50) a page, NextMarker.

use super::{Ctx, Node, Reply, Result, api_error, configuration, parse, set};
use rheo_functions::FunctionError;
use rheo_wire::lambda::ListFunctionsInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: ListFunctionsInput = parse(input)?;
    let max = i.max_items.unwrap_or(50);
    if !(1..=10_000).contains(&max) {
        return Err(api_error(FunctionError::InvalidParameter(
            "MaxItems must be between 1 and 10000".into(),
        )));
    }
    let (views, next) = ctx.functions.list(i.marker.as_deref(), max.min(50) as usize);
    let mut out = serde_json::json!({
        "Functions": views.iter().map(configuration).collect::<Vec<_>>(),
    });
    if let Some(n) = next {
        set(&mut out, "NextMarker", n);
    }
    Reply::json(200, &out)
}
