//! Stream management operations: create, delete, describe, list, limits, retention, tags.

use crate::capacity::WarmThroughput;
use crate::catalog::{Distribution, ShardMeta, Status, StoredStatus, StreamMeta, StreamMode, StreamSettings};
use crate::runtime::{State, runtime_for};
use crate::throttle::LimitsProfile;
use crate::{Engine, Error};
use rheo_types::limits::{
    MAX_RETENTION_HOURS, MAX_TAGS, MIN_RETENTION_HOURS, ON_DEMAND_INITIAL_SHARDS, ON_DEMAND_STREAM_LIMIT,
};
use rheo_types::{SequenceNumber, StreamName};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct CreateStream {
    pub name: StreamName,
    pub shard_count: Option<u32>,
    pub mode: StreamMode,
    pub tags: BTreeMap<String, String>,
    pub settings: StreamSettings,
}

/// A snapshot of a stream for Describe* and List*.
#[derive(Debug, Clone)]
pub struct StreamView {
    pub name: StreamName,
    pub arn: String,
    pub status: &'static str,
    pub mode: StreamMode,
    pub retention_hours: i64,
    pub created_ms: i64,
    pub open_shards: u32,
    pub settings: StreamSettings,
    /// On-demand streams only.
    pub warm_throughput: Option<WarmThroughput>,
    /// Registered enhanced fan-out consumers (any status).
    pub consumer_count: u32,
    /// Kinesis queues (any status).
    pub queue_count: u32,
    /// Set while the stream is encrypted (StartStreamEncryption): the KMS key id.
    pub encryption_key: Option<String>,
    /// Enabled shard-level metrics.
    pub metrics: Vec<String>,
    pub shards: Vec<ShardView>,
    pub has_more_shards: bool,
}

#[derive(Debug, Clone)]
pub struct ShardView {
    pub id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
    pub starting_sequence: String,
    pub ending_sequence: Option<String>,
}

impl From<&ShardMeta> for ShardView {
    fn from(s: &ShardMeta) -> ShardView {
        ShardView {
            id: s.id.to_string(),
            parent: s.parent.map(|p| p.to_string()),
            adjacent_parent: s.adjacent_parent.map(|p| p.to_string()),
            starting_hash_key: s.range.start.to_string(),
            ending_hash_key: s.range.end.to_string(),
            starting_sequence: s.starting_sequence().to_string(),
            ending_sequence: s.ending_sequence().map(|q: SequenceNumber| q.to_string()),
        }
    }
}

pub struct Limits {
    pub shard_limit: u32,
    pub open_shards: u32,
    pub on_demand_streams: u32,
    pub on_demand_stream_limit: u32,
}

/// Which shards ListShards returns (ShardFilter), with times in epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ShardFilter {
    AfterShardId(String),
    AtTrimHorizon,
    FromTrimHorizon,
    AtLatest,
    AtTimestamp(i64),
    FromTimestamp(i64),
}

pub struct ListShards {
    pub stream: Option<StreamName>,
    pub next_token: Option<String>,
    pub exclusive_start: Option<String>,
    pub max_results: Option<u32>,
    pub created_ms: Option<i64>,
    pub filter: Option<ShardFilter>,
}

/// What a ListShards NextToken carries (serialized as base64 JSON).
#[derive(serde::Serialize, serde::Deserialize)]
struct ShardsToken {
    stream: StreamName,
    created_ms: i64,
    after: String,
    filter: Option<ShardFilter>,
    minted_ms: i64,
}

pub(crate) const TOKEN_TTL_MS: i64 = 300_000;

fn not_found(name: &StreamName) -> Error {
    Error::StreamNotFound(name.clone())
}

impl Engine {
    /// A ListShards or ListStreamConsumers token: checked, and refused once five minutes old.
    pub(crate) fn fresh_token<T: serde::de::DeserializeOwned>(
        &self,
        t: &str,
        now: i64,
        minted_ms: impl Fn(&T) -> i64,
    ) -> Result<T, Error> {
        let tok: T = self
            .inner
            .token_key
            .decode_token(t)
            .ok_or_else(|| Error::InvalidArgument(format!("Invalid NextToken: {t}")))?;
        if now.saturating_sub(minted_ms(&tok)) > TOKEN_TTL_MS {
            return Err(Error::ExpiredNextToken(format!("The NextToken {t} has expired.")));
        }
        Ok(tok)
    }

