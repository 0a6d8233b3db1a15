//! The catalog: every stream's settings, shards and tags, persisted as one JSON document.
//!
//! # On-disk format
//!
//! `catalog.json` in the data directory holds a [`Catalog`] serialized with serde_json. It is
//! replaced atomically: written to `catalog.json.tmp`, synced, renamed over the old file, and
//! the directory synced. A reader therefore sees either the old or the new catalog, never a mix.
//! A change is acknowledged only after that sequence completes.
//!
//! Stream states are stored with the time they end (`Creating { ready_ms }`,
//! `Deleting { gone_ms }`) and read through [`StreamMeta::status`], which takes `now`.
//! `Updating { ready_ms, op }` holds a reshard that has been accepted but not applied: the
//! shard map stays the old one until a single save replaces map and status together, so a crash
//! leaves either the old map (and the reshard still pending) or the new one.

use crate::mac::MacKey;
use crate::reshard::Reshard;
use crate::throttle::LimitsProfile;
use rheo_log::Disk;
use rheo_types::{HashKeyRange, SequenceNumber, ShardId, StreamName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const CATALOG_FILE: &str = "catalog.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalog {
    pub version: u32,
    /// Keys the tags of iterators and pagination tokens; persisted so they survive restarts.
    /// Catalogs from before it (which had a CRC `secret`) get a new key when loaded.
    #[serde(default = "fresh_key")]
    pub token_key: MacKey,
    /// Loaded from an older format: save before serving, so the new fields persist.
    #[serde(skip)]
    pub migrated: bool,
    /// The next stream incarnation id; never reused, so a re-created stream has fresh storage.
    pub next_incarnation: u64,
    pub streams: BTreeMap<StreamName, StreamMeta>,
    /// UpdateAccountSettings' minimum throughput billing commitment, once set.
    #[serde(default)]
    pub commitment: Option<Commitment>,
}

/// The account's minimum throughput billing commitment (DescribeAccountSettings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub enabled: bool,
    /// When it was last enabled.
    pub started_ms: Option<i64>,
    /// When it was last disabled.
    pub ended_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredStatus {
    Creating {
        ready_ms: i64,
    },
    Active,
    /// A reshard waiting to be applied once `ready_ms` has passed; until then the shard map is
    /// the old one. Applying it replaces map and status in one catalog save.
    Updating {
        ready_ms: i64,
        op: Reshard,
    },
    Deleting {
        gone_ms: i64,
    },
}

/// A stream's state as clients see it at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Active,
    Updating,
    Deleting,
    Gone,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "CREATING",
            Status::Active => "ACTIVE",
            Status::Updating => "UPDATING",
            Status::Deleting | Status::Gone => "DELETING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamMeta {
    pub name: StreamName,
    pub incarnation: u64,
    pub created_ms: i64,
    pub status: StoredStatus,
    pub mode: StreamMode,
    pub retention_hours: i64,
    pub shards: Vec<ShardMeta>,
    pub tags: BTreeMap<String, String>,
    /// Absent in catalogs written before these settings existed: all defaults.
    #[serde(default)]
    pub settings: StreamSettings,
    /// Registered enhanced fan-out consumers, in registration order.
    #[serde(default)]
    pub consumers: Vec<ConsumerMeta>,
    /// The KMS key id StartStreamEncryption named (records are not encrypted at rest by it).
    #[serde(default)]
    pub encryption_key: Option<String>,
    /// Shard-level metrics EnableEnhancedMonitoring turned on, in AWS's order.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Resource policies, by the ARN they govern: the stream's or one of its consumers'.
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    /// Kinesis queues on this stream (their records' delivery state lives in `rheo-queues`).
    #[serde(default)]
    pub queues: Vec<QueueMeta>,
}

/// A Kinesis queue: a per-record-acknowledged view of its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMeta {
    /// The end of the queue's ARN (`queue/<id>`): random, never reused.
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    /// CREATING until then.
    pub ready_ms: i64,
    pub start: QueueStart,
    pub visibility_s: u32,
    /// BUILT_IN dead letters after this many receives; `None` is TargetType NONE.
    pub max_receive_count: Option<u32>,
    pub tags: BTreeMap<String, String>,
    /// Set by UpdateQueue: UPDATING until then.
    pub updating_until_ms: Option<i64>,
    /// Set by DeleteQueue: DELETING until then, gone after.
    pub gone_ms: Option<i64>,
}

/// Where a queue's delivery begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueStart {
    TrimHorizon,
    /// Records that arrive from the queue's creation on.
    Latest,
    AtTimestamp(i64),
}

