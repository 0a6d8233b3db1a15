//! DescribeDeliveryStream (a stream has one destination, so Limit and
//! ExclusiveStartDestinationId change nothing).

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::Value;

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    d.describe(super::name(input))
}
