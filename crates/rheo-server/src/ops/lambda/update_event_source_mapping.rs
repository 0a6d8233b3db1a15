//! UpdateEventSourceMapping: what is given replaces what was; answered 202 `Updating`
//! (`Enabling`, `Disabling`). A disabled Kinesis mapping resumes from its checkpoints.

use super::event_source_mappings::{configuration, filters, reports_failures};
use super::{Ctx, Node, Reply, Result, api_error, parse};
use rheo_connect::MappingChanges;
use rheo_wire::lambda::EventSourceMappingInput;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Result<Reply> {
    let i: EventSourceMappingInput = parse(input)?;
    let uuid = i.uuid.clone().unwrap_or_default();
    let changes = MappingChanges {
        function: i.function_name,
        batch_size: i.batch_size,
        batching_window_s: i.maximum_batching_window_in_seconds,
        maximum_retry_attempts: i.maximum_retry_attempts,
        maximum_record_age_s: i.maximum_record_age_in_seconds,
        bisect: i.bisect_batch_on_function_error,
        report_batch_item_failures: reports_failures(i.function_response_types.as_deref()),
        parallelization_factor: i.parallelization_factor,
        tumbling_window_s: i.tumbling_window_in_seconds,
        filters: filters(i.filter_criteria)?,
        on_failure: i
            .destination_config
            .map(|d| d.on_failure.and_then(|d| d.destination).filter(|d| !d.is_empty())),
        enabled: i.enabled,
        maximum_concurrency: i.scaling_config.and_then(|s| s.maximum_concurrency),
    };
    let view = ctx.mappings()?.update(&uuid, changes).map_err(api_error)?;
    Reply::json(202, &configuration(&view))
}
