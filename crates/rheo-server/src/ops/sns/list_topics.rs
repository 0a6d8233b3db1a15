//! ListTopics: 100 a page.

use super::{Ctx, Node, api_error, json, parse};
use crate::router::Reply;
use rheo_wire::sns::NextTokenInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: NextTokenInput = parse(input)?;
    let (arns, next) = ctx.sns.list_topics(input.next_token.as_deref()).map_err(api_error)?;
    let topics: Vec<serde_json::Value> = arns.into_iter().map(|a| serde_json::json!({"TopicArn": a})).collect();
    let mut out = serde_json::Map::new();
    out.insert("Topics".into(), topics.into());
    if let Some(t) = next {
        out.insert("NextToken".into(), t.into());
    }
    json(&out)
}
