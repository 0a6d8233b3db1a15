//! SNS's error names: every topic outcome a client sees is mapped here (codes and statuses
//! from the model's error traits).

use crate::error::ApiError;
use http::StatusCode;
use rheo_queues::topics::SnsError;

pub fn api_error(e: SnsError) -> ApiError {
    let (kind, status, message) = match e {
        SnsError::NotFound(m) => ("NotFound", StatusCode::NOT_FOUND, m),
        SnsError::InvalidParameter(m) => ("InvalidParameter", StatusCode::BAD_REQUEST, m),
        SnsError::EmptyBatchRequest(m) => ("EmptyBatchRequest", StatusCode::BAD_REQUEST, m),
        SnsError::TooManyEntriesInBatchRequest(m) => ("TooManyEntriesInBatchRequest", StatusCode::BAD_REQUEST, m),
        SnsError::BatchEntryIdsNotDistinct(m) => ("BatchEntryIdsNotDistinct", StatusCode::BAD_REQUEST, m),
        SnsError::InvalidBatchEntryId(m) => ("InvalidBatchEntryId", StatusCode::BAD_REQUEST, m),
        SnsError::BatchRequestTooLong(m) => ("BatchRequestTooLong", StatusCode::BAD_REQUEST, m),
        SnsError::Throttled(m) => ("Throttled", StatusCode::TOO_MANY_REQUESTS, m),
        SnsError::Internal(m) => {
            tracing::error!(error = %m, "internal failure");
            (
                "InternalError",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error".into(),
            )
        }
    };
    let fault = if status.is_server_error() { "Receiver" } else { "Sender" };
    ApiError {
        kind,
        status,
        message: Some(message),
        query_error: Some(format!("{kind};{fault}")),
    }
}
