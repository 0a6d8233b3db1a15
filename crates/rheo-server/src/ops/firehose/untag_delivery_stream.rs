//! UntagDeliveryStream.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    let keys: Vec<String> = input
        .get("TagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    d.untag(super::name(input), &keys)
}
