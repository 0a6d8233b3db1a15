//! Kinesis queues' definitions (CreateQueue, DescribeQueue, ListQueues, UpdateQueue,
//! DeleteQueue) and the in-process feed their delivery reads the stream through.
//!
//! A queue is stored in its stream's catalog entry, like an enhanced fan-out consumer, and
//! counts against the same registered-consumer limit: CREATING for the transition delay, then
//! ACTIVE; UPDATING for the transition delay after UpdateQueue; DELETING for the transition
//! delay after DeleteQueue, then gone. Queues exist only on on-demand streams, and a stream
//! with queues can be neither deleted nor switched to provisioned mode (`control`,
//! `capacity`). What each record's delivery state is (visibility, receive counts, dead
//! letters) is `rheo-queues`' business; the engine gives it a [`Feed`] to read records by
//! position.

use crate::catalog::{QueueMeta, QueueStart, QueueStatus, StreamMeta, StreamMode};
use crate::{Engine, Error};
use bytes::Bytes;
use rheo_log::{LogReader, ReadLimits};
use rheo_types::{SequenceNumber, ShardId, StreamName};
use std::collections::BTreeMap;
use tokio::sync::watch;

/// Queues CREATING or DELETING at once in an account and region.
pub const QUEUES_CHANGING_LIMIT: u32 = 5;

/// What CreateQueue asks for.
#[derive(Debug, Clone)]
pub struct CreateQueue {
    pub name: String,
    pub stream: StreamName,
    pub start: QueueStart,
    pub visibility_s: Option<u32>,
    pub dead_letter: Option<DeadLetterConfig>,
    pub tags: BTreeMap<String, String>,
}

/// A DeadLetterConfiguration: `None` max is BUILT_IN with AWS's default of 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterConfig {
    pub built_in: bool,
    pub max_receive_count: Option<u32>,
}

pub const DEFAULT_VISIBILITY_S: u32 = 30;
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 6;

/// What UpdateQueue changes (unset fields stay).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueChanges {
    pub visibility_s: Option<u32>,
    pub dead_letter: Option<DeadLetterConfig>,
}

/// A queue as Describe and List show it.
#[derive(Debug, Clone)]
pub struct QueueView {
    pub meta: QueueMeta,
    pub arn: String,
    pub status: QueueStatus,
    pub stream_arn: String,
    pub stream_created_ms: i64,
    /// The starting position's timestamp, as AWS shows it (absent while CREATING for
    /// TRIM_HORIZON and LATEST).
    pub start_timestamp_ms: Option<i64>,
}

/// One page of ListQueues.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub queues: Vec<QueueView>,
    pub next_token: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct QueuesToken {
    /// (creation time, id) of the last queue listed.
    after: (i64, String),
    streams: Vec<(String, Option<i64>)>,
    minted_ms: i64,
}

