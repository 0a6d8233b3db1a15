//! Enhanced fan-out: consumers (RegisterStreamConsumer, DescribeStreamConsumer,
//! ListStreamConsumers, DeregisterStreamConsumer) and SubscribeToShard sessions.
//!
//! Consumers live in their stream's catalog entry: CREATING for the transition delay, then
//! ACTIVE; DELETING for the transition delay after deregistration, then gone (computed from
//! timestamps, like streams). A [`Subscription`] holds a lease on its consumer and shard; a
//! second subscription within [`SUBSCRIPTION_TAKEOVER_MS`] of the first's start is refused,
//! a later one takes the lease over and the first ends with ResourceInUseException.
//!
//! A subscription waits on its shard's commit signal (marked by the writer after each durable
//! append) and on the engine's tick (lifetime, heartbeats, takeovers, deregistration), so
//! records are pushed as soon as they are durable, without polling.

use crate::catalog::{ConsumerMeta, ConsumerStatus, StreamMeta};
use crate::data::{ReadSummary, RecordsRead, StartingPosition};
use crate::runtime::StreamRuntime;
use crate::throttle::{PushThrottle, ShardLimits};
use crate::{Engine, Error};
use rheo_types::limits::{SUBSCRIPTION_LIFETIME_MS, SUBSCRIPTION_TAKEOVER_MS};
use rheo_types::{ConsumerArn, SequenceNumber, ShardId, StreamName};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// Most records in one SubscribeToShardEvent.
const EVENT_RECORDS: usize = 10_000;
/// Record bytes in one event (at least one record is always sent): small enough to push
/// records soon after they arrive, large enough to carry a 10 MiB record.
const EVENT_BYTES: usize = 1024 * 1024;
/// An event, with or without records, at least this often.
pub const HEARTBEAT_MS: i64 = 5000;

/// How a request names a consumer.
#[derive(Debug, Clone)]
pub enum ConsumerRef {
    Arn(ConsumerArn),
    Name { stream: StreamName, name: String },
}

/// A consumer as DescribeStreamConsumer and ListStreamConsumers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerView {
    pub name: String,
    pub arn: String,
    pub status: &'static str,
    pub created_ms: i64,
    pub stream_arn: String,
}

/// A SubscribeToShard lease: which consumer (stream incarnation, name, creation second) reads
/// which shard.
type LeaseKey = (u64, String, i64, u32);

#[derive(Debug, Default)]
pub(crate) struct Leases {
    next_id: u64,
    active: HashMap<LeaseKey, (u64, i64)>,
}

/// What a ListStreamConsumers NextToken carries.
#[derive(serde::Serialize, serde::Deserialize)]
struct ConsumersToken {
    stream: StreamName,
    stream_created_ms: i64,
    /// The last consumer listed: its registration time and name.
    after: (i64, String),
    minted_ms: i64,
}

/// A page of ListStreamConsumers.
#[derive(Debug, Clone)]
pub struct ConsumerPage {
    pub consumers: Vec<ConsumerView>,
    pub next_token: Option<String>,
}

impl Engine {
    fn consumer_view(&self, stream: &StreamName, c: &ConsumerMeta, now: i64) -> ConsumerView {
        let stream_arn = self.arn(stream);
        ConsumerView {
            name: c.name.clone(),
            arn: ConsumerArn::format(&stream_arn, &c.name, c.created_secs()),
            status: c.status(now).as_str(),
            created_ms: c.created_ms,
            stream_arn,
        }
    }

    fn consumer_not_found(&self, stream: &StreamName, name: &str) -> Error {
        Error::NotFound(format!(
            "Consumer {name} under stream {stream} under account {} not found.",
            self.inner.config.account
        ))
    }

    /// Under one catalog lock: the stream's incarnation, the live consumer `r` names in it with
    /// its status, and the stream's runtime if it serves data. `None` if the stream is gone.
    fn lookup(&self, stream: &StreamName, r: &ConsumerRef) -> Option<Lookup> {
        let now = self.now();
        let p = self.inner.published(stream, now)?;
        let meta = &p.meta;
        Some(Lookup {
            incarnation: meta.incarnation,
            consumer: find(meta, r, now).map(|c| (c.clone(), c.status(now))),
            runtime: meta.serves_data(now).then(|| p.runtime.clone()).flatten(),
        })
    }

    /// The stream a consumer reference names, checked against this server's account and
    /// region.
    fn consumer_stream(&self, r: &ConsumerRef) -> Result<StreamName, Error> {
        match r {
            ConsumerRef::Arn(arn) => self.resolve(None, Some(arn.stream.clone())),
            ConsumerRef::Name { stream, .. } => Ok(stream.clone()),
        }
    }

