//! ListDeadLetterSourceQueues: the queues whose RedrivePolicy names this one (`queueUrls`,
//! lower case, as the model names it).

use super::list_queues::max_results;
use super::{Ctx, Node, api_error, json, parse, queue_name};
use crate::router::Reply;
use rheo_wire::sqs::ListDeadLetterSourceQueuesInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: ListDeadLetterSourceQueuesInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let max = max_results(input.max_results)?;
    let page = ctx
        .sqs
        .dead_letter_sources(&name, max, input.next_token.as_deref())
        .map_err(api_error)?;
    let urls: Vec<String> = page.names.iter().map(|n| ctx.url(n)).collect();
    let mut out = serde_json::Map::new();
    out.insert("queueUrls".into(), urls.into());
    if let Some(t) = page.next_token {
        out.insert("NextToken".into(), t.into());
    }
    json(&out)
}
