//! What can go wrong in an engine operation.
//!
//! Kinesis uses a handful of error classes across all its operations, so the engine has one
//! small enum of domain outcomes rather than one per operation; `rheo-server` maps each variant
//! to its AWS name, status and message in one place.

use rheo_types::StreamName;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("stream {0} not found")]
    StreamNotFound(StreamName),
    #[error("stream {0} already exists")]
    StreamExists(StreamName),
    #[error("stream {stream} is {status}, not ACTIVE")]
    StreamNotActive { stream: StreamName, status: &'static str },
    /// ResourceInUseException for a resource other than a stream's status; the message is AWS's.
    #[error("{0}")]
    InUse(String),
    /// A resource other than a stream is missing; the message is AWS's.
    #[error("{0}")]
    NotFound(String),
    #[error("shard {shard} of stream {stream} not found")]
    ShardNotFound { stream: StreamName, shard: String },
    /// The request is well formed but its values do not fit together; the message is AWS's.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    LimitExceeded(String),
    /// A ValidationException raised by the engine (not by the field checks at the edge).
    #[error("{0}")]
    Validation(String),
    /// ProvisionedThroughputExceededException: the shard's throughput limits refused it.
    #[error("{0}")]
    Throttled(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    ExpiredNextToken(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl From<rheo_log::LogError> for Error {
    fn from(e: rheo_log::LogError) -> Self {
        // Logged once, where the server maps Internal to InternalFailure.
        Error::Internal(e.to_string())
    }
}