    fn account(&self) -> &str {
        &self.inner.config.account
    }

    pub async fn create_stream(&self, req: CreateStream) -> Result<(), Error> {
        let now = self.now();
        let count = match (req.mode, req.shard_count) {
            (StreamMode::OnDemand, _) => ON_DEMAND_INITIAL_SHARDS,
            (StreamMode::Provisioned, Some(n)) => n,
            (StreamMode::Provisioned, None) => {
                return Err(Error::InvalidArgument(
                    "ShardCount is required for a stream in PROVISIONED mode.".into(),
                ));
            }
        };
        check_tags(&req.name, self.account(), &req.tags, &BTreeMap::new())?;
        check_on_demand_settings(&req.name, req.mode, &req.settings)?;
        crate::runtime::off_worker(|| {
            let inner = &self.inner;
            let mut st = inner.lock();
            if st.catalog.get_live(&req.name, now).is_some() {
                return Err(Error::StreamExists(req.name));
            }
            let census = Census::of(&st.catalog, now);
            let open = census.open_shards;
            let limit = inner.config.shard_limit;
            if u64::from(open) + u64::from(count) > u64::from(limit) {
                return Err(Error::LimitExceeded(format!(
                    "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {limit}. Number of additional shards that would have resulted from this request: {count}. Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
                    self.account(),
                    inner.config.region
                )));
            }
            if req.mode == StreamMode::OnDemand && census.on_demand_streams >= ON_DEMAND_STREAM_LIMIT {
                return Err(Error::LimitExceeded(format!(
                    "This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams for the account {}.",
                    self.account()
                )));
            }
            let incarnation = st.catalog.next_incarnation;
            let meta = StreamMeta {
                name: req.name.clone(),
                incarnation,
                created_ms: now,
                status: StoredStatus::Creating {
                    ready_ms: now + inner.config.transition_delay_ms,
                },
                mode: req.mode,
                retention_hours: rheo_types::limits::DEFAULT_RETENTION_HOURS,
                shards: crate::reshard::initial(count, now),
                tags: req.tags,
                settings: req.settings,
                consumers: Vec::new(),
                encryption_key: None,
                metrics: Vec::new(),
                policies: BTreeMap::new(),
                queues: Vec::new(),
            };
            let runtime = inner.start_stream(&meta)?;
            st.catalog.next_incarnation += 1;
            let replaced = st.catalog.streams.insert(req.name.clone(), meta);
            if let Err(e) = inner.save(&st) {
                st.catalog.streams.remove(&req.name);
                if let Some(old) = replaced {
                    st.catalog.streams.insert(req.name, old);
                }
                return Err(e);
            }
            if let Some(old) = replaced {
                // A stream of that name was gone but not yet swept: its storage goes now.
                st.runtimes.remove(&old.incarnation);
                let _ = inner.disk.remove_dir_all(&inner.stream_dir(old.incarnation));
            }
            st.runtimes.insert(incarnation, Arc::new(runtime));
            Ok(())
        })
    }

