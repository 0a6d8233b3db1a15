//! Bucket notifications: S3's event messages for object changes, sent to queues, topics and
//! functions at least once.
//!
//! A bucket's index log is its change feed: each put or delete is a record, its key the
//! event's sequencer. A bucket with a notification configuration has a checkpoint,
//! `<bucket>/notified` (the next record to announce, as decimal text, replaced durably), set to
//! the log's end when the configuration is first saved, so earlier changes are not announced.
//! One task per bucket reads records from the checkpoint, sends each matching configuration's
//! message (retrying a destination that fails until it takes it, with backoff), and moves the
//! checkpoint after each batch. A crash between a write and its notification re-reads the
//! record at the next start: notifications are at least once, never lost.

use rheo_objects::local::{Change, LocalStore};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the server provides the S3 API for notifications.
pub trait Events: Send + Sync {
    /// A bucket's change log grew (or its configuration changed).
    fn changed(&self, bucket: &str);
    /// Checks a destination as S3 does when a configuration is saved: a queue or topic is sent
    /// the test event; a function must exist.
    fn validate(&self, arn: String, test_event: String) -> BoxFuture<Result<(), String>>;
}

/// Where messages go: a queue, topic or function ARN of the tenant.
pub trait Sink: Send + Sync + 'static {
    fn deliver(&self, arn: String, message: String) -> BoxFuture<Result<(), String>>;
}

/// One destination of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `queue`, `topic` or `function`.
    pub kind: String,
    pub id: String,
    pub arn: String,
    /// As configured, with `s3:` (`s3:ObjectCreated:*`, ...).
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
}

/// A bucket's notification configuration, as Rheo stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub targets: Vec<Target>,
    #[serde(default)]
    pub event_bridge: bool,
}

impl Target {
    /// Whether an event (`ObjectCreated:Put`, without `s3:`) of `key` is for this target.
    pub fn matches(&self, event: &str, key: &str) -> bool {
        let wanted = self.events.iter().any(|e| {
            let e = e.strip_prefix("s3:").unwrap_or(e);
            match e.strip_suffix(":*") {
                Some(family) => event.split(':').next() == Some(family),
                None => e == event,
            }
        });
        wanted
            && self.prefix.as_deref().is_none_or(|p| key.starts_with(p))
            && self.suffix.as_deref().is_none_or(|s| key.ends_with(s))
    }
}

/// The `s3:` event names S3 accepts in a configuration.
pub const EVENT_NAMES: [&str; 31] = [
    "s3:ReducedRedundancyLostObject",
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:ObjectRestore:Delete",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectCreated:PutTagging",
    "s3:ObjectCreated:PutRetention",
    "s3:ObjectCreated:PutLegalHold",
    "s3:ObjectRestore:PostCompleted",
];

/// Form-style URL encoding of a key in an event, as S3 writes it: space is `+`, `/` stays
/// (handlers decode it with `unquote_plus`).
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// ISO 8601 with milliseconds, UTC (`2026-12-02T06:30:00.123Z`).
pub fn iso_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// The event message for one change and configuration (S3's version 2.1 record).
pub fn event_message(
    region: &str,
    bucket: &str,
    account: &str,
    config_id: &str,
    sequence: u64,
    time_ms: i64,
    change: &Change,
) -> String {
    let (key, origin, object) = match change {
        Change::Put { key, meta, origin, .. } => (
            key,
            origin,
            serde_json::json!({
                "key": encode_key(key),
                "size": meta.size,
                "eTag": meta.etag,
                "sequencer": format!("{sequence:016X}"),
            }),
        ),
        Change::Delete { key, origin } => (
            key,
            origin,
            serde_json::json!({"key": encode_key(key), "sequencer": format!("{sequence:016X}")}),
        ),
    };
    let _ = key;
    let principal = if origin.principal.is_empty() {
        account
    } else {
        &origin.principal
    };
    serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso_time(time_ms),
        "eventName": origin.event,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": origin.source_ip},
        "responseElements": {
            "x-amz-request-id": format!("{sequence:016X}"),
            "x-amz-id-2": format!("rheo/{bucket}/{sequence}"),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": config_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": account},
                "arn": format!("arn:aws:s3:::{bucket}"),
            },
            "object": object,
        },
    }]})
    .to_string()
}

/// The test event S3 sends a queue or topic when a configuration naming it is saved.
pub fn test_event(bucket: &str, now_ms: i64, request_id: &str) -> String {
    serde_json::json!({
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": iso_time(now_ms),
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": format!("rheo/{request_id}"),
    })
    .to_string()
}

const CHECKPOINT: &str = "notified";
const BATCH: usize = 100;

/// A bucket's checkpoint: the next record to announce; none when it never had a
/// configuration.
pub fn read_checkpoint(store: &LocalStore, bucket: &str) -> Option<u64> {
    let dir = store.bucket_dir(bucket).ok()?;
    let bytes = rheo_log::disk::read_all(&*store.disk(), &dir.join(CHECKPOINT)).ok()?;
    std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
}

fn write_checkpoint(store: &LocalStore, dir: &std::path::Path, next: u64) -> std::io::Result<()> {
    rheo_log::disk::replace_file(&*store.disk(), &dir.join(CHECKPOINT), next.to_string().as_bytes())
}

