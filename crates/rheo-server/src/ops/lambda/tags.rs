//! TagResource, UntagResource, ListTags: a function's tags, by its ARN (at most 50).

use super::{Ctx, Node, Reply, Result, api_error, parse};
use rheo_functions::FunctionError;
use rheo_wire::lambda::TagResourceInput;

fn function(ctx: &Ctx, arn: &str) -> Result<String> {
    if !arn.starts_with("arn:") {
        return Err(api_error(FunctionError::InvalidParameter(format!(
            "1 validation error detected: Value '{arn}' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{{2}}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{{17}}|event-source-mapping:[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}})"
        ))));
    }
    ctx.functions.resolve(arn).map(|(n, _)| n).map_err(api_error)
}

pub async fn tag(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: TagResourceInput = parse(input)?;
    let name = function(ctx, &i.resource)?;
    ctx.functions
        .tag(&name, i.tags.unwrap_or_default(), &[])
        .map_err(api_error)?;
    Reply::empty(204)
}

pub async fn untag(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: TagResourceInput = parse(input)?;
    let name = function(ctx, &i.resource)?;
    ctx.functions
        .tag(&name, Default::default(), &i.tag_keys.unwrap_or_default())
        .map_err(api_error)?;
    Reply::empty(204)
}

pub async fn list(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: TagResourceInput = parse(input)?;
    let name = function(ctx, &i.resource)?;
    let view = ctx.functions.get(&name).map_err(api_error)?;
    Reply::json(200, &serde_json::json!({"Tags": view.def.tags}))
}
