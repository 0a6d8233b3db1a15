//! ListDeliveryStreams: names in order, after ExclusiveStartDeliveryStreamName.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    Ok(d.list(input))
}
