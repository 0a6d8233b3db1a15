use super::common::store_error;
use crate::RequestContext;
use crate::notify::{Config, Target};
use s3s::dto::{
    EventBridgeConfiguration, FilterRule, FilterRuleName, GetBucketNotificationConfigurationInput,
    GetBucketNotificationConfigurationOutput, LambdaFunctionConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter, TopicConfiguration,
};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<GetBucketNotificationConfigurationInput>,
) -> S3Result<GetBucketNotificationConfigurationOutput> {
    super::common::local_only(cx, &req.input.bucket)?;
    let stored = cx.store.bucket_config(&req.input.bucket).map_err(store_error)?.notifications;
    let config: Config = stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    let of = |kind: &'static str| config.targets.iter().filter(move |t| t.kind == kind);
    Ok(GetBucketNotificationConfigurationOutput {
        queue_configurations: list(
            of("queue")
                .map(|t| QueueConfiguration {
                    events: events(t),
                    filter: filter(t),
                    id: Some(t.id.clone()),
                    queue_arn: t.arn.clone(),
                })
                .collect(),
        ),
        topic_configurations: list(
            of("topic")
                .map(|t| TopicConfiguration {
                    events: events(t),
                    filter: filter(t),
                    id: Some(t.id.clone()),
                    topic_arn: t.arn.clone(),
                })
                .collect(),
        ),
        lambda_function_configurations: list(
            of("function")
                .map(|t| LambdaFunctionConfiguration {
                    events: events(t),
                    filter: filter(t),
                    id: Some(t.id.clone()),
                    lambda_function_arn: t.arn.clone(),
                })
                .collect(),
        ),
        event_bridge_configuration: config.event_bridge.then(EventBridgeConfiguration::default),
    })
}

fn list<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn events(t: &Target) -> Vec<s3s::dto::Event> {
    t.events.iter().map(|e| s3s::dto::Event::from(e.clone())).collect()
}

fn filter(t: &Target) -> Option<NotificationConfigurationFilter> {
    let mut rules = Vec::new();
    for (name, v) in [("prefix", &t.prefix), ("suffix", &t.suffix)] {
        if let Some(v) = v {
            rules.push(FilterRule {
                name: Some(FilterRuleName::from(name.to_owned())),
                value: Some(v.clone()),
            });
        }
    }
    if rules.is_empty() {
        return None;
    }
    Some(NotificationConfigurationFilter {
        key: Some(S3KeyFilter {
            filter_rules: Some(rules),
        }),
    })
}
