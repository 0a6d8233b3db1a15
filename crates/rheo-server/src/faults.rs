//! Fault injection for testing clients: per operation, an added latency and an error rate.
//!
//! A rule names an action (or `*` for every action). Before the action runs, the latency is
//! added; then, with probability `error-rate`, the call fails with `error` (by default the
//! throttling error AWS gives that operation). PutRecords is the exception: there the rate
//! applies to each record, which fails inside a successful response with its ErrorCode and
//! ErrorMessage, the way AWS reports throttled records. Off (no rules) by default; set at start
//! (`--fault`, `[[fault]]` in the config file) and at run time (`PUT /_rheo/faults`).

use crate::error::ApiError;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultRule {
    /// The action, e.g. `PutRecords`, or `*`.
    pub operation: String,
    /// Share of calls (of records, for PutRecords) that fail, from 0 to 1.
    #[serde(default)]
    pub error_rate: f64,
    /// The AWS error to return; see [`ERRORS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Added before the call runs.
    #[serde(default)]
    pub latency_ms: u64,
}

/// The errors a rule may inject, with their statuses.
pub const ERRORS: &[(&str, StatusCode)] = &[
    ("ProvisionedThroughputExceededException", StatusCode::BAD_REQUEST),
    ("LimitExceededException", StatusCode::BAD_REQUEST),
    ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR),
    ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE),
];

/// The actions whose throttling error is ProvisionedThroughputExceededException; the others
/// (control plane) throttle with LimitExceededException.
const DATA_ACTIONS: &[&str] = &["PutRecord", "PutRecords", "GetRecords"];

impl FaultRule {
    /// Parses `ACTION[:key=value,...]`, e.g. `PutRecords:error-rate=0.05,latency-ms=20`.
    pub fn parse_spec(spec: &str) -> Result<FaultRule, String> {
        let (operation, params) = spec.split_once(':').unwrap_or((spec, ""));
        let mut rule = FaultRule {
            operation: operation.trim().to_owned(),
            error_rate: 0.0,
            error: None,
            latency_ms: 0,
        };
        for kv in params.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("{kv:?} is not key=value"))?;
            match k.trim() {
                "error-rate" => rule.error_rate = v.trim().parse().map_err(|_| format!("bad error-rate {v:?}"))?,
                "error" => rule.error = Some(v.trim().to_owned()),
                "latency-ms" => rule.latency_ms = v.trim().parse().map_err(|_| format!("bad latency-ms {v:?}"))?,
                other => {
                    return Err(format!(
                        "unknown fault setting {other:?} (error-rate, error, latency-ms)"
                    ));
                }
            }
        }
        rule.check()?;
        Ok(rule)
    }

    pub fn check(&self) -> Result<(), String> {
        let op = &self.operation;
        if op != "*" && (op.is_empty() || !op.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(format!("operation must be an action name or *, got {op:?}"));
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!("error-rate must be between 0 and 1, got {}", self.error_rate));
        }
        if let Some(e) = self.error.as_deref().filter(|e| !ERRORS.iter().any(|(n, _)| n == e)) {
            let known: Vec<&str> = ERRORS.iter().map(|(n, _)| *n).collect();
            return Err(format!("error must be one of {}, got {e:?}", known.join(", ")));
        }
        if self.latency_ms > 60_000 {
            return Err(format!("latency-ms must be at most 60000, got {}", self.latency_ms));
        }
        Ok(())
    }

    fn applies_to(&self, action: &str) -> bool {
        self.operation == "*" || self.operation == action
    }

    /// Whether this call (or record) is to fail.
    pub fn roll(&self) -> bool {
        self.error_rate > 0.0 && fastrand::f64() < self.error_rate
    }

    /// The error name for `action`: the rule's, or the action's throttling error.
    pub fn error_name(&self, action: &str) -> &'static str {
        let wanted = self.error.as_deref().unwrap_or(if DATA_ACTIONS.contains(&action) {
            "ProvisionedThroughputExceededException"
        } else {
            "LimitExceededException"
        });
        ERRORS
            .iter()
            .find(|(n, _)| *n == wanted)
            .map_or("InternalFailure", |(n, _)| n)
    }

    /// The whole-call error for `action`.
    pub fn error(&self, action: &str) -> ApiError {
        let kind = self.error_name(action);
        let status = ERRORS
            .iter()
            .find(|(n, _)| *n == kind)
            .map_or(StatusCode::BAD_REQUEST, |(_, s)| *s);
        ApiError {
            kind,
            status,
            message: Some(format!("Rate exceeded for {action} (fault injected by Rheo).")),
            query_error: None,
        }
    }
}

/// The rules in force; replaced whole.
#[derive(Debug, Default)]
pub struct Faults {
    rules: RwLock<Arc<Vec<FaultRule>>>,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>) -> Faults {
        Faults {
            rules: RwLock::new(Arc::new(rules)),
        }
    }

    pub fn rules(&self) -> Arc<Vec<FaultRule>> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, rules: Vec<FaultRule>) -> Result<(), String> {
        rules.iter().try_for_each(FaultRule::check)?;
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
        Ok(())
    }

    /// The first rule for `action`, if any.
    pub fn for_action(&self, action: &str) -> Option<FaultRule> {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        rules.iter().find(|r| r.applies_to(action)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_are_refused() {
        let r = FaultRule::parse_spec("PutRecords:error-rate=0.05,latency-ms=200").unwrap();
        assert_eq!(r.operation, "PutRecords");
        assert_eq!(r.error_rate, 0.05);
        assert_eq!(r.latency_ms, 200);
        assert_eq!(r.error_name("PutRecords"), "ProvisionedThroughputExceededException");
        let r = FaultRule::parse_spec("*:error=InternalFailure,error-rate=1").unwrap();
        assert_eq!(r.error("ListStreams").status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(FaultRule::parse_spec("GetRecords").unwrap().latency_ms, 0);
        assert_eq!(
            FaultRule::parse_spec("ListStreams:error-rate=1")
                .unwrap()
                .error_name("ListStreams"),
            "LimitExceededException"
        );
        for bad in [
            "PutRecords:error-rate=2",
            "PutRecords:error=Nope",
            "PutRecords:speed=3",
            "Put Records",
            "PutRecords:latency-ms=-1",
            "PutRecords:error-rate",
        ] {
            assert!(FaultRule::parse_spec(bad).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn the_first_matching_rule_applies_and_rates_hold_roughly() {
        let faults = Faults::new(vec![
            FaultRule::parse_spec("GetRecords:latency-ms=5").unwrap(),
            FaultRule::parse_spec("*:error-rate=0.25").unwrap(),
        ]);
        assert_eq!(faults.for_action("GetRecords").unwrap().latency_ms, 5);
        let any = faults.for_action("PutRecord").unwrap();
        let failed = (0..20_000).filter(|_| any.roll()).count();
        assert!((4_000..6_000).contains(&failed), "about a quarter fail: {failed}");
        assert!(faults.set(vec![]).is_ok());
        assert_eq!(faults.for_action("PutRecord"), None);
    }
}
