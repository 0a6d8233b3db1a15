//! PutRecordBatch: up to 500 records and 4 MiB, answered once they are on disk.

use super::RecordIn;
use rheo_delivery::{Delivery, DeliveryError};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    delivery_stream_name: String,
    records: Vec<RecordIn>,
}

pub async fn handle(d: &Delivery, input: Input) -> Result<Value, DeliveryError> {
    let data = input.records.into_iter().map(RecordIn::bytes).collect();
    d.put_record_batch(&input.delivery_stream_name, data).await
}
