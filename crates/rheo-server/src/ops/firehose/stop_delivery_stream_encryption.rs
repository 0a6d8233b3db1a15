//! StopDeliveryStreamEncryption.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    d.set_encryption(super::name(input), None)
}
