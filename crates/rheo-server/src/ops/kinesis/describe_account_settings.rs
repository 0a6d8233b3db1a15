//! DescribeAccountSettings.

use super::{account_settings_out, json, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::DescribeLimitsInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let _: DescribeLimitsInput = parse(input)?;
    json(&account_settings_out(engine.account_settings()))
}
