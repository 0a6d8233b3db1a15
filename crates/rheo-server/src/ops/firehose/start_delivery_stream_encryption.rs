//! StartDeliveryStreamEncryption: recorded and reported; the data's protection at rest is the
//! host's.

use rheo_delivery::{Delivery, DeliveryError};
use serde_json::{Value, json};

pub fn handle(d: &Delivery, input: &Value) -> Result<Value, DeliveryError> {
    let config = input
        .get("DeliveryStreamEncryptionConfigurationInput")
        .cloned()
        .unwrap_or_else(|| json!({"KeyType": "AWS_OWNED_CMK"}));
    d.set_encryption(super::name(input), Some(&config))
}