/// A queue's state as clients see it at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStatus {
    Creating,
    Active,
    Updating,
    Deleting,
    Gone,
}

impl QueueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueStatus::Creating => "CREATING",
            QueueStatus::Active => "ACTIVE",
            QueueStatus::Updating => "UPDATING",
            QueueStatus::Deleting | QueueStatus::Gone => "DELETING",
        }
    }
}

impl QueueMeta {
    pub fn status(&self, now_ms: i64) -> QueueStatus {
        match (self.gone_ms, self.updating_until_ms) {
            (Some(gone), _) if now_ms >= gone => QueueStatus::Gone,
            (Some(_), _) => QueueStatus::Deleting,
            _ if now_ms < self.ready_ms => QueueStatus::Creating,
            (None, Some(until)) if now_ms < until => QueueStatus::Updating,
            _ => QueueStatus::Active,
        }
    }
    /// The earliest arrival time of the records the queue delivers (`None`: every retained
    /// record).
    pub fn start_ms(&self) -> Option<i64> {
        match self.start {
            QueueStart::TrimHorizon => None,
            QueueStart::Latest => Some(self.created_ms),
            QueueStart::AtTimestamp(t) => Some(t),
        }
    }
}

/// An enhanced fan-out consumer of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerMeta {
    pub name: String,
    /// Registration time; its epoch seconds end the consumer's ARN.
    pub created_ms: i64,
    /// CREATING until then.
    pub ready_ms: i64,
    /// Set by DeregisterStreamConsumer: DELETING until then, gone after.
    pub gone_ms: Option<i64>,
}

/// A consumer's state as clients see it at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerStatus {
    Creating,
    Active,
    Deleting,
    Gone,
}

impl ConsumerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerStatus::Creating => "CREATING",
            ConsumerStatus::Active => "ACTIVE",
            ConsumerStatus::Deleting | ConsumerStatus::Gone => "DELETING",
        }
    }
}

impl ConsumerMeta {
    pub fn status(&self, now_ms: i64) -> ConsumerStatus {
        match self.gone_ms {
            Some(gone) if now_ms >= gone => ConsumerStatus::Gone,
            Some(_) => ConsumerStatus::Deleting,
            None if now_ms < self.ready_ms => ConsumerStatus::Creating,
            None => ConsumerStatus::Active,
        }
    }
    pub fn created_secs(&self) -> i64 {
        self.created_ms.div_euclid(1000)
    }
}

/// A stream's settings beyond its shard map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSettings {
    /// Overrides the server's throughput limits for this stream.
    #[serde(default)]
    pub throughput_limits: Option<LimitsProfile>,
    /// UpdateMaxRecordSize; `None` is AWS's default of 1024 KiB.
    #[serde(default)]
    pub max_record_kib: Option<u32>,
    #[serde(default)]
    pub distribution: Distribution,
    /// UpdateStreamWarmThroughput / UpdateStreamMode's WarmThroughputMiBps (on-demand only).
    #[serde(default)]
    pub warm_throughput_mibps: Option<u32>,
}

impl StreamSettings {
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_kib.unwrap_or(1024) as usize * 1024
    }
}

/// How records are placed on shards (UpdateStreamRecordDistributionStrategy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Distribution {
    /// The MD5 of the partition key (or the ExplicitHashKey) picks the shard.
    #[default]
    UserPartitionKey,
    /// Records are spread evenly over the open shards; partition keys are ignored.
    Auto,
}

impl Distribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::UserPartitionKey => "USER_PARTITION_KEY",
            Distribution::Auto => "AUTO",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardMeta {
    pub id: ShardId,
    pub range: HashKeyRange,
    pub starting_counter: u64,
    pub ending_counter: Option<u64>,
    pub parent: Option<ShardId>,
    pub adjacent_parent: Option<ShardId>,
    pub created_ms: i64,
    pub closed_ms: Option<i64>,
}

impl ShardMeta {
    pub fn is_open(&self) -> bool {
        self.closed_ms.is_none()
    }
    /// Open, or closed less than the retention period ago (so it may still hold records).
    pub fn visible(&self, now_ms: i64, retention_hours: i64) -> bool {
        self.closed_ms.is_none_or(|c| now_ms < c + retention_hours * 3_600_000)
    }
    pub fn starting_sequence(&self) -> SequenceNumber {
        SequenceNumber {
            counter: self.starting_counter,
            shard: self.id.0,
            epoch_s: SequenceNumber::epoch_of(self.created_ms),
        }
    }
    pub fn ending_sequence(&self) -> Option<SequenceNumber> {
        self.ending_counter.map(|counter| SequenceNumber {
            counter,
            shard: self.id.0,
            epoch_s: SequenceNumber::epoch_of(self.created_ms),
        })
    }
}

