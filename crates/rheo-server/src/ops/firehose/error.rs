//! Firehose's error names (and Kinesis channels', which are the same): every delivery outcome a
//! client sees is named here.

use crate::error::ApiError;
use http::StatusCode;
use rheo_delivery::DeliveryError;

pub fn api_error(e: DeliveryError) -> ApiError {
    let (kind, message) = match e {
        DeliveryError::InvalidArgument(m) => ("InvalidArgumentException", m),
        DeliveryError::ResourceInUse(m) => ("ResourceInUseException", m),
        DeliveryError::ResourceNotFound(m) => ("ResourceNotFoundException", m),
        DeliveryError::LimitExceeded(m) => ("LimitExceededException", m),
        DeliveryError::ConcurrentModification(m) => ("ConcurrentModificationException", m),
        DeliveryError::Validation(m) => ("ValidationException", m),
        DeliveryError::ServiceUnavailable(m) => {
            tracing::error!(error = %m, "a delivery stream refused records");
            return ApiError {
                kind: "ServiceUnavailableException",
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: Some("Slow down.".into()),
                query_error: None,
            };
        }
        DeliveryError::Internal(m) => {
            tracing::error!(error = %m, "internal failure");
            return ApiError::internal();
        }
    };
    ApiError::new(kind, message)
}