    /// DeleteStream. A stream with registered consumers is deleted only with
    /// `enforce_consumer_deletion`; its consumers go with it.
    pub async fn delete_stream(&self, name: &StreamName, enforce_consumer_deletion: bool) -> Result<(), Error> {
        let delay = self.inner.config.transition_delay_ms;
        let account = self.inner.config.account.clone();
        let incarnation = self.update_meta(name, |meta, c| {
            // AWS deletes a stream still being created, or resharded (kinesalite's tests
            // against AWS); only one already being deleted is refused.
            if meta.status(c.now) == Status::Deleting {
                require_active(meta, c.now)?;
            }
            if meta.live_queues(c.now).next().is_some() {
                return Err(Error::InUse(format!(
                    "Stream {name} under account {account} has queues. Delete them first."
                )));
            }
            if !enforce_consumer_deletion && meta.live_consumers(c.now).next().is_some() {
                return Err(Error::InUse(format!(
                    "Stream {name} under account {account} has registered consumers. Deregister them first, or set EnforceConsumerDeletion."
                )));
            }
            meta.status = StoredStatus::Deleting { gone_ms: c.now + delay };
            Ok(meta.incarnation)
        })?;
        // The catalog says DELETING now, so no new request finds the runtime; stop its writers.
        crate::runtime::off_worker(|| self.inner.lock().runtimes.remove(&incarnation));
        Ok(())
    }

