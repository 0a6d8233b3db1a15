//! SNS's error names: every topic outcome a client sees is mapped here (codes and statuses
//! from the model's error traits).

use crate::error::ApiError;
use http::StatusCode;
use rheo_queues::topics::SnsError;

pub fn api_error(e: SnsError) -> ApiError {
    let (kind, status, message) = match e {
        SnsError::NotFound(m) => ("NotFound", StatusCode::NOT_FOUND, m),
        SnsError::InvalidParameter(m) => ("InvalidParameter", StatusCode::BAD_REQUEST, m),
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