/// Starts a bucket's checkpoint at the end of its log, if it has none.
pub fn ensure_checkpoint(store: &LocalStore, bucket: &str) -> Result<(), String> {
    if read_checkpoint(store, bucket).is_some() {
        return Ok(());
    }
    let dir = store.bucket_dir(bucket).map_err(|e| e.to_string())?;
    let next = store.next_sequence(bucket).map_err(|e| e.to_string())?;
    write_checkpoint(store, &dir, next).map_err(|e| e.to_string())
}

/// A tenant's notification tasks, one per bucket with a configuration.
pub struct Notifier {
    store: Arc<LocalStore>,
    sink: Arc<dyn Sink>,
    account: String,
    region: String,
    tasks: Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
    me: Weak<Notifier>,
}

impl Notifier {
    pub fn new(store: Arc<LocalStore>, sink: Arc<dyn Sink>, account: String, region: String) -> Arc<Notifier> {
        Arc::new_cyclic(|me| Notifier {
            store,
            sink,
            account,
            region,
            tasks: Mutex::default(),
            me: me.clone(),
        })
    }

    /// Starts the tasks of every bucket with a checkpoint (at server start).
    pub fn resume(&self) {
        for (name, _) in self.store.list_buckets() {
            if read_checkpoint(&self.store, &name).is_some() {
                self.wake(&name);
            }
        }
    }

    /// Wakes a bucket's task (starting it if needed).
    pub fn wake(&self, bucket: &str) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = tasks.get(bucket) {
            n.notify_one();
            return;
        }
        if read_checkpoint(&self.store, bucket).is_none() {
            return;
        }
        let notify = Arc::new(tokio::sync::Notify::new());
        tasks.insert(bucket.to_owned(), notify.clone());
        let (me, bucket) = (self.me.clone(), bucket.to_owned());
        tokio::spawn(async move {
            run(me, bucket, notify).await;
        });
    }

    fn config(&self, bucket: &str) -> Option<Config> {
        let v = self.store.bucket_config(bucket).ok()?.notifications?;
        serde_json::from_value(v).ok()
    }

    /// Sends every matching message of one change; retries a failing destination with
    /// backoff until it takes the message.
    async fn announce(&self, bucket: &str, seq: u64, time_ms: i64, change: &Change) {
        let Some(config) = self.config(bucket) else {
            return;
        };
        let (event, key) = match change {
            Change::Put { key, origin, .. } | Change::Delete { key, origin } => (origin.event.as_str(), key.as_str()),
        };
        if event.is_empty() {
            return;
        }
        for t in config.targets.iter().filter(|t| t.matches(event, key)) {
            let message = event_message(&self.region, bucket, &self.account, &t.id, seq, time_ms, change);
            let mut delay = Duration::from_millis(200);
            loop {
                match self.sink.deliver(t.arn.clone(), message.clone()).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(bucket, destination = %t.arn, error = %e, "an S3 event could not be delivered; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }
    }
}

async fn run(me: Weak<Notifier>, bucket: String, notify: Arc<tokio::sync::Notify>) {
    loop {
        let Some(n) = me.upgrade() else { return };
        let Some(from) = read_checkpoint(&n.store, &bucket) else {
            n.tasks.lock().unwrap_or_else(|p| p.into_inner()).remove(&bucket);
            return;
        };
        let Ok(dir) = n.store.bucket_dir(&bucket) else {
            // The bucket was deleted.
            n.tasks.lock().unwrap_or_else(|p| p.into_inner()).remove(&bucket);
            return;
        };
        let changes = match n.store.changes(&bucket, from, BATCH) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(bucket, error = %e, "reading a bucket's changes failed");
                Vec::new()
            }
        };
        let Some(last) = changes.last().map(|c| c.0) else {
            drop(n);
            notify.notified().await;
            continue;
        };
        for (seq, time_ms, change) in &changes {
            n.announce(&bucket, *seq, *time_ms, change).await;
        }
        if let Err(e) = write_checkpoint(&n.store, &dir, last + 1) {
            tracing::error!(bucket, error = %e, "saving a notification checkpoint failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The path of a bucket's checkpoint, for tests.
pub fn checkpoint_path(store: &LocalStore, bucket: &str) -> Option<PathBuf> {
    store.bucket_dir(bucket).ok().map(|d| d.join(CHECKPOINT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_keys_are_written_as_s3_writes_them() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_796_193_000_123), "2026-12-02T06:30:00.123Z");
        assert_eq!(encode_key("a b/c+d=é"), "a+b/c%2Bd%3D%C3%A9");
    }

    #[test]
    fn targets_match_events_and_key_filters() {
        let t = Target {
            kind: "queue".into(),
            id: "x".into(),
            arn: "arn".into(),
            events: vec!["s3:ObjectCreated:*".into(), "s3:ObjectRemoved:Delete".into()],
            prefix: Some("in/".into()),
            suffix: Some(".json".into()),
        };
        assert!(t.matches("ObjectCreated:Put", "in/a.json"));
        assert!(t.matches("ObjectCreated:CompleteMultipartUpload", "in/b.json"));
        assert!(t.matches("ObjectRemoved:Delete", "in/a.json"));
        assert!(!t.matches("ObjectCreated:Put", "out/a.json"));
        assert!(!t.matches("ObjectCreated:Put", "in/a.csv"));
        assert!(!t.matches("ObjectTagging:Put", "in/a.json"));
    }
}