    /// Runs `f` on the stream's catalog entry as it stands at `now`.
    pub(crate) fn with_meta<T>(
        &self,
        name: &StreamName,
        f: impl FnOnce(&StreamMeta, i64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.now();
        let p = self.inner.published(name, now).ok_or_else(|| not_found(name))?;
        f(&p.meta, now)
    }

    /// Changes the stream's catalog entry and persists it; the change is undone if saving fails.
    /// `f` also gets a [`Census`] of the other streams, taken under the same lock, so account-wide
    /// limits hold against concurrent changes. A running stream's runtime is rebuilt from the new
    /// entry, so settings apply at once.
    pub(crate) fn update_meta<T>(
        &self,
        name: &StreamName,
        f: impl FnOnce(&mut StreamMeta, Census) -> Result<T, Error>,
    ) -> Result<T, Error> {
        crate::runtime::off_worker(|| {
            let now = self.now();
            let mut st = self.inner.lock();
            let census = Census::of(&st.catalog, now);
            let meta = st
                .catalog
                .streams
                .get_mut(name)
                .filter(|m| m.status(now) != Status::Gone)
                .ok_or_else(|| not_found(name))?;
            let before = meta.clone();
            let out = f(meta, census)?;
            if let Err(e) = self.inner.save(&st) {
                st.catalog.streams.insert(name.clone(), before);
                return Err(e);
            }
            let State { catalog, runtimes, .. } = &mut *st;
            if let (Some(meta), Some(rt)) = (catalog.streams.get(name), runtimes.get(&before.incarnation)) {
                let rebuilt = runtime_for(meta, rt.shards.clone());
                runtimes.insert(meta.incarnation, Arc::new(rebuilt));
            }
            Ok(out)
        })
    }

    fn view(&self, meta: &StreamMeta, now: i64, shards: Vec<ShardView>, has_more_shards: bool) -> StreamView {
        StreamView {
            name: meta.name.clone(),
            arn: self.arn(&meta.name),
            status: meta.status(now).as_str(),
            mode: meta.mode,
            retention_hours: meta.retention_hours,
            created_ms: meta.created_ms,
            open_shards: meta.open_shard_count(),
            settings: meta.settings.clone(),
            warm_throughput: WarmThroughput::of(meta),
            consumer_count: meta.live_consumers(now).count() as u32,
            queue_count: meta.live_queues(now).count() as u32,
            encryption_key: meta.encryption_key.clone(),
            metrics: meta.metrics.clone(),
            shards,
            has_more_shards,
        }
    }

    pub async fn describe_stream(
        &self,
        name: &StreamName,
        limit: Option<u32>,
        exclusive_start: Option<&str>,
    ) -> Result<StreamView, Error> {
        self.with_meta(name, |meta, now| {
            let limit = limit.unwrap_or(100).max(1) as usize;
            let after: Vec<&ShardMeta> = meta
                .visible_shards(now)
                .filter(|s| exclusive_start.is_none_or(|x| s.id.to_string().as_str() > x))
                .collect();
            let shards = after.iter().take(limit).map(|s| ShardView::from(*s)).collect();
            Ok(self.view(meta, now, shards, after.len() > limit))
        })
    }

    pub async fn describe_stream_summary(&self, name: &StreamName) -> Result<StreamView, Error> {
        self.with_meta(name, |meta, now| Ok(self.view(meta, now, Vec::new(), false)))
    }

    /// Streams in name order after `exclusive_start` (or after the name in `next_token`).
    pub async fn list_streams(
        &self,
        limit: Option<u32>,
        exclusive_start: Option<&StreamName>,
        next_token: Option<&str>,
    ) -> Result<(Vec<StreamView>, bool), Error> {
        let after = match next_token {
            Some(t) => Some(
                self.inner
                    .token_key
                    .decode_token::<StreamName>(t)
                    .ok_or_else(|| Error::InvalidArgument("Invalid NextToken.".into()))?,
            ),
            None => exclusive_start.cloned(),
        };
        let now = self.now();
        let snapshot = self.inner.snapshot();
        let limit = limit.unwrap_or(100).max(1) as usize;
        let mut matching = snapshot
            .values()
            .map(|p| &p.meta)
            .filter(|m| m.status(now) != Status::Gone)
            .filter(|m| after.as_ref().is_none_or(|a| &m.name > a));
        let page: Vec<StreamView> = matching
            .by_ref()
            .take(limit)
            .map(|m| self.view(m, now, Vec::new(), false))
            .collect();
        Ok((page, matching.next().is_some()))
    }

    /// Encodes the token that continues a ListStreams page ending at `last`.
    pub fn list_streams_token(&self, last: &StreamName) -> String {
        self.inner.token_key.encode_token(last)
    }

    pub async fn list_shards(&self, req: ListShards) -> Result<(Vec<ShardView>, Option<String>), Error> {
        let now = self.now();
        let (stream, created, after, filter) = match (&req.next_token, &req.stream) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidArgument(
                    "NextToken and StreamName cannot be provided together.".into(),
                ));
            }
            (Some(t), None) => {
                if req.exclusive_start.is_some() || req.created_ms.is_some() || req.filter.is_some() {
                    return Err(Error::InvalidArgument(
                        "NextToken cannot be provided together with ExclusiveStartShardId, StreamCreationTimestamp or ShardFilter.".into(),
                    ));
                }
                let tok: ShardsToken = self.fresh_token(t, now, |k: &ShardsToken| k.minted_ms)?;
                (tok.stream, Some(tok.created_ms), Some(tok.after), tok.filter)
            }
            (None, Some(s)) => (
                s.clone(),
                req.created_ms,
                req.exclusive_start.clone(),
                req.filter.clone(),
            ),
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "Either NextToken or StreamName should be provided.".into(),
                ));
            }
        };
        let max = req.max_results.unwrap_or(1000).clamp(1, 10_000) as usize;
        self.with_meta(&stream, |meta, now| {
            if created.is_some_and(|c| c != meta.created_ms && c / 1000 != meta.created_ms / 1000) {
                return Err(not_found(&stream));
            }
            let trim_horizon = now - meta.retention_hours * 3_600_000;
            let selected: Vec<&ShardMeta> = meta
                .visible_shards(now)
                .filter(|s| after.as_deref().is_none_or(|a| s.id.to_string().as_str() > a))
                .filter(|s| {
                    filter
                        .as_ref()
                        .is_none_or(|f| shard_matches(f, s, meta.created_ms, trim_horizon))
                })
                .collect();
            let page: Vec<ShardView> = selected.iter().take(max).map(|s| ShardView::from(*s)).collect();
            let token = (selected.len() > max).then(|| {
                self.inner.token_key.encode_token(&ShardsToken {
                    stream: stream.clone(),
                    created_ms: meta.created_ms,
                    after: page.last().map(|s| s.id.clone()).unwrap_or_default(),
                    filter: filter.clone(),
                    minted_ms: now,
                })
            });
            Ok((page, token))
        })
    }

    pub async fn describe_limits(&self) -> Limits {
        let now = self.now();
        let snapshot = self.inner.snapshot();
        let live = || {
            snapshot
                .values()
                .map(|p| &p.meta)
                .filter(|m| m.status(now) != Status::Gone)
        };
        Limits {
            shard_limit: self.inner.config.shard_limit,
            open_shards: live().map(StreamMeta::open_shard_count).sum(),
            on_demand_streams: live().filter(|s| s.mode == StreamMode::OnDemand).count() as u32,
            on_demand_stream_limit: ON_DEMAND_STREAM_LIMIT,
        }
    }

    /// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod.
    pub async fn change_retention(&self, name: &StreamName, hours: i64, change: RetentionChange) -> Result<(), Error> {
        let increase = change == RetentionChange::Increase;
        if hours < MIN_RETENTION_HOURS {
            return Err(Error::InvalidArgument(format!(
                "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short."
            )));
        }
        if hours > MAX_RETENTION_HOURS {
            return Err(Error::InvalidArgument(format!(
                "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long."
            )));
        }
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            let current = meta.retention_hours;
            if increase && hours < current {
                return Err(Error::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API."
                )));
            }
            if !increase && hours > current {
                return Err(Error::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API."
                )));
            }
            meta.retention_hours = hours;
            Ok(())
        })
    }

    pub async fn add_tags(&self, name: &StreamName, tags: BTreeMap<String, String>) -> Result<(), Error> {
        let account = self.account().to_owned();
        self.update_meta(name, |meta, _| {
            check_tags(name, &account, &tags, &meta.tags)?;
            meta.tags.extend(tags);
            Ok(())
        })
    }

    pub async fn remove_tags(&self, name: &StreamName, keys: &[String]) -> Result<(), Error> {
        let account = self.account().to_owned();
        self.update_meta(name, |meta, _| {
            check_tag_chars(name, &account, TagChange::Remove, keys.iter().map(String::as_str))?;
            for k in keys {
                meta.tags.remove(k);
            }
            Ok(())
        })
    }

    /// Tags in key order after `exclusive_start`, at most `limit`, and whether more follow.
    pub async fn list_tags(
        &self,
        name: &StreamName,
        exclusive_start: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<(String, String)>, bool), Error> {
        self.with_meta(name, |meta, _| {
            let limit = limit.unwrap_or(u32::MAX) as usize;
            let mut after = meta
                .tags
                .iter()
                .filter(|(k, _)| exclusive_start.is_none_or(|s| k.as_str() > s));
            let page: Vec<(String, String)> = after
                .by_ref()
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok((page, after.next().is_some()))
        })
    }
}

