//! The stream settings that are recorded and reported but change nothing Rheo does:
//! server-side encryption (Start/StopStreamEncryption), enhanced monitoring
//! (Enable/DisableEnhancedMonitoring; they become real when metrics exist), resource policies
//! (Put/Get/DeleteResourcePolicy; not enforced), and the account's billing commitment
//! (Describe/UpdateAccountSettings). Each is kept in the catalog, so it survives restarts.

use crate::catalog::Commitment;
use crate::control::require_active;
use crate::{Engine, Error};
use rheo_types::StreamName;

/// The shard-level metrics, in the order AWS lists them (the model's enum without `ALL`).
pub const METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

/// Enhanced monitoring before and after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringChange {
    pub current: Vec<String>,
    pub desired: Vec<String>,
}

impl Engine {
    /// StartStreamEncryption: records the KMS key; the stream must be ACTIVE.
    pub async fn start_encryption(&self, name: &StreamName, key_id: String) -> Result<(), Error> {
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            meta.encryption_key = Some(key_id);
            Ok(())
        })
    }

    /// The KMS key while the stream is encrypted (what PutRecord(s) report), from the published
    /// view: no lock on the put path.
    pub fn encryption_key(&self, name: &StreamName) -> Option<String> {
        self.inner
            .published(name, self.now())
            .and_then(|p| p.meta.encryption_key.clone())
    }

    /// StopStreamEncryption: the stream must be ACTIVE.
    pub async fn stop_encryption(&self, name: &StreamName) -> Result<(), Error> {
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            meta.encryption_key = None;
            Ok(())
        })
    }

    /// Enable/DisableEnhancedMonitoring: `ALL` stands for every metric (as kinesis-mock
    /// expands it; AWS's own answer is not recorded).
    pub async fn enhanced_monitoring(
        &self,
        name: &StreamName,
        metrics: &[String],
        enable: bool,
    ) -> Result<MonitoringChange, Error> {
        let named = |m: &str| metrics.iter().any(|x| x == m || x == "ALL");
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            let current = meta.metrics.clone();
            let desired: Vec<String> = METRICS
                .iter()
                .filter(|m| {
                    let on = current.iter().any(|c| c == *m);
                    if enable { on || named(m) } else { on && !named(m) }
                })
                .map(|m| (*m).to_owned())
                .collect();
            meta.metrics = desired.clone();
            Ok(MonitoringChange { current, desired })
        })
    }

    /// PutResourcePolicy on `arn` (the stream's or one of its consumers', in `stream`).
    pub async fn put_policy(&self, stream: &StreamName, arn: &str, policy: String) -> Result<(), Error> {
        self.check_policy_target(stream, arn)?;
        self.update_meta(stream, |meta, _| {
            meta.policies.insert(arn.to_owned(), policy);
            Ok(())
        })
    }

    /// GetResourcePolicy: the policy, or `{}` when none is set.
    pub async fn get_policy(&self, stream: &StreamName, arn: &str) -> Result<String, Error> {
        self.check_policy_target(stream, arn)?;
        self.with_meta(stream, |meta, _| {
            Ok(meta.policies.get(arn).cloned().unwrap_or_else(|| "{}".to_owned()))
        })
    }

    /// DeleteResourcePolicy: ResourceNotFoundException when none is set.
    pub async fn delete_policy(&self, stream: &StreamName, arn: &str) -> Result<(), Error> {
        self.check_policy_target(stream, arn)?;
        self.update_meta(stream, |meta, _| match meta.policies.remove(arn) {
            Some(_) => Ok(()),
            None => Err(Error::NotFound(format!(
                "No resource policy found for resource ARN {arn}."
            ))),
        })
    }

    /// A consumer ARN must name a registered consumer of the stream.
    fn check_policy_target(&self, stream: &StreamName, arn: &str) -> Result<(), Error> {
        let Ok(consumer) = rheo_types::ConsumerArn::parse(arn) else {
            return Ok(());
        };
        self.with_meta(stream, |meta, now| {
            let found = meta
                .live_consumers(now)
                .any(|c| c.name == consumer.name && c.created_ms.div_euclid(1000) == consumer.created_secs);
            if found {
                Ok(())
            } else {
                Err(Error::NotFound(format!(
                    "Consumer {} under account {} not found.",
                    consumer.name, self.inner.config.account
                )))
            }
        })
    }

    /// DescribeAccountSettings.
    pub fn account_settings(&self) -> Option<Commitment> {
        crate::runtime::off_worker(|| self.inner.lock().catalog.commitment.clone())
    }

    /// UpdateAccountSettings: enabling starts a commitment now, disabling ends it.
    pub async fn update_account_settings(&self, enabled: bool) -> Result<Commitment, Error> {
        let now = self.now();
        crate::runtime::off_worker(|| {
            let mut st = self.inner.lock();
            let before = st.catalog.commitment.clone();
            let mut next = before.clone().unwrap_or(Commitment {
                enabled: false,
                started_ms: None,
                ended_ms: None,
            });
            if enabled && !next.enabled {
                next.started_ms = Some(now);
                next.ended_ms = None;
            }
            if !enabled && next.enabled {
                next.ended_ms = Some(now);
            }
            next.enabled = enabled;
            st.catalog.commitment = Some(next.clone());
            if let Err(e) = self.inner.save(&st) {
                st.catalog.commitment = before;
                return Err(e);
            }
            Ok(next)
        })
    }
}
