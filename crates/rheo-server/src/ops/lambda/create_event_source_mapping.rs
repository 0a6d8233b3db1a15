//! CreateEventSourceMapping: a Kinesis stream or an SQS queue feeding a function; answered
//! 202 `Creating`, then Enabled (or Disabled).

use super::event_source_mappings::{configuration, filters, reports_failures};
use super::{Ctx, Node, Reply, Result, api_error, parse};
use rheo_connect::{NewMapping, StartingPosition};
use rheo_functions::FunctionError;
use rheo_wire::lambda::EventSourceMappingInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: EventSourceMappingInput = parse(input)?;
    let source_arn = i.event_source_arn.ok_or_else(|| {
        api_error(FunctionError::InvalidParameter(
            "Unrecognized event source, must be kinesis, dynamodb stream or sqs.".into(),
        ))
    })?;
    let starting_position = match i.starting_position.as_deref() {
        None => None,
        Some("TRIM_HORIZON") => Some(StartingPosition::TrimHorizon),
        Some("LATEST") => Some(StartingPosition::Latest),
        Some("AT_TIMESTAMP") => {
            let ts = i.starting_position_timestamp.ok_or_else(|| {
                api_error(FunctionError::InvalidParameter(
                    "StartingPositionTimestamp must be set when StartingPosition is AT_TIMESTAMP.".into(),
                ))
            })?;
            Some(StartingPosition::AtTimestamp((ts * 1000.0) as i64))
        }
        Some(other) => {
            return Err(api_error(FunctionError::InvalidParameter(format!(
                "Unsupported starting position {other}"
            ))));
        }
    };
    let view = ctx
        .mappings()?
        .create(NewMapping {
            function: i.function_name.unwrap_or_default(),
            source_arn,
            batch_size: i.batch_size,
            batching_window_s: i.maximum_batching_window_in_seconds,
            starting_position,
            maximum_retry_attempts: i.maximum_retry_attempts,
            maximum_record_age_s: i.maximum_record_age_in_seconds,
            bisect: i.bisect_batch_on_function_error,
            report_batch_item_failures: reports_failures(i.function_response_types.as_deref()).unwrap_or(false),
            parallelization_factor: i.parallelization_factor,
            tumbling_window_s: i.tumbling_window_in_seconds,
            filters: filters(i.filter_criteria)?.unwrap_or_default(),
            on_failure: i
                .destination_config
                .and_then(|d| d.on_failure)
                .and_then(|d| d.destination),
            enabled: i.enabled,
            maximum_concurrency: i.scaling_config.and_then(|s| s.maximum_concurrency),
            tags: i.tags.unwrap_or_default(),
        })
        .map_err(api_error)?;
    Reply::json(202, &configuration(&view))
}