impl Engine {
    pub fn queue_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:queue/{id}",
            self.inner.config.region, self.inner.config.account
        )
    }

    /// The queue id an ARN of this account and region names.
    fn queue_id<'a>(&self, arn: &'a str) -> Result<&'a str, Error> {
        let prefix = format!(
            "arn:aws:kinesis:{}:{}:queue/",
            self.inner.config.region, self.inner.config.account
        );
        arn.strip_prefix(&prefix)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| queue_not_found(arn))
    }

    /// The stream holding the live queue `arn` names.
    pub fn queue_stream(&self, arn: &str) -> Result<StreamName, Error> {
        let id = self.queue_id(arn)?;
        let now = self.now();
        self.inner
            .snapshot()
            .values()
            .find(|p| p.meta.live_queues(now).any(|q| q.id == id))
            .map(|p| p.meta.name.clone())
            .ok_or_else(|| queue_not_found(arn))
    }

    /// CreateQueue.
    pub async fn create_queue(&self, req: CreateQueue) -> Result<QueueView, Error> {
        let account = self.inner.config.account.clone();
        let limit = self.inner.config.consumer_limit;
        let delay = self.inner.config.transition_delay_ms;
        let id = fresh_id()?;
        let name = req.stream.clone();
        let view = self.update_meta(&req.stream, |meta, c| {
            crate::control::require_active(meta, c.now)?;
            if meta.mode != StreamMode::OnDemand {
                return Err(Error::Validation(format!(
                    "Queues are supported only on streams in ON_DEMAND mode; stream {name} under account {account} is PROVISIONED."
                )));
            }
            if c.queue_names.contains(&req.name) {
                return Err(Error::InUse(format!(
                    "Queue {} already exists for account {account}.",
                    req.name
                )));
            }
            if meta.registered_consumers(c.now) >= limit {
                return Err(Error::LimitExceeded(format!(
                    "Consumer limit of {limit} exceeded for stream {name} under account {account}."
                )));
            }
            if c.queues_changing >= QUEUES_CHANGING_LIMIT {
                return Err(Error::LimitExceeded(format!(
                    "Only {QUEUES_CHANGING_LIMIT} queues can be created or deleted at a time under account {account}."
                )));
            }
            if let QueueStart::AtTimestamp(t) = req.start
                && t > c.now
            {
                return Err(Error::InvalidArgument(format!(
                    "The starting position timestamp {t} is in the future."
                )));
            }
            let dead = req.dead_letter.unwrap_or(DeadLetterConfig {
                built_in: true,
                max_receive_count: None,
            });
            meta.queues.retain(|q| q.status(c.now) != QueueStatus::Gone);
            let q = QueueMeta {
                id: id.clone(),
                name: req.name.clone(),
                created_ms: c.now,
                ready_ms: c.now + delay,
                start: req.start,
                visibility_s: req.visibility_s.unwrap_or(DEFAULT_VISIBILITY_S),
                max_receive_count: dead
                    .built_in
                    .then(|| dead.max_receive_count.unwrap_or(DEFAULT_MAX_RECEIVE_COUNT)),
                tags: req.tags.clone(),
                updating_until_ms: None,
                gone_ms: None,
            };
            meta.queues.push(q.clone());
            Ok(self.queue_view(meta, &q, c.now))
        })?;
        Ok(view)
    }

    /// DescribeQueue.
    pub fn describe_queue(&self, arn: &str) -> Result<QueueView, Error> {
        let id = self.queue_id(arn)?.to_owned();
        let stream = self.queue_stream(arn)?;
        self.with_meta(&stream, |meta, now| {
            let q = meta
                .live_queues(now)
                .find(|q| q.id == id)
                .ok_or_else(|| queue_not_found(arn))?;
            Ok(self.queue_view(meta, q, now))
        })
    }

    /// UpdateQueue: the queue is UPDATING for the transition delay; receives and
    /// acknowledgements go on meanwhile, and a new visibility timeout applies to later
    /// receives.
    pub async fn update_queue(&self, arn: &str, changes: QueueChanges) -> Result<QueueView, Error> {
        let id = self.queue_id(arn)?.to_owned();
        let stream = self.queue_stream(arn)?;
        let delay = self.inner.config.transition_delay_ms;
        self.update_meta(&stream, |meta, c| {
            let now = c.now;
            let i = meta
                .queues
                .iter()
                .position(|q| q.id == id && q.status(now) != QueueStatus::Gone)
                .ok_or_else(|| queue_not_found(arn))?;
            let status = meta.queues[i].status(now);
            if status != QueueStatus::Active {
                return Err(Error::InUse(format!("Queue {arn} is {}, not ACTIVE.", status.as_str())));
            }
            let q = &mut meta.queues[i];
            if let Some(v) = changes.visibility_s {
                q.visibility_s = v;
            }
            if let Some(d) = changes.dead_letter {
                q.max_receive_count = d
                    .built_in
                    .then(|| d.max_receive_count.unwrap_or(DEFAULT_MAX_RECEIVE_COUNT));
            }
            q.updating_until_ms = Some(now + delay);
            let q = q.clone();
            Ok(self.queue_view(meta, &q, now))
        })
    }

    /// DeleteQueue: DELETING for the transition delay, then gone. Its records' delivery state
    /// is dropped by the queues' service; the stream's records are untouched.
    pub async fn delete_queue(&self, arn: &str) -> Result<(), Error> {
        let id = self.queue_id(arn)?.to_owned();
        let stream = self.queue_stream(arn)?;
        let delay = self.inner.config.transition_delay_ms;
        let account = self.inner.config.account.clone();
        self.update_meta(&stream, |meta, c| {
            let now = c.now;
            let changing = c.queues_changing;
            let q = meta
                .queues
                .iter_mut()
                .find(|q| q.id == id && q.status(now) != QueueStatus::Gone)
                .ok_or_else(|| queue_not_found(arn))?;
            // DeleteQueue names no ResourceInUseException: a queue being created may be
            // deleted, and one being deleted again is left as it is.
            if q.status(now) == QueueStatus::Deleting {
                return Ok(());
            }
            if changing >= QUEUES_CHANGING_LIMIT {
                return Err(Error::LimitExceeded(format!(
                    "Only {QUEUES_CHANGING_LIMIT} queues can be created or deleted at a time under account {account}."
                )));
            }
            q.gone_ms = Some(now + delay);
            Ok(())
        })
    }

    /// ListQueues: the account's queues in creation order, optionally only those on the
    /// streams named (with their creation times, when given).
    pub fn list_queues(
        &self,
        streams: Vec<(StreamName, Option<i64>)>,
        next_token: Option<&str>,
        max: Option<u32>,
    ) -> Result<QueuePage, Error> {
        let now = self.now();
        let (streams, after) = match next_token {
            Some(t) => {
                let tok: QueuesToken = self.fresh_token(t, now, |k: &QueuesToken| k.minted_ms)?;
                let streams = tok
                    .streams
                    .into_iter()
                    .map(|(s, c)| StreamName::parse(&s).map(|s| (s, c)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| Error::InvalidArgument(format!("Invalid NextToken: {t}")))?;
                (streams, Some(tok.after))
            }
            None => (streams, None),
        };
        let max = max.unwrap_or(100).clamp(1, 10_000) as usize;
        let snapshot = self.inner.snapshot();
        let mut all: Vec<QueueView> = snapshot
            .values()
            .filter(|p| p.meta.status(now) != crate::catalog::Status::Gone)
            .filter(|p| {
                streams.is_empty()
                    || streams.iter().any(|(s, created)| {
                        *s == p.meta.name
                            && created.is_none_or(|c| c == p.meta.created_ms || c / 1000 == p.meta.created_ms / 1000)
                    })
            })
            .flat_map(|p| p.meta.live_queues(now).map(|q| self.queue_view(&p.meta, q, now)))
            .filter(|v| {
                after
                    .as_ref()
                    .is_none_or(|(t, id)| (v.meta.created_ms, &v.meta.id) > (*t, id))
            })
            .collect();
        all.sort_by(|a, b| (a.meta.created_ms, &a.meta.id).cmp(&(b.meta.created_ms, &b.meta.id)));
        let more = all.len() > max;
        all.truncate(max);
        let next_token = all.last().filter(|_| more).map(|last| {
            self.inner.token_key.encode_token(&QueuesToken {
                after: (last.meta.created_ms, last.meta.id.clone()),
                streams: streams.iter().map(|(s, c)| (s.to_string(), *c)).collect(),
                minted_ms: now,
            })
        });
        Ok(QueuePage {
            queues: all,
            next_token,
        })
    }

    /// Every live queue of the account, with its stream: what the queues' service delivers
    /// (and the ids of the queues it may forget).
    pub fn all_queues(&self) -> Vec<(StreamName, QueueMeta)> {
        let now = self.now();
        self.inner
            .snapshot()
            .values()
            .flat_map(|p| p.meta.live_queues(now).map(|q| (p.meta.name.clone(), q.clone())))
            .collect()
    }

    fn queue_view(&self, meta: &StreamMeta, q: &QueueMeta, now: i64) -> QueueView {
        let status = q.status(now);
        let earliest = meta.created_ms.max(q.created_ms - meta.retention_hours * 3_600_000);
        let start_timestamp_ms = match q.start {
            QueueStart::AtTimestamp(t) => Some(t.max(earliest)),
            _ if status == QueueStatus::Creating => None,
            QueueStart::TrimHorizon => Some(earliest),
            QueueStart::Latest => Some(q.created_ms),
        };
        QueueView {
            meta: q.clone(),
            arn: self.queue_arn(&q.id),
            status,
            stream_arn: self.arn(&meta.name),
            stream_created_ms: meta.created_ms,
            start_timestamp_ms,
        }
    }

    /// Whether a stream that exists now is on demand, and when it was created (for the
    /// services that accept only on-demand streams).
    pub fn stream_mode(&self, name: &StreamName) -> Option<(bool, i64)> {
        let now = self.now();
        let p = self.inner.published(name, now)?;
        Some((p.meta.mode == crate::catalog::StreamMode::OnDemand, p.meta.created_ms))
    }

    /// The stream's records as its queues read them: each shard still holding records, with
    /// its parents, read by position without GetRecords' iterators and limits.
    pub fn feed(&self, name: &StreamName) -> Result<Feed, Error> {
        let now = self.now();
        let p = self
            .inner
            .published(name, now)
            .filter(|p| p.meta.serves_data(now))
            .ok_or_else(|| Error::StreamNotFound(name.clone()))?;
        let rt = p.runtime.clone().ok_or_else(|| Error::StreamNotFound(name.clone()))?;
        let shards = p
            .meta
            .shards
            .iter()
            .filter_map(|s| {
                let r = rt.shard(s.id)?;
                Some(FeedShard {
                    id: s.id,
                    parents: s.parent.into_iter().chain(s.adjacent_parent).collect(),
                    closed: !s.is_open(),
                    reader: r.reader.clone(),
                    epoch_s: r.epoch_s,
                    commits: r.commits.subscribe(),
                })
            })
            .collect();
        Ok(Feed {
            incarnation: rt.incarnation,
            cutoff_ms: rt.cutoff_ms(now),
            retention_ms: rt.retention_ms,
            shards,
        })
    }
}

