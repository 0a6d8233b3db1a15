//! ListSubscriptions: every subscription of the account, 100 a page.

use super::{Ctx, Node, api_error, parse, subscriptions_out};
use crate::router::Reply;
use rheo_wire::sns::NextTokenInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: NextTokenInput = parse(input)?;
    let (rows, next) = ctx
        .sns
        .list_subscriptions(None, input.next_token.as_deref())
        .map_err(api_error)?;
    subscriptions_out(rows, next)
}
