//! AWS error names, status codes and messages: every error a client sees is made here.

use http::StatusCode;
use rheo_engine::Error;

/// An error response: `{"__type": kind, "message": message}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: &'static str,
    pub status: StatusCode,
    pub message: Option<String>,
    /// Services with `awsQueryCompatible` (SQS) also send their query protocol's error code
    /// and fault (`AWS.SimpleQueueService.NonExistentQueue;Sender`) in `x-amzn-query-error`.
    pub query_error: Option<String>,
}

impl ApiError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            status: StatusCode::BAD_REQUEST,
            message: Some(message.into()),
            query_error: None,
        }
    }
    pub fn validation(message: String) -> ApiError {
        ApiError::new("ValidationException", message)
    }
    pub fn serialization(detail: impl Into<String>) -> ApiError {
        ApiError::new("SerializationException", detail)
    }
    /// A body that is not JSON: AWS names the error and says nothing more.
    pub fn serialization_without_message() -> ApiError {
        ApiError {
            kind: "SerializationException",
            status: StatusCode::BAD_REQUEST,
            message: None,
            query_error: None,
        }
    }
    pub fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidArgumentException", message)
    }
    pub fn unknown_operation() -> ApiError {
        ApiError {
            kind: "UnknownOperationException",
            status: StatusCode::BAD_REQUEST,
            message: None,
            query_error: None,
        }
    }
    pub fn internal() -> ApiError {
        ApiError {
            kind: "InternalFailure",
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: Some("Internal service failure.".into()),
            query_error: None,
        }
    }

    /// Maps an engine outcome to its AWS error, with the account id AWS puts in messages.
    pub fn from_engine(e: Error, account: &str) -> ApiError {
        match e {
            Error::StreamNotFound(s) => ApiError::new(
                "ResourceNotFoundException",
                format!("Stream {s} under account {account} not found."),
            ),
            Error::StreamExists(s) => ApiError::new(
                "ResourceInUseException",
                format!("Stream {s} under account {account} already exists."),
            ),
            Error::StreamNotActive { stream, status } => ApiError::new(
                "ResourceInUseException",
                format!("Stream {stream} under account {account} not ACTIVE, instead in state {status}"),
            ),
            Error::ShardNotFound { stream, shard } => ApiError::new(
                "ResourceNotFoundException",
                format!("Shard {shard} in stream {stream} under account {account} does not exist"),
            ),
            Error::InvalidArgument(m) => ApiError::invalid_argument(m),
            Error::LimitExceeded(m) => ApiError::new("LimitExceededException", m),
            Error::Validation(m) => ApiError::validation(m),
            Error::NotFound(m) => ApiError::new("ResourceNotFoundException", m),
            Error::InUse(m) => ApiError::new("ResourceInUseException", m),
            Error::Throttled(m) => ApiError::new("ProvisionedThroughputExceededException", m),
            Error::ExpiredIterator(m) => ApiError::new("ExpiredIteratorException", m),
            Error::ExpiredNextToken(m) => ApiError::new("ExpiredNextTokenException", m),
            Error::AccessDenied(m) => ApiError::new("AccessDeniedException", m),
            Error::Internal(m) => {
                tracing::error!(error = %m, "internal failure");
                ApiError::internal()
            }
        }
    }
}