/// A stream's shards as its queues read them, at one instant.
pub struct Feed {
    pub incarnation: u64,
    /// Records that arrived before this are past retention.
    pub cutoff_ms: i64,
    pub retention_ms: i64,
    pub shards: Vec<FeedShard>,
}

impl Feed {
    /// Waits until any shard commits records (or closes) after the feed was taken.
    pub async fn changed(&mut self) {
        use std::future::Future;
        use std::task::Poll;
        let mut waits: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>> = self
            .shards
            .iter_mut()
            .map(|s| Box::pin(s.changed()) as std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>)
            .collect();
        std::future::poll_fn(|cx| {
            if waits.iter_mut().any(|w| w.as_mut().poll(cx).is_ready()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

pub struct FeedShard {
    pub id: ShardId,
    pub parents: Vec<ShardId>,
    /// Closed: its log no longer grows.
    pub closed: bool,
    reader: LogReader,
    epoch_s: u64,
    commits: watch::Receiver<()>,
}

/// One record of a shard, owned.
#[derive(Debug, Clone)]
pub struct FeedRecord {
    /// The record's position in its shard (its sequence number's counter).
    pub key: u64,
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Bytes,
}

impl FeedShard {
    /// The position after the last committed record.
    pub fn end(&self) -> u64 {
        self.reader.tail().last_key.map_or(0, |k| k.saturating_add(1))
    }

    /// The position of the first record that arrived at or after `ts` (the end if none).
    /// Blocking.
    pub fn position_at(&self, ts: i64) -> Result<u64, Error> {
        Ok(self.reader.first_key_at_or_after(ts)?.unwrap_or_else(|| self.end()))
    }

    /// Up to `max` records from position `from`, none past retention. Blocking.
    pub fn read(&self, from: u64, max: usize, cutoff_ms: i64) -> Result<Vec<FeedRecord>, Error> {
        self.read_upto(from, max, usize::MAX, cutoff_ms)
    }

    /// [`FeedShard::read`], stopping before `max_bytes` of data and partition keys (the first
    /// record is always read). Blocking.
    pub fn read_upto(&self, from: u64, max: usize, max_bytes: usize, cutoff_ms: i64) -> Result<Vec<FeedRecord>, Error> {
        let limits = ReadLimits {
            from_key: from,
            max_records: max,
            max_bytes,
            min_timestamp_ms: cutoff_ms,
        };
        let mut out = Vec::new();
        self.reader.read_each(limits, |r| {
            out.push(FeedRecord {
                key: r.key,
                sequence_number: SequenceNumber {
                    counter: r.key,
                    shard: self.id.0,
                    epoch_s: self.epoch_s,
                },
                arrival_ms: r.timestamp_ms,
                partition_key: String::from_utf8_lossy(r.partition_key).into_owned(),
                data: Bytes::copy_from_slice(r.data),
            });
            true
        })?;
        Ok(out)
    }

    /// The record at position `key`, if the shard still holds it. Blocking.
    pub fn get(&self, key: u64, cutoff_ms: i64) -> Result<Option<FeedRecord>, Error> {
        Ok(self.read(key, 1, cutoff_ms)?.into_iter().find(|r| r.key == key))
    }

    /// Waits until the shard commits records (or closes) after the feed was taken.
    pub async fn changed(&mut self) {
        if self.commits.changed().await.is_err() {
            // The shard's runtime was replaced (a reshard): the caller takes a new feed.
            std::future::pending::<()>().await;
        }
    }
}

fn queue_not_found(arn: &str) -> Error {
    Error::NotFound(format!("Queue {arn} not found."))
}

/// A queue id: 20 random characters of `[a-z0-9]`.
fn fresh_id() -> Result<String, Error> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(e.to_string()))?;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}
