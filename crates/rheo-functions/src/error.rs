//! What a function operation can fail with, as values; the server maps them to Lambda's error
//! names in one place (`ops/lambda/error.rs`).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    /// ResourceNotFoundException (404).
    #[error("{0}")]
    NotFound(String),
    /// ResourceConflictException (409).
    #[error("{0}")]
    Conflict(String),
    /// InvalidParameterValueException (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// InvalidRequestContentException (400).
    #[error("{0}")]
    InvalidRequestContent(String),
    /// RequestTooLargeException (413).
    #[error("{0}")]
    RequestTooLarge(String),
    /// ResourceNotReadyException (502): the function is not Active yet, or failed.
    #[error("{0}")]
    NotReady(String),
    /// TooManyRequestsException (429), with its Reason.
    #[error("{message}")]
    TooManyRequests { message: String, reason: &'static str },
    /// ServiceException (500): Rheo could not do what was asked (a disk or process failure).
    #[error("internal failure: {0}")]
    Service(String),
}

pub type Result<T> = std::result::Result<T, FunctionError>;

impl From<std::io::Error> for FunctionError {
    fn from(e: std::io::Error) -> FunctionError {
        FunctionError::Service(e.to_string())
    }
}
