//! One module per CloudWatch Logs action (AWS JSON 1.1, `Logs_20140328.*`) that Rheo serves:
//! reading the log groups of functions (`/aws/lambda/<name>`), kept in memory by
//! `rheo_functions::logs`. Errors are mapped here.

pub mod describe_log_groups;
pub mod describe_log_streams;
pub mod filter_log_events;
pub mod get_log_events;

use crate::error::ApiError;
use crate::ops::Node;
use rheo_functions::Functions;

pub async fn dispatch(functions: &Functions, action: &str, input: Node<'_>) -> Result<Vec<u8>, ApiError> {
    match action {
        "GetLogEvents" => get_log_events::handle(functions, input),
        "FilterLogEvents" => filter_log_events::handle(functions, input),
        "DescribeLogGroups" => describe_log_groups::handle(functions, input),
        "DescribeLogStreams" => describe_log_streams::handle(functions, input),
        _ => Err(ApiError::unknown_operation()),
    }
}

/// ResourceNotFoundException (400), as CloudWatch Logs words it for a missing group.
pub fn no_group() -> ApiError {
    ApiError::new("ResourceNotFoundException", "The specified log group does not exist.")
}

/// ResourceNotFoundException for a missing stream.
pub fn no_stream() -> ApiError {
    ApiError::new("ResourceNotFoundException", "The specified log stream does not exist.")
}

/// The group a request names by name or identifier (an ARN ending in the name).
pub fn group_of(name: Option<String>, identifier: Option<String>) -> Result<String, ApiError> {
    let id = identifier.map(|i| {
        let tail = i.rsplit_once(":log-group:").map_or(i.as_str(), |(_, t)| t);
        tail.trim_end_matches(":*").to_owned()
    });
    name.or(id).ok_or_else(|| {
        ApiError::new(
            "InvalidParameterException",
            "Either logGroupName or logGroupIdentifier must be given.",
        )
    })
}

/// A continuation token: the index of the next event.
pub fn token_index(token: Option<&str>) -> Result<Option<usize>, ApiError> {
    token
        .map(|t| {
            t.trim_start_matches("f/")
                .trim_start_matches("b/")
                .parse::<usize>()
                .map_err(|_| ApiError::new("InvalidParameterException", "The specified nextToken is invalid."))
        })
        .transpose()
}
