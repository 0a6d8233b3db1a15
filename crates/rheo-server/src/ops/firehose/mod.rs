//! One module per Firehose action (AWS JSON 1.1, `Firehose_20150804.*`), each handing the
//! checked request to the tenant's `rheo_delivery::Delivery`; AWS's error names in `error`.

pub mod create_delivery_stream;
pub mod delete_delivery_stream;
pub mod describe_delivery_stream;
pub mod error;
pub mod list_delivery_streams;
pub mod list_tags_for_delivery_stream;
pub mod put_record;
pub mod put_record_batch;
pub mod start_delivery_stream_encryption;
pub mod stop_delivery_stream_encryption;
pub mod tag_delivery_stream;
pub mod untag_delivery_stream;
pub mod update_destination;

pub use crate::ops::Node;
pub use error::api_error;

use crate::router::Reply;
use rheo_delivery::Delivery;
use serde_json::Value;

/// Runs a Firehose action on a checked request.
pub async fn dispatch(d: &Delivery, action: &str, input: Node<'_>) -> Reply {
    let out = match action {
        "PutRecord" => put_record::handle(d, crate::ops::parse(input)?).await,
        "PutRecordBatch" => put_record_batch::handle(d, crate::ops::parse(input)?).await,
        _ => {
            // Control-plane changes save the catalog (fsync): off the async threads.
            let (d, action, input) = (d.clone(), action.to_owned(), crate::ops::parse(input)?);
            tokio::task::spawn_blocking(move || whole(&d, &action, input))
                .await
                .map_err(|_| crate::error::ApiError::internal())?
        }
    };
    crate::ops::json(&out.map_err(api_error)?)
}

/// The actions whose requests hold no blobs, read as JSON values.
fn whole(d: &Delivery, action: &str, input: Value) -> Result<Value, rheo_delivery::DeliveryError> {
    match action {
        "CreateDeliveryStream" => create_delivery_stream::handle(d, &input),
        "DeleteDeliveryStream" => delete_delivery_stream::handle(d, &input),
        "DescribeDeliveryStream" => describe_delivery_stream::handle(d, &input),
        "ListDeliveryStreams" => list_delivery_streams::handle(d, &input),
        "ListTagsForDeliveryStream" => list_tags_for_delivery_stream::handle(d, &input),
        "StartDeliveryStreamEncryption" => start_delivery_stream_encryption::handle(d, &input),
        "StopDeliveryStreamEncryption" => stop_delivery_stream_encryption::handle(d, &input),
        "TagDeliveryStream" => tag_delivery_stream::handle(d, &input),
        "UntagDeliveryStream" => untag_delivery_stream::handle(d, &input),
        "UpdateDestination" => update_destination::handle(d, &input),
        _ => Err(rheo_delivery::DeliveryError::InvalidArgument(format!(
            "{action} is not supported."
        ))),
    }
}

/// The stream a request names (the model requires the member).
pub fn name(input: &Value) -> &str {
    input
        .get("DeliveryStreamName")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A record as PutRecord and PutRecordBatch give it (the model has checked its size).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordIn {
    pub data: Option<rheo_wire::shapes::Blob>,
}

impl RecordIn {
    pub fn bytes(self) -> bytes::Bytes {
        self.data.map(|b| b.0).unwrap_or_default().into()
    }
}