/// Which way a retention change may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionChange {
    Increase,
    Decrease,
}

pub(crate) fn require_active(meta: &StreamMeta, now: i64) -> Result<(), Error> {
    match meta.status(now) {
        Status::Active => Ok(()),
        other => Err(Error::StreamNotActive {
            stream: meta.name.clone(),
            status: other.as_str(),
        }),
    }
}

/// What a tag change does, as AWS's messages say it.
#[derive(Clone, Copy)]
enum TagChange {
    Add,
    Remove,
}

/// AWS's character rules for stream tags (kinesalite's tests against AWS): Unicode letters,
/// digits, space and `_ . / = + - @` pass; `%` passes the first check and is refused by the
/// second, with its own message.
fn check_tag_chars<'a>(
    stream: &StreamName,
    account: &str,
    change: TagChange,
    all: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), Error> {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || ('\u{C0}'..='\u{1FFF}').contains(&c)
            || ('\u{2C00}'..='\u{D7FF}').contains(&c)
            || "_./-=+ @%".contains(c)
    };
    if all.clone().any(|s| !s.chars().all(allowed)) {
        return Err(Error::InvalidArgument(
            "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.".into(),
        ));
    }
    if all.clone().any(|s| s.contains('%')) {
        let verb = match change {
            TagChange::Add => "add tags to",
            TagChange::Remove => "remove tags from",
        };
        return Err(Error::InvalidArgument(format!(
            "Failed to {verb} stream {stream} under account {account} because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
        )));
    }
    Ok(())
}

