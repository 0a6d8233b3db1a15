//! SQS's error names: every queue outcome a client sees is mapped here. Over AWS JSON 1.0 SQS
//! sends the error's shape name as `__type` (`com.amazonaws.sqs#QueueDoesNotExist`) and its
//! query protocol's code in `x-amzn-query-error` (`AWS.SimpleQueueService.NonExistentQueue;
//! Sender`); SDKs show the latter as the error code ("Interpreting Amazon SQS JSON API
//! responses", and AWS-recorded snapshots: docs/compatibility.md).

use crate::error::ApiError;
use http::StatusCode;
use rheo_queues::QueueError;

/// The JSON `__type`, the query code and the status of each error.
fn names(e: &QueueError) -> (&'static str, &'static str, StatusCode) {
    use QueueError::*;
    const BAD: StatusCode = StatusCode::BAD_REQUEST;
    match e {
        QueueDoesNotExist => (
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            BAD,
        ),
        QueueNameExists(_) => ("com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists", BAD),
        QueueDeletedRecently => (
            "com.amazonaws.sqs#QueueDeletedRecently",
            "AWS.SimpleQueueService.QueueDeletedRecently",
            BAD,
        ),
        InvalidAttributeName(_) => ("com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName", BAD),
        InvalidAttributeValue(_) => ("com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue", BAD),
        InvalidParameterValue(_) => (
            "com.amazonaws.sqs#InvalidParameterValueException",
            "InvalidParameterValue",
            BAD,
        ),
        MissingParameter(_) => (
            "com.amazonaws.sqs#MissingRequiredParameterException",
            "MissingParameter",
            BAD,
        ),
        ReceiptHandleIsInvalid(_) => (
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            BAD,
        ),
        MessageNotInflight(_) => (
            "com.amazonaws.sqs#MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            BAD,
        ),
        PurgeQueueInProgress(_) => (
            "com.amazonaws.sqs#PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            StatusCode::FORBIDDEN,
        ),
        InvalidMessageContents(_) => (
            "com.amazonaws.sqs#InvalidMessageContents",
            "InvalidMessageContents",
            BAD,
        ),
        UnsupportedOperation(_) => (
            "com.amazonaws.sqs#UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            BAD,
        ),
        ResourceNotFound(_) => (
            "com.amazonaws.sqs#ResourceNotFoundException",
            "ResourceNotFoundException",
            StatusCode::NOT_FOUND,
        ),
        OverLimit(_) => ("com.amazonaws.sqs#OverLimit", "OverLimit", StatusCode::FORBIDDEN),
        InvalidAddress(_) => (
            "com.amazonaws.sqs#InvalidAddress",
            "InvalidAddress",
            StatusCode::NOT_FOUND,
        ),
        InvalidSecurity(_) => (
            "com.amazonaws.sqs#InvalidSecurity",
            "InvalidSecurity",
            StatusCode::FORBIDDEN,
        ),
        EmptyBatchRequest(_) => (
            "com.amazonaws.sqs#EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            BAD,
        ),
        TooManyEntriesInBatchRequest(_) => (
            "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            BAD,
        ),
        BatchEntryIdsNotDistinct(_) => (
            "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            BAD,
        ),
        InvalidBatchEntryId(_) => (
            "com.amazonaws.sqs#InvalidBatchEntryId",
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            BAD,
        ),
        BatchRequestTooLong(_) => (
            "com.amazonaws.sqs#BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            BAD,
        ),
        Internal(_) => (
            "com.amazonaws.sqs#InternalError",
            "InternalError",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

fn message(e: &QueueError) -> String {
    match e {
        QueueError::QueueDoesNotExist => "The specified queue does not exist.".into(),
        QueueError::QueueDeletedRecently => {
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.".into()
        }
        QueueError::Internal(m) => {
            tracing::error!(error = %m, "internal failure");
            "We encountered an internal error. Please try again.".into()
        }
        other => other.to_string(),
    }
}

pub fn api_error(e: QueueError) -> ApiError {
    let (kind, code, status) = names(&e);
    let fault = if status.is_server_error() { "Receiver" } else { "Sender" };
    ApiError {
        kind,
        status,
        message: Some(message(&e)),
        query_error: Some(format!("{code};{fault}")),
    }
}

/// A batch entry's failure: its query code, whether the sender is at fault, and its text.
pub fn entry_failure(id: String, e: QueueError) -> rheo_wire::sqs::BatchResultErrorEntry {
    let (_, code, status) = names(&e);
    rheo_wire::sqs::BatchResultErrorEntry {
        id,
        sender_fault: !status.is_server_error(),
        code: code.to_owned(),
        message: message(&e),
    }
}
