//! UpdateAccountSettings: the minimum throughput billing commitment is recorded (Rheo bills
//! nothing); enabling starts it now, disabling ends it now.

use super::{account_settings_out, engine_error, json, parse};
use crate::router::Reply;
use rheo_engine::Engine;
use rheo_wire::model::Node;
use rheo_wire::shapes::UpdateAccountSettingsInput;

pub async fn handle(engine: &Engine, input: Node<'_>) -> Reply {
    let input: UpdateAccountSettingsInput = parse(input)?;
    let status = input.minimum_throughput_billing_commitment.and_then(|c| c.status);
    let enabled = status.as_deref() == Some("ENABLED");
    let c = engine
        .update_account_settings(enabled)
        .await
        .map_err(|e| engine_error(engine, e))?;
    json(&account_settings_out(Some(c)))
}