    /// RegisterStreamConsumer.
    pub async fn register_consumer(&self, stream: &StreamName, name: &str) -> Result<ConsumerView, Error> {
        let account = self.inner.config.account.clone();
        let limit = self.inner.config.consumer_limit;
        let delay = self.inner.config.transition_delay_ms;
        let (consumer, now) = self.update_meta(stream, |meta, c| {
            if !meta.serves_data(c.now) {
                crate::control::require_active(meta, c.now)?;
            }
            if meta.live_consumers(c.now).any(|x| x.name == name) {
                return Err(Error::InUse(format!(
                    "Consumer {name} under stream {stream} already exists for account {account}."
                )));
            }
            if meta.registered_consumers(c.now) >= limit {
                return Err(Error::LimitExceeded(format!(
                    "Consumer limit of {limit} exceeded for stream {stream} under account {account}."
                )));
            }
            // A consumer registered again gets a new ARN: its creation second must differ
            // from every earlier one of that name still on record.
            let earlier = meta
                .consumers
                .iter()
                .filter(|x| x.name == name)
                .map(|x| (x.created_secs() + 1) * 1000)
                .max();
            let created_ms = earlier.map_or(c.now, |e| e.max(c.now));
            meta.consumers.retain(|x| x.status(c.now) != ConsumerStatus::Gone);
            let consumer = ConsumerMeta {
                name: name.to_owned(),
                created_ms,
                ready_ms: c.now + delay,
                gone_ms: None,
            };
            meta.consumers.push(consumer.clone());
            Ok((consumer, c.now))
        })?;
        Ok(self.consumer_view(stream, &consumer, now))
    }

    /// DescribeStreamConsumer.
    pub fn describe_consumer(&self, r: &ConsumerRef) -> Result<ConsumerView, Error> {
        let stream = self.consumer_stream(r)?;
        self.with_meta(&stream, |meta, now| {
            let c = find(meta, r, now).ok_or_else(|| self.consumer_not_found(&stream, ref_name(r)))?;
            Ok(self.consumer_view(&meta.name, c, now))
        })
    }

    /// ListStreamConsumers: consumers in registration order, `max` a page (at most 100).
    pub fn list_consumers(
        &self,
        stream: Option<&StreamName>,
        stream_created_ms: Option<i64>,
        next_token: Option<&str>,
        max: Option<u32>,
    ) -> Result<ConsumerPage, Error> {
        let now = self.now();
        let (stream, created, after) = match (next_token, stream) {
            (Some(t), _) => {
                if stream_created_ms.is_some() {
                    return Err(Error::InvalidArgument(
                        "NextToken and StreamCreationTimestamp cannot be provided together.".into(),
                    ));
                }
                let tok: ConsumersToken = self.fresh_token(t, now, |k: &ConsumersToken| k.minted_ms)?;
                (tok.stream, Some(tok.stream_created_ms), Some(tok.after))
            }
            (None, Some(s)) => (s.clone(), stream_created_ms, None),
            (None, None) => return Err(Error::InvalidArgument("StreamARN is required.".into())),
        };
        // At least one: the server validates the range, and the engine never pages by zero.
        let max = max.unwrap_or(100).clamp(1, 100) as usize;
        self.with_meta(&stream, |meta, now| {
            if created.is_some_and(|c| c != meta.created_ms && c / 1000 != meta.created_ms / 1000) {
                return Err(Error::StreamNotFound(stream.clone()));
            }
            let mut all: Vec<&ConsumerMeta> = meta.live_consumers(now).collect();
            all.sort_by(|a, b| (a.created_ms, &a.name).cmp(&(b.created_ms, &b.name)));
            let rest: Vec<&ConsumerMeta> = all
                .into_iter()
                .filter(|c| after.as_ref().is_none_or(|(t, n)| (c.created_ms, &c.name) > (*t, n)))
                .collect();
            let page = &rest[..rest.len().min(max)];
            let next_token = page.last().filter(|_| rest.len() > max).map(|last| {
                self.inner.token_key.encode_token(&ConsumersToken {
                    stream: meta.name.clone(),
                    stream_created_ms: meta.created_ms,
                    after: (last.created_ms, last.name.clone()),
                    minted_ms: now,
                })
            });
            Ok(ConsumerPage {
                consumers: page.iter().map(|c| self.consumer_view(&meta.name, c, now)).collect(),
                next_token,
            })
        })
    }

