//! DescribeLogGroups: the log groups functions wrote to, by name prefix.

use crate::error::ApiError;
use crate::ops::{Node, json, parse};
use rheo_functions::Functions;
use rheo_wire::logs::DescribeLogGroupsInput;

pub fn handle(functions: &Functions, input: Node<'_>) -> Result<Vec<u8>, ApiError> {
    let i: DescribeLogGroupsInput = parse(input)?;
    let limit = i.limit.unwrap_or(50).clamp(1, 50);
    let groups: Vec<serde_json::Value> = functions
        .logs()
        .groups()
        .into_iter()
        .filter(|(n, _)| i.log_group_name_prefix.as_deref().is_none_or(|p| n.starts_with(p)))
        .take(limit)
        .map(|(name, created)| {
            let arn = format!(
                "arn:aws:logs:{}:{}:log-group:{name}",
                functions.region(),
                functions.account()
            );
            serde_json::json!({
                "logGroupName": name,
                "creationTime": created,
                "metricFilterCount": 0,
                "arn": format!("{arn}:*"),
                "storedBytes": 0,
                "logGroupClass": "STANDARD",
                "logGroupArn": arn,
            })
        })
        .collect();
    json(&serde_json::json!({"logGroups": groups}))
}
