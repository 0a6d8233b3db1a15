//! ListTagsForDeliveryStream.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    d.list_tags(super::name(input), input)
}
