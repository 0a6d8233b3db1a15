//! TagDeliveryStream: adds tags, replacing the values of keys already there.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    d.tag(super::name(input), input.get("Tags"))
}
