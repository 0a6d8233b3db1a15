//! ChangeMessageVisibility.

use super::{Ctx, Node, api_error, empty, parse, queue_name, required};
use crate::error::ApiError;
use crate::router::Reply;
use rheo_wire::sqs::ChangeMessageVisibilityInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: ChangeMessageVisibilityInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let handle = required(input.receipt_handle, "ReceiptHandle")?;
    let seconds = required(input.visibility_timeout, "VisibilityTimeout")?;
    let mut results = ctx
        .sqs
        .change_visibility(&name, &[(handle, seconds)])
        .await
        .map_err(api_error)?;
    results.pop().ok_or_else(ApiError::internal)?.map_err(api_error)?;
    empty()
}
