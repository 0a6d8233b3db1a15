//! PutRecord: answered once the record is on disk.

use super::RecordIn;
use rheo_delivery::{Delivery, DeliveryError};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    delivery_stream_name: String,
    record: RecordIn,
}

pub async fn handle(d: &Delivery, input: Input) -> Result<Value, DeliveryError> {
    d.put_record(&input.delivery_stream_name, input.record.bytes()).await
}
