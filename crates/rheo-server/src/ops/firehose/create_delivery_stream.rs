//! CreateDeliveryStream: a DirectPut stream with an S3 (or ExtendedS3) destination.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    d.create(input)
}
