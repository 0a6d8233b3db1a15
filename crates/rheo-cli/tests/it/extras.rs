//! The rest of the Kinesis model: encryption, enhanced monitoring, resource policies and
//! account settings are recorded (in the catalog) and reported.

use crate::common::*;
use aws_sdk_kinesis::types::{
    EncryptionType, MetricsName, MinimumThroughputBillingCommitmentInput,
    MinimumThroughputBillingCommitmentInputStatus, MinimumThroughputBillingCommitmentOutputStatus,
};

#[tokio::test]
async fn encryption_monitoring_policies_and_account_settings() {
    let server = TestServer::start().await;
    let c = server.client();
    create_active(&c, "extra", 1).await;
    // Encryption: KMS with the key as given, reported by DescribeStream and PutRecord.
    c.start_stream_encryption()
        .stream_name("extra")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await
        .unwrap();
    let d = c.describe_stream().stream_name("extra").send().await.unwrap();
    let d = d.stream_description().unwrap();
    assert_eq!(d.encryption_type(), Some(&EncryptionType::Kms));
    assert_eq!(d.key_id(), Some("alias/aws/kinesis"));
    let put = put(&c, "extra", "k", "secret").await;
    assert_eq!(put.encryption_type(), Some(&EncryptionType::Kms));
    let err = c
        .start_stream_encryption()
        .stream_name("extra")
        .encryption_type(EncryptionType::None)
        .key_id("k")
        .send()
        .await;
    assert_eq!(code(err), "InvalidArgumentException");
    c.stop_stream_encryption()
        .stream_name("extra")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await
        .unwrap();
    let s = c.describe_stream_summary().stream_name("extra").send().await.unwrap();
    let s = s.stream_description_summary().unwrap();
    assert_eq!((s.encryption_type(), s.key_id()), (Some(&EncryptionType::None), None));
    // Enhanced monitoring: current and desired; ALL stands for all seven.
    let on = c
        .enable_enhanced_monitoring()
        .stream_name("extra")
        .shard_level_metrics(MetricsName::IncomingBytes)
        .send()
        .await
        .unwrap();
    assert!(on.current_shard_level_metrics().is_empty());
    assert_eq!(on.desired_shard_level_metrics(), [MetricsName::IncomingBytes]);
    let all = c
        .enable_enhanced_monitoring()
        .stream_name("extra")
        .shard_level_metrics(MetricsName::All)
        .send()
        .await
        .unwrap();
    assert_eq!(all.desired_shard_level_metrics().len(), 7);
    let off = c
        .disable_enhanced_monitoring()
        .stream_name("extra")
        .shard_level_metrics(MetricsName::OutgoingBytes)
        .send()
        .await
        .unwrap();
    assert_eq!(off.current_shard_level_metrics().len(), 7);
    assert_eq!(off.desired_shard_level_metrics().len(), 6);
    assert_eq!(off.stream_arn(), Some(server.arn("extra").as_str()));
    let d = c.describe_stream().stream_name("extra").send().await.unwrap();
    let metrics = d.stream_description().unwrap().enhanced_monitoring()[0].shard_level_metrics();
    assert_eq!(metrics.len(), 6);
    assert!(!metrics.contains(&MetricsName::OutgoingBytes));
    // Resource policies: `{}` until one is put, then it, then gone.
    let arn = server.arn("extra");
    let get = |arn: String| c.get_resource_policy().resource_arn(arn).send();
    assert_eq!(get(arn.clone()).await.unwrap().policy(), "{}");
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    c.put_resource_policy()
        .resource_arn(&arn)
        .policy(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(get(arn.clone()).await.unwrap().policy(), policy);
    let bad = c
        .put_resource_policy()
        .resource_arn(&arn)
        .policy("not json")
        .send()
        .await;
    assert_eq!(code(bad), "InvalidArgumentException");
    let huge = format!(r#"{{"Version":"2012-10-17","Sid":"{}"}}"#, "x".repeat(21 * 1024));
    let big = c.put_resource_policy().resource_arn(&arn).policy(huge).send().await;
    assert_eq!(code(big), "LimitExceededException");
    c.delete_resource_policy().resource_arn(&arn).send().await.unwrap();
    let again = c.delete_resource_policy().resource_arn(&arn).send().await;
    assert_eq!(code(again), "ResourceNotFoundException");
    let missing = get(server.arn("nope")).await;
    assert_eq!(code(missing), "ResourceNotFoundException");
    // Account settings: none until set; enabling starts the commitment.
    let none = c.describe_account_settings().send().await.unwrap();
    assert!(none.minimum_throughput_billing_commitment().is_none());
    let set = c
        .update_account_settings()
        .minimum_throughput_billing_commitment(
            MinimumThroughputBillingCommitmentInput::builder()
                .status(MinimumThroughputBillingCommitmentInputStatus::Enabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let m = set.minimum_throughput_billing_commitment().unwrap();
    assert_eq!(m.status(), &MinimumThroughputBillingCommitmentOutputStatus::Enabled);
    assert!(m.started_at().is_some());
    let now = c.describe_account_settings().send().await.unwrap();
    assert_eq!(
        now.minimum_throughput_billing_commitment().unwrap().status(),
        &MinimumThroughputBillingCommitmentOutputStatus::Enabled
    );
}