impl StreamMeta {
    pub fn status(&self, now_ms: i64) -> Status {
        match &self.status {
            StoredStatus::Creating { ready_ms } if now_ms < *ready_ms => Status::Creating,
            StoredStatus::Creating { .. } | StoredStatus::Active => Status::Active,
            StoredStatus::Updating { .. } => Status::Updating,
            StoredStatus::Deleting { gone_ms } if now_ms < *gone_ms => Status::Deleting,
            StoredStatus::Deleting { .. } => Status::Gone,
        }
    }
    pub fn open_shard_count(&self) -> u32 {
        self.shards.iter().filter(|s| s.is_open()).count() as u32
    }
    /// Whether reads and writes are served: ACTIVE, or UPDATING while a reshard is pending.
    pub fn serves_data(&self, now_ms: i64) -> bool {
        matches!(self.status(now_ms), Status::Active | Status::Updating)
    }
    /// Shards that still exist at `now_ms`: open ones, and closed ones until every record in
    /// them is past the retention period.
    pub fn visible_shards(&self, now_ms: i64) -> impl Iterator<Item = &ShardMeta> {
        self.shards
            .iter()
            .filter(move |s| s.visible(now_ms, self.retention_hours))
    }
    /// Consumers that still exist at `now_ms` (any status but gone).
    pub fn live_consumers(&self, now_ms: i64) -> impl Iterator<Item = &ConsumerMeta> {
        self.consumers
            .iter()
            .filter(move |c| c.status(now_ms) != ConsumerStatus::Gone)
    }
    /// Queues that still exist at `now_ms` (any status but gone).
    pub fn live_queues(&self, now_ms: i64) -> impl Iterator<Item = &QueueMeta> {
        self.queues
            .iter()
            .filter(move |q| q.status(now_ms) != QueueStatus::Gone)
    }
    /// Registered consumers as the consumer limit counts them: enhanced fan-out consumers and
    /// queues.
    pub fn registered_consumers(&self, now_ms: i64) -> u32 {
        (self.live_consumers(now_ms).count() + self.live_queues(now_ms).count()) as u32
    }
    /// The shards whose parent or adjacent parent is `id`.
    pub fn children_of(&self, id: ShardId) -> impl Iterator<Item = &ShardMeta> {
        self.shards
            .iter()
            .filter(move |s| s.parent == Some(id) || s.adjacent_parent == Some(id))
    }
}

/// A new token key. The OS RNG failing is fatal: a token key must never be predictable.
fn fresh_key() -> MacKey {
    MacKey::generate().unwrap_or_else(|e| panic!("{e}"))
}

impl Catalog {
    fn new() -> Catalog {
        Catalog {
            version: FORMAT_VERSION,
            token_key: fresh_key(),
            migrated: false,
            next_incarnation: 1,
            streams: BTreeMap::new(),
            commitment: None,
        }
    }

    /// Loads the catalog from `dir`, or starts an empty one if there is none.
    pub fn load(disk: &dyn Disk, dir: &Path) -> std::io::Result<Catalog> {
        match rheo_log::disk::read_all(disk, &dir.join(CATALOG_FILE)) {
            Ok(bytes) => {
                // Hash keys are u128s: read the document once as a catalog, never as a `Value`.
                #[derive(Deserialize)]
                struct Probe {
                    token_key: Option<serde::de::IgnoredAny>,
                }
                let probe: Probe = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
                let mut catalog: Catalog = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
                catalog.migrated = probe.token_key.is_none();
                Ok(catalog)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Catalog::new()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the catalog in `dir` atomically and durably (see the module docs), through
    /// the `Disk` seam, so the power-cut model covers it.
    pub fn save(&self, disk: &dyn Disk, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(CATALOG_FILE), &bytes)
    }

    /// Open shards across all streams that still exist at `now_ms`.
    pub fn open_shards(&self, now_ms: i64) -> u32 {
        self.live(now_ms).map(StreamMeta::open_shard_count).sum()
    }

    /// Streams that exist at `now_ms`, in name order.
    pub fn live(&self, now_ms: i64) -> impl Iterator<Item = &StreamMeta> {
        self.streams.values().filter(move |s| s.status(now_ms) != Status::Gone)
    }

    pub fn get_live(&self, name: &StreamName, now_ms: i64) -> Option<&StreamMeta> {
        self.streams.get(name).filter(|s| s.status(now_ms) != Status::Gone)
    }
}
