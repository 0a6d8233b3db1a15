//! UpdateDestination: merges an S3 or ExtendedS3 update into the destination, checked against
//! the current version id.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    d.update_destination(input)
}