    /// DeregisterStreamConsumer: the consumer is DELETING for the transition delay, then gone;
    /// its subscriptions end.
    pub async fn deregister_consumer(&self, r: &ConsumerRef) -> Result<(), Error> {
        let stream = self.consumer_stream(r)?;
        let delay = self.inner.config.transition_delay_ms;
        let account = self.inner.config.account.clone();
        self.update_meta(&stream, |meta, c| {
            let now = c.now;
            let Some(consumer) = meta
                .consumers
                .iter_mut()
                .find(|x| matches_ref(x, r) && x.status(now) != ConsumerStatus::Gone)
            else {
                return Err(self.consumer_not_found(&stream, ref_name(r)));
            };
            if consumer.gone_ms.is_some() {
                return Err(Error::InUse(format!(
                    "Consumer {} under stream {stream} under account {account} is already being deleted.",
                    consumer.name
                )));
            }
            consumer.gone_ms = Some(now + delay);
            Ok(())
        })
    }

    /// SubscribeToShard: checks the request and takes the consumer's lease on the shard.
    pub async fn subscribe(
        &self,
        arn: &ConsumerArn,
        shard_id: &str,
        start: StartingPosition,
    ) -> Result<Subscription, Error> {
        let account = self.inner.config.account.clone();
        let stream = self.resolve(None, Some(arn.stream.clone()))?;
        let r = ConsumerRef::Arn(arn.clone());
        let found = self
            .lookup(&stream, &r)
            .ok_or_else(|| Error::StreamNotFound(stream.clone()))?;
        let (consumer, status) = found
            .consumer
            .ok_or_else(|| self.consumer_not_found(&stream, &arn.name))?;
        if status != ConsumerStatus::Active {
            return Err(Error::InUse(format!(
                "Consumer {} with creation timestamp {} under stream {stream} under account {account} is not in ACTIVE status.",
                consumer.name,
                consumer.created_secs()
            )));
        }
        let (incarnation, consumer_name) = (found.incarnation, consumer.name);
        let rt = found.runtime.ok_or_else(|| Error::StreamNotFound(stream.clone()))?;
        let shard_missing = || Error::ShardNotFound {
            stream: stream.clone(),
            shard: shard_id.to_owned(),
        };
        let shard = ShardId::parse(shard_id)
            .ok()
            .and_then(|id| rt.shard(id))
            .ok_or_else(shard_missing)?;
        let position = self.position_of(&stream, shard, start, "SubscribeToShard").await?;
        let now = self.now();
        let key: LeaseKey = (incarnation, consumer_name.clone(), arn.created_secs, shard.id.0);
        let lease = {
            let mut leases = self.inner.leases.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, started)) = leases.active.get(&key)
                && now - started < SUBSCRIPTION_TAKEOVER_MS
            {
                return Err(Error::InUse(format!(
                    "Another active subscription exists for this consumer: {account}:{stream}:{}:{consumer_name}",
                    shard.id
                )));
            }
            leases.next_id += 1;
            let id = leases.next_id;
            leases.active.insert(key.clone(), (id, now));
            id
        };
        Ok(Subscription {
            engine: self.clone(),
            key,
            lease,
            consumer: r,
            stream,
            shard: shard.id,
            epoch_s: shard.epoch_s,
            position,
            ends_ms: now + SUBSCRIPTION_LIFETIME_MS,
            last_event_ms: None,
            commits: shard.commits.subscribe(),
            ticks: self.inner.ticks.subscribe(),
            limits: None,
            throttle: None,
        })
    }
}

fn ref_name(r: &ConsumerRef) -> &str {
    match r {
        ConsumerRef::Arn(a) => &a.name,
        ConsumerRef::Name { name, .. } => name,
    }
}

fn matches_ref(c: &ConsumerMeta, r: &ConsumerRef) -> bool {
    match r {
        ConsumerRef::Arn(a) => c.name == a.name && c.created_secs() == a.created_secs,
        ConsumerRef::Name { name, .. } => c.name == *name,
    }
}

fn find<'a>(meta: &'a StreamMeta, r: &ConsumerRef, now: i64) -> Option<&'a ConsumerMeta> {
    meta.live_consumers(now).find(|c| matches_ref(c, r))
}

/// What [`Engine::lookup`] finds of a consumer and its stream.
struct Lookup {
    incarnation: u64,
    consumer: Option<(ConsumerMeta, ConsumerStatus)>,
    runtime: Option<Arc<StreamRuntime>>,
}

/// What a subscription does next.
pub enum Next {
    /// Read records (perhaps none: a heartbeat) for one event; then call
    /// [`Subscription::sent`] with the summary.
    Read(RecordsRead),
    /// The subscription's lifetime is over: end the stream.
    Expired,
}