/// Checks tags being added to a stream that holds `existing` (characters, then the count of
/// the tags it would hold).
fn check_tags(
    stream: &StreamName,
    account: &str,
    tags: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
) -> Result<(), Error> {
    check_tag_chars(
        stream,
        account,
        TagChange::Add,
        tags.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]),
    )?;
    let total = existing.len() + tags.keys().filter(|k| !existing.contains_key(*k)).count();
    if total > MAX_TAGS {
        // AWS's text, which says 10 though the limit is 50 (kinesalite's tests against AWS).
        return Err(Error::InvalidArgument(format!(
            "Failed to add tags to stream {stream} under account {account} because a given stream cannot have more than 10 tags associated with it."
        )));
    }
    Ok(())
}

fn shard_matches(filter: &ShardFilter, s: &ShardMeta, stream_created_ms: i64, trim_horizon_ms: i64) -> bool {
    let open_at = |t: i64| s.created_ms <= t.max(stream_created_ms) && s.closed_ms.is_none_or(|c| c > t);
    let open_after = |t: i64| s.closed_ms.is_none_or(|c| c > t);
    match filter {
        ShardFilter::AfterShardId(id) => s.id.to_string().as_str() > id.as_str(),
        ShardFilter::AtTrimHorizon => open_at(trim_horizon_ms),
        ShardFilter::FromTrimHorizon => open_after(trim_horizon_ms),
        ShardFilter::AtLatest => s.is_open(),
        ShardFilter::AtTimestamp(t) => open_at(*t),
        ShardFilter::FromTimestamp(t) => open_after(*t),
    }
}

/// AUTO distribution and warm throughput exist only for on-demand streams.
/// The account-wide counts a catalog change is checked against, and the time it is made at.
#[derive(Debug, Clone)]
pub(crate) struct Census {
    pub now: i64,
    /// Open shards across every live stream.
    pub open_shards: u32,
    /// Live streams in on-demand mode.
    pub on_demand_streams: u32,
    /// Names of the live Kinesis queues on every stream.
    pub queue_names: std::collections::HashSet<String>,
    /// Kinesis queues CREATING or DELETING across the account.
    pub queues_changing: u32,
}

impl Census {
    fn of(catalog: &crate::catalog::Catalog, now: i64) -> Census {
        Census {
            now,
            open_shards: catalog.open_shards(now),
            on_demand_streams: catalog.live(now).filter(|m| m.mode == StreamMode::OnDemand).count() as u32,
            queue_names: catalog
                .live(now)
                .flat_map(|m| m.live_queues(now))
                .map(|q| q.name.clone())
                .collect(),
            queues_changing: catalog
                .live(now)
                .flat_map(|m| m.live_queues(now))
                .filter(|q| {
                    matches!(
                        q.status(now),
                        crate::catalog::QueueStatus::Creating | crate::catalog::QueueStatus::Deleting
                    )
                })
                .count() as u32,
        }
    }
}

pub(crate) fn check_on_demand_settings(name: &StreamName, mode: StreamMode, s: &StreamSettings) -> Result<(), Error> {
    if mode == StreamMode::OnDemand {
        return Ok(());
    }
    if s.distribution == Distribution::Auto {
        return Err(Error::InvalidArgument(format!(
            "RecordDistributionStrategy AUTO is only supported for streams in ON_DEMAND mode; stream {name} is PROVISIONED."
        )));
    }
    if s.warm_throughput_mibps.is_some() {
        return Err(Error::InvalidArgument(format!(
            "Warm throughput is only supported for streams in ON_DEMAND mode; stream {name} is PROVISIONED."
        )));
    }
    Ok(())
}

impl Engine {
    /// Sets (or with `None` clears) a stream's own throughput limits.
    pub fn set_stream_limits(&self, name: &StreamName, profile: Option<LimitsProfile>) -> Result<(), Error> {
        self.update_meta(name, |meta, _| {
            meta.settings.throughput_limits = profile;
            Ok(())
        })
    }

    /// A stream's own throughput limits, if it has any.
    pub fn stream_limits(&self, name: &StreamName) -> Result<Option<LimitsProfile>, Error> {
        self.with_meta(name, |meta, _| Ok(meta.settings.throughput_limits))
    }
}
