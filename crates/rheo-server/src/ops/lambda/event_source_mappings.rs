//! What the event source mapping actions share: the EventSourceMappingConfiguration writer.

use super::set;
use rheo_connect::MappingView;
use rheo_connect::catalog::{Source, StartingPosition};

pub fn configuration(v: &MappingView) -> serde_json::Value {
    let d = &v.def;
    let kinesis = matches!(d.source, Source::Kinesis { .. });
    let mut c = serde_json::json!({
        "UUID": d.uuid,
        "BatchSize": d.batch_size,
        "MaximumBatchingWindowInSeconds": d.batching_window_s,
        "EventSourceArn": d.source_arn,
        "FunctionArn": v.function_arn,
        "LastModified": d.last_modified_ms as f64 / 1000.0,
        "State": v.state,
        "StateTransitionReason": if kinesis { "User action" } else { "USER_INITIATED" },
        "FunctionResponseTypes": if d.report_batch_item_failures { vec!["ReportBatchItemFailures"] } else { vec![] },
        "EventSourceMappingArn": v.arn,
    });
    if !matches!(d.source, Source::Sqs { .. }) {
        set(&mut c, "LastProcessingResult", v.last_processing_result.clone());
    }
    if kinesis {
        set(&mut c, "ParallelizationFactor", d.parallelization_factor);
        set(&mut c, "MaximumRecordAgeInSeconds", d.maximum_record_age_s);
        set(&mut c, "MaximumRetryAttempts", d.maximum_retry_attempts);
        set(&mut c, "BisectBatchOnFunctionError", d.bisect);
        set(&mut c, "TumblingWindowInSeconds", d.tumbling_window_s);
        let on_failure = match &d.on_failure {
            Some(arn) => serde_json::json!({"Destination": arn}),
            None => serde_json::json!({}),
        };
        set(
            &mut c,
            "DestinationConfig",
            serde_json::json!({"OnFailure": on_failure}),
        );
        match d.starting_position {
            Some(StartingPosition::TrimHorizon) => set(&mut c, "StartingPosition", "TRIM_HORIZON"),
            Some(StartingPosition::Latest) => set(&mut c, "StartingPosition", "LATEST"),
            Some(StartingPosition::AtTimestamp(ts)) => {
                set(&mut c, "StartingPosition", "AT_TIMESTAMP");
                set(&mut c, "StartingPositionTimestamp", ts as f64 / 1000.0);
            }
            None => {}
        }
    }
    if !d.filters.is_empty() {
        let filters: Vec<serde_json::Value> = d.filters.iter().map(|p| serde_json::json!({"Pattern": p})).collect();
        set(&mut c, "FilterCriteria", serde_json::json!({"Filters": filters}));
    }
    if let Some(n) = d.maximum_concurrency {
        set(&mut c, "ScalingConfig", serde_json::json!({"MaximumConcurrency": n}));
    }
    c
}

/// The patterns of a FilterCriteria (at most 5).
pub fn filters(f: Option<rheo_wire::lambda::FilterCriteria>) -> Result<Option<Vec<String>>, crate::error::ApiError> {
    let Some(f) = f else { return Ok(None) };
    let list: Vec<String> = f
        .filters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.pattern)
        .collect();
    if list.len() > 5 {
        return Err(super::api_error(rheo_functions::FunctionError::InvalidParameter(
            "The number of filters in FilterCriteria exceeds the quota of 5.".into(),
        )));
    }
    Ok(Some(list))
}

/// FunctionResponseTypes: ReportBatchItemFailures or nothing.
pub fn reports_failures(types: Option<&[String]>) -> Option<bool> {
    types.map(|t| t.iter().any(|t| t == "ReportBatchItemFailures"))
}
