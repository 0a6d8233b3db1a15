//! What can go wrong in a queue operation, as values; the server maps each to AWS's error
//! name, legacy query code and status in one place (`rheo-server`'s `ops/sqs/error.rs`).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue does not exist")]
    QueueDoesNotExist,
    /// CreateQueue for an existing name with different attributes (naming the first that
    /// differs) or tags.
    #[error("{0}")]
    QueueNameExists(String),
    #[error("a queue of this name was deleted less than 60 seconds ago")]
    QueueDeletedRecently,
    #[error("{0}")]
    InvalidAttributeName(String),
    #[error("{0}")]
    InvalidAttributeValue(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    ReceiptHandleIsInvalid(String),
    #[error("{0}")]
    MessageNotInflight(String),
    #[error("{0}")]
    PurgeQueueInProgress(String),
    #[error("{0}")]
    InvalidMessageContents(String),
    #[error("{0}")]
    UnsupportedOperation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    OverLimit(String),
    #[error("{0}")]
    InvalidAddress(String),
    #[error("{0}")]
    EmptyBatchRequest(String),
    #[error("{0}")]
    TooManyEntriesInBatchRequest(String),
    #[error("{0}")]
    BatchEntryIdsNotDistinct(String),
    #[error("{0}")]
    InvalidBatchEntryId(String),
    #[error("{0}")]
    BatchRequestTooLong(String),
    #[error("{0}")]
    InvalidSecurity(String),
    /// The journal could not be written: nothing was acknowledged.
    #[error("internal failure: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, QueueError>;
