//! GetQueueAttributes: the named attributes (none named: none returned); `Attributes` is left
//! out when empty.

use super::{Ctx, Node, api_error, json, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::GetQueueAttributesInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: GetQueueAttributesInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let attributes = ctx
        .sqs
        .get_attributes(&name, &input.attribute_names.unwrap_or_default())
        .map_err(api_error)?;
    if attributes.is_empty() {
        return json(&serde_json::json!({}));
    }
    json(&serde_json::json!({ "Attributes": attributes }))
}
