use super::common::{blocking, error, store_error};
use crate::RequestContext;
use crate::notify::{Config, EVENT_NAMES, Target, ensure_checkpoint, test_event};
use s3s::dto::{
    NotificationConfigurationFilter, PutBucketNotificationConfigurationInput, PutBucketNotificationConfigurationOutput,
};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<PutBucketNotificationConfigurationInput>,
) -> S3Result<PutBucketNotificationConfigurationOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    cx.store.head_bucket(&input.bucket).map_err(store_error)?;
    let n = input.notification_configuration;
    let mut targets = Vec::new();
    for q in n.queue_configurations.unwrap_or_default() {
        targets.push(target("queue", q.id, q.queue_arn, q.events, q.filter)?);
    }
    for t in n.topic_configurations.unwrap_or_default() {
        targets.push(target("topic", t.id, t.topic_arn, t.events, t.filter)?);
    }
    for f in n.lambda_function_configurations.unwrap_or_default() {
        targets.push(target("function", f.id, f.lambda_function_arn, f.events, f.filter)?);
    }
    // Two configurations may not overlap: same event family and overlapping key filters.
    for (i, a) in targets.iter().enumerate() {
        for b in targets.iter().skip(i + 1) {
            if overlaps(a, b) {
                return Err(error(
                    "InvalidArgument",
                    "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
                ));
            }
        }
    }
    if !input.skip_destination_validation.unwrap_or(false) {
        let mut failed = Vec::new();
        for t in &targets {
            let test = test_event(&input.bucket, cx.now_ms, &format!("{:016X}", fastrand()));
            if let Err(e) = cx.events.validate(t.arn.clone(), test).await {
                tracing::debug!(destination = %t.arn, error = %e, "a notification destination does not validate");
                failed.push(t.arn.clone());
            }
        }
        if !failed.is_empty() {
            return Err(error(
                "InvalidArgument",
                format!("Unable to validate the following destination configurations: {}", failed.join(", ")),
            ));
        }
    }
    let config = Config {
        targets,
        event_bridge: n.event_bridge_configuration.is_some(),
    };
    let value = serde_json::to_value(&config).map_err(|e| error("InternalError", e.to_string()))?;
    let empty = config.targets.is_empty();
    blocking(|| -> Result<(), String> {
        if !empty {
            ensure_checkpoint(&cx.store, &input.bucket)?;
        }
        cx.store
            .update_bucket_config(&input.bucket, |c| c.notifications = (!empty || config.event_bridge).then_some(value))
            .map_err(|e| e.to_string())
    })
    .map_err(|e| error("InternalError", e))?;
    cx.events.changed(&input.bucket);
    Ok(PutBucketNotificationConfigurationOutput {})
}

fn fastrand() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

fn target(
    kind: &str,
    id: Option<String>,
    arn: String,
    events: Vec<s3s::dto::Event>,
    filter: Option<NotificationConfigurationFilter>,
) -> S3Result<Target> {
    let events: Vec<String> = events.into_iter().map(|e| e.as_ref().to_owned()).collect();
    if events.is_empty() {
        return Err(error("InvalidArgument", "A notification configuration must name at least one event."));
    }
    for e in &events {
        if !EVENT_NAMES.contains(&e.as_str()) {
            return Err(error("InvalidArgument", format!("The event is not supported for notifications: {e}")));
        }
    }
    let (mut prefix, mut suffix) = (None, None);
    for rule in filter.and_then(|f| f.key).and_then(|k| k.filter_rules).unwrap_or_default() {
        let name = rule.name.map(|n| n.as_str().to_ascii_lowercase()).unwrap_or_default();
        let slot = match name.as_str() {
            "prefix" => &mut prefix,
            "suffix" => &mut suffix,
            _ => {
                return Err(error(
                    "InvalidArgument",
                    "filter rule name must be either prefix or suffix",
                ));
            }
        };
        if slot.is_some() {
            return Err(error(
                "InvalidArgument",
                "Cannot specify more than one prefix rule in a filter.".replace("prefix", &name),
            ));
        }
        *slot = Some(rule.value.unwrap_or_default());
    }
    let service = match kind {
        "queue" => "sqs",
        "topic" => "sns",
        _ => "lambda",
    };
    if !arn.starts_with(&format!("arn:aws:{service}:")) {
        return Err(error("InvalidArgument", format!("The ARN is not well formed: {arn}")));
    }
    Ok(Target {
        kind: kind.to_owned(),
        id: id.filter(|i| !i.is_empty()).unwrap_or_else(|| format!("{:x}", fastrand())),
        arn,
        events,
        prefix,
        suffix,
    })
}

fn family(e: &str) -> &str {
    let e = e.strip_prefix("s3:").unwrap_or(e);
    e.split(':').next().unwrap_or(e)
}

fn overlaps(a: &Target, b: &Target) -> bool {
    let events = a.events.iter().any(|x| {
        b.events.iter().any(|y| {
            (x == y) || (family(x) == family(y) && (x.ends_with(":*") || y.ends_with(":*")))
        })
    });
    let prefixes = match (&a.prefix, &b.prefix) {
        (Some(p), Some(q)) => p.starts_with(q.as_str()) || q.starts_with(p.as_str()),
        _ => true,
    };
    let suffixes = match (&a.suffix, &b.suffix) {
        (Some(p), Some(q)) => p.ends_with(q.as_str()) || q.ends_with(p.as_str()),
        _ => true,
    };
    events && prefixes && suffixes
}
