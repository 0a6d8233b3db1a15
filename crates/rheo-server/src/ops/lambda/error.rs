//! Lambda's error names: every function outcome a client sees is mapped here (codes and
//! statuses from the model's error traits). Lambda's error bodies are
//! `{"Type": "User" | "Server", "message": ...}` with the code in `x-amzn-ErrorType`.

use crate::error::ApiError;
use http::StatusCode;
use rheo_functions::FunctionError;

pub fn api_error(e: FunctionError) -> ApiError {
    let (kind, status, message) = match e {
        FunctionError::NotFound(m) => ("ResourceNotFoundException", StatusCode::NOT_FOUND, m),
        FunctionError::Conflict(m) => ("ResourceConflictException", StatusCode::CONFLICT, m),
        FunctionError::InvalidParameter(m) => ("InvalidParameterValueException", StatusCode::BAD_REQUEST, m),
        FunctionError::InvalidRequestContent(m) => ("InvalidRequestContentException", StatusCode::BAD_REQUEST, m),
        FunctionError::RequestTooLarge(m) => ("RequestTooLargeException", StatusCode::PAYLOAD_TOO_LARGE, m),
        FunctionError::NotReady(m) => ("ResourceNotReadyException", StatusCode::BAD_GATEWAY, m),
        FunctionError::TooManyRequests { message, .. } => {
            ("TooManyRequestsException", StatusCode::TOO_MANY_REQUESTS, message)
        }
        FunctionError::Service(m) => {
            tracing::error!(error = %m, "internal failure");
            (
                "ServiceException",
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred.".into(),
            )
        }
    };
    ApiError {
        kind,
        status,
        message: Some(message),
        query_error: None,
    }
}

/// Lambda's error body.
pub fn body(e: &ApiError) -> Vec<u8> {
    let kind = if e.status.is_server_error() { "Server" } else { "User" };
    let mut v = serde_json::json!({"Type": kind});
    if let Some(m) = &e.message {
        super::set(&mut v, "message", m.clone());
    }
    v.to_string().into_bytes()
}