/// An open SubscribeToShard session. Dropping it releases its lease.
pub struct Subscription {
    engine: Engine,
    key: LeaseKey,
    lease: u64,
    consumer: ConsumerRef,
    stream: StreamName,
    shard: ShardId,
    epoch_s: u64,
    /// The key of the next record to send.
    position: u64,
    ends_ms: i64,
    last_event_ms: Option<i64>,
    commits: watch::Receiver<()>,
    ticks: watch::Receiver<()>,
    /// The throughput limits in force at the last look, and the consumer's bucket under them.
    limits: Option<ShardLimits>,
    throttle: Option<PushThrottle>,
}

impl Subscription {
    /// Waits until there is something to send: records, the end of a closed shard, a heartbeat
    /// due, or the end of the subscription. Errors end the subscription: another took it over,
    /// the consumer was deregistered, or the stream or shard is gone.
    pub async fn next(&mut self) -> Result<Next, Error> {
        loop {
            // Seen before looking, so a commit made after the look wakes the wait below.
            self.commits.borrow_and_update();
            self.ticks.borrow_and_update();
            let now = self.engine.now();
            let rt = self.check()?;
            if now >= self.ends_ms {
                return Ok(Next::Expired);
            }
            let shard = rt.shard(self.shard).ok_or_else(|| Error::ShardNotFound {
                stream: self.stream.clone(),
                shard: self.shard.to_string(),
            })?;
            let due = self.last_event_ms.is_none_or(|t| now - t >= HEARTBEAT_MS);
            let has_records = shard.reader.tail().last_key.is_some_and(|k| k >= self.position);
            self.limits = self.engine.limits_for(&rt);
            if let Some(l) = &self.limits {
                let throttle = self.throttle.get_or_insert_with(|| PushThrottle::new(l, now));
                let ready = throttle.ready_at(l, now);
                if has_records && ready > now {
                    // Over the consumer's 2 MiB/s: wait for the bucket (or a tick, which may
                    // bring a moved clock or a lost lease).
                    drop(rt);
                    let wait = std::time::Duration::from_millis((ready - now) as u64);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = self.ticks.changed() => {}
                    }
                    continue;
                }
            }
            if due || has_records || shard.children.is_some() {
                let read = self
                    .engine
                    .records_read(&rt, shard, self.position, EVENT_RECORDS, EVENT_BYTES, None);
                return Ok(Next::Read(read));
            }
            drop(rt);
            tokio::select! {
                changed = self.commits.changed() => {
                    if changed.is_err() {
                        // The shard's runtime is gone: only the tick can tell what happened.
                        let _ = self.ticks.changed().await;
                    }
                }
                _ = self.ticks.changed() => {}
            }
        }
    }

    /// Records that an event ending at `summary` was sent; returns its ContinuationSequenceNumber
    /// (`None` at the end of a closed shard).
    pub fn sent(&mut self, summary: &ReadSummary) -> Option<SequenceNumber> {
        let now = self.engine.now();
        self.position = summary.next_key;
        self.last_event_ms = Some(now);
        if let (Some(l), Some(t)) = (&self.limits, &mut self.throttle) {
            t.charge(l, now, summary.bytes);
        }
        summary.child_shards.is_none().then(|| SequenceNumber {
            counter: summary.next_key.saturating_sub(1),
            shard: self.shard.0,
            epoch_s: self.epoch_s,
        })
    }

    /// Whether this session may go on: it still holds the lease, its consumer is ACTIVE and its
    /// stream serves data; returns the stream's runtime.
    fn check(&self) -> Result<Arc<StreamRuntime>, Error> {
        let account = &self.engine.inner.config.account;
        let (incarnation, name, _, _) = &self.key;
        let mine = {
            let leases = self.engine.inner.leases.lock().unwrap_or_else(|p| p.into_inner());
            leases.active.get(&self.key).is_some_and(|(id, _)| *id == self.lease)
        };
        if !mine {
            return Err(Error::InUse(format!(
                "Another active subscription exists for this consumer: {account}:{}:{}:{name}",
                self.stream, self.shard
            )));
        }
        let found = self
            .engine
            .lookup(&self.stream, &self.consumer)
            .filter(|f| f.incarnation == *incarnation)
            .filter(|f| matches!(f.consumer, Some((_, ConsumerStatus::Active))))
            .ok_or_else(|| self.engine.consumer_not_found(&self.stream, name))?;
        found.runtime.ok_or_else(|| Error::StreamNotFound(self.stream.clone()))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut leases = self.engine.inner.leases.lock().unwrap_or_else(|p| p.into_inner());
        if leases.active.get(&self.key).is_some_and(|(id, _)| *id == self.lease) {
            leases.active.remove(&self.key);
        }
    }
}
