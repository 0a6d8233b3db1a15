//! One tenant's SQS service: its queues, opened from the catalog and the journal, and the
//! operations on them. Every change is journaled before it is answered (see `journal`).

use crate::attributes::{self, Attributes};
use crate::catalog::{CatalogFile, QueueDef};
use crate::error::{QueueError, Result};
use crate::journal::{Journal, Record, WriterGuard};
use crate::message::Message;
use crate::queue::QueueState;
use rheo_log::{Disk, LogConfig, ReadLimits};
use rheo_types::clock::Clock;
use rheo_types::mac::MacKey;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use tokio::sync::Notify;

/// FIFO deduplication and ReceiveRequestAttemptId windows.
pub const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;
/// How long a deleted queue's name stays unusable, and how often a queue may be purged.
pub const REUSE_DELAY_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct SqsConfig {
    /// The service's directory (`<tenant data>/sqs`).
    pub data_dir: PathBuf,
    pub account: String,
    pub region: String,
    pub log: LogConfig,
    pub limits: SqsLimits,
    /// The message bytes held by every tenant's queues on the server: shared by the tenants'
    /// services, checked against `limits.server_stored_bytes`.
    pub server_bytes: Arc<AtomicUsize>,
}

/// Limits on one tenant's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqsLimits {
    /// Messages in flight per queue. AWS allows about 120,000 per standard queue (then
    /// ReceiveMessage fails with OverLimit) and 120,000 per FIFO queue (then receives return
    /// nothing).
    pub in_flight: usize,
    /// Message bytes (bodies and attributes) the tenant's queues may hold: they are kept in
    /// memory. A send past it fails with OverLimit. AWS has no such limit.
    pub stored_bytes: usize,
    /// The same, for all tenants of the server together.
    pub server_stored_bytes: usize,
}

impl Default for SqsLimits {
    fn default() -> SqsLimits {
        SqsLimits {
            in_flight: 120_000,
            stored_bytes: 2 << 30,
            server_stored_bytes: 4 << 30,
        }
    }
}

/// A FIFO deduplication entry: a send with the same key within the window returns these.
#[derive(Debug, Clone)]
pub(crate) struct DedupEntry {
    pub message_id: String,
    pub sequence: Option<u128>,
    pub expires_ms: i64,
    /// The journal key of the record that holds it (a Put or a Dedup).
    pub journal_key: u64,
}

/// A FIFO ReceiveRequestAttemptId: a retried receive returns the same messages.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub expires_ms: i64,
    pub messages: Vec<(u64, u32)>,
}

pub(crate) struct QueueInner {
    pub def: QueueDef,
    pub state: QueueState,
    pub dedup: HashMap<String, DedupEntry>,
    pub attempts: HashMap<String, Attempt>,
    pub last_purge_ms: Option<i64>,
    /// A Kinesis queue's progress through its stream: per shard, the position of the next
    /// record to take, and the journal key of the Cursor record that holds it.
    pub cursors: BTreeMap<u32, (u64, u64)>,
    /// Messages numbered below this were purged (a dead letter arriving late is dropped).
    pub purged_below: u64,
    pub deleted: bool,
}

pub(crate) struct Queue {
    pub id: u64,
    pub name: String,
    pub fifo: bool,
    pub arn: String,
    pub inner: Mutex<QueueInner>,
    /// Woken when messages may have become receivable.
    pub notify: Notify,
    /// Held while a Kinesis queue takes records from its stream (one taker at a time).
    pub filling: Mutex<()>,
}

impl Queue {
    pub fn lock(&self) -> MutexGuard<'_, QueueInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) struct Meta {
    pub next_queue_id: u64,
    pub deleted: BTreeMap<String, i64>,
}

pub(crate) struct Inner {
    pub config: SqsConfig,
    pub clock: Arc<dyn Clock>,
    pub disk: Arc<dyn Disk>,
    pub journal: Journal,
    pub key: MacKey,
    pub queues: RwLock<BTreeMap<String, Arc<Queue>>>,
    /// The queues behind Kinesis queues, by name: never found by SQS's API.
    pub hidden: RwLock<BTreeMap<String, Arc<Queue>>>,
    /// Held while the catalog is changed and saved: creates, deletes and settings are
    /// serialised, and a queue is visible only once it is durable.
    pub meta: Mutex<Meta>,
    pub moves: Mutex<crate::moves::MoveTasks>,
    /// The message bytes held by all the tenant's queues.
    pub stored_bytes: Arc<AtomicUsize>,
    _writer: WriterGuard,
}

/// One tenant's queues. Cheap to clone.
#[derive(Clone)]
pub struct Sqs {
    pub(crate) inner: Arc<Inner>,
}

impl Sqs {
    /// Opens (or creates) the service in `config.data_dir`: loads the catalog, replays the
    /// journal, and starts the writer and the background tick (retention, compaction).
    pub fn open(config: SqsConfig, clock: Arc<dyn Clock>, disk: Arc<dyn Disk>) -> std::io::Result<Sqs> {
        disk.create_dir_all(&config.data_dir)?;
        let catalog = match CatalogFile::load(&*disk, &config.data_dir)? {
            Some(c) => c,
            None => {
                let c = CatalogFile::new()?;
                c.save(&*disk, &config.data_dir)?;
                c
            }
        };
        let (writer, reader) = rheo_log::open(disk.clone(), &config.data_dir.join("journal"), config.log)
            .map_err(std::io::Error::other)?;
        let now = clock.now_ms();
        let mut queues: BTreeMap<String, Arc<Queue>> = BTreeMap::new();
        let mut hidden: BTreeMap<String, Arc<Queue>> = BTreeMap::new();
        let mut by_id: HashMap<u64, Arc<Queue>> = HashMap::new();
        let stored_bytes = Arc::new(AtomicUsize::new(0));
        for def in catalog.queues {
            let internal = def.internal;
            let q = Arc::new(new_queue(def, &config, &stored_bytes));
            by_id.insert(q.id, q.clone());
            if internal {
                hidden.insert(q.name.clone(), q);
            } else {
                queues.insert(q.name.clone(), q);
            }
        }
        let limits = ReadLimits {
            from_key: 0,
            max_records: usize::MAX,
            max_bytes: usize::MAX,
            min_timestamp_ms: i64::MIN,
        };
        let mut bad = 0usize;
        reader
            .read_each(limits, |rec| {
                match Record::decode(rec.data) {
                    Some(r) => replay(&by_id, r, rec.key, now),
                    None => bad += 1,
                }
                true
            })
            .map_err(std::io::Error::other)?;
        if bad > 0 {
            tracing::error!(records = bad, "journal records that do not decode were skipped");
        }
        let tail = reader.tail();
        let next_key = tail
            .last_key
            .map_or(1, |k| k + 1)
            .max(reader.segment_bases().last().copied().unwrap_or(1))
            .max(1);
        let (journal, guard) = Journal::start(writer, reader, next_key, tail.last_timestamp_ms.unwrap_or(i64::MIN))?;
        let sqs = Sqs {
            inner: Arc::new(Inner {
                config,
                clock,
                disk,
                journal,
                key: catalog.token_key,
                queues: RwLock::new(queues),
                hidden: RwLock::new(hidden),
                meta: Mutex::new(Meta {
                    next_queue_id: catalog.next_queue_id,
                    deleted: catalog.deleted,
                }),
                moves: Mutex::new(crate::moves::MoveTasks::restored(catalog.move_tasks)),
                stored_bytes,
                _writer: guard,
            }),
        };
        sqs.start_tick();
        Ok(sqs)
    }

    pub fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn account(&self) -> &str {
        &self.inner.config.account
    }

    pub fn region(&self) -> &str {
        &self.inner.config.region
    }

    pub fn queue_arn(&self, name: &str) -> String {
        arn(&self.inner.config, name)
    }

    pub(crate) fn queue(&self, name: &str) -> Result<Arc<Queue>> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or(QueueError::QueueDoesNotExist)
    }

    /// The queue an ARN of this tenant names.
    pub(crate) fn queue_by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let prefix = format!(
            "arn:aws:sqs:{}:{}:",
            self.inner.config.region, self.inner.config.account
        );
        let name = arn.strip_prefix(&prefix)?;
        self.queue(name).ok()
    }

    /// The queue a RedrivePolicy's target ARN names: a queue of this tenant, or a hidden one.
    pub(crate) fn dead_letter_target(&self, arn: &str) -> Option<Arc<Queue>> {
        self.queue_by_arn(arn).or_else(|| {
            self.inner
                .hidden
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .find(|q| q.arn == arn)
                .cloned()
        })
    }

    /// Every queue, hidden ones included.
    pub(crate) fn all_queues(&self) -> Vec<Arc<Queue>> {
        let mut all: Vec<Arc<Queue>> = self
            .inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.extend(
            self.inner
                .hidden
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned(),
        );
        all
    }

    pub(crate) fn meta(&self) -> MutexGuard<'_, Meta> {
        self.inner.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the catalog: every queue's definition (with `extra` added and `without`
    /// left out), under the meta lock the caller holds.
    /// Saves the catalog: the queues' definitions, `meta`'s names and the move tasks. The
    /// caller holds `meta` (saves are serialised) and not the move tasks' lock.
    pub(crate) fn save_catalog(&self, meta: &Meta, extra: Option<&QueueDef>, without: Option<u64>) -> Result<()> {
        let mut queues: Vec<QueueDef> = self
            .all_queues()
            .iter()
            .filter(|q| Some(q.id) != without)
            .map(|q| q.lock().def.clone())
            .collect();
        queues.extend(extra.cloned());
        let file = CatalogFile {
            version: 1,
            token_key: self.inner.key.clone(),
            next_queue_id: meta.next_queue_id,
            queues,
            deleted: meta.deleted.clone(),
            move_tasks: self.moves().tasks().to_vec(),
        };
        let disk = self.inner.disk.clone();
        let dir = self.inner.config.data_dir.clone();
        off_worker(|| file.save(&*disk, &dir)).map_err(|e| {
            tracing::error!(error = %e, "saving the queues' catalog failed");
            QueueError::Internal(e.to_string())
        })
    }

    /// Waits until every journal record queued so far is durable.
    pub(crate) async fn commit(&self) -> Result<()> {
        self.inner.journal.commit().await.map_err(QueueError::Internal)
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    pub(crate) fn key(&self) -> &MacKey {
        &self.inner.key
    }

    fn start_tick(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        handle.spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let sqs = Sqs { inner };
                sqs.tick().await;
            }
        });
    }

    /// Background work: retention, expired deduplication entries, move tasks, compaction.
    pub async fn tick(&self) {
        let now = self.now();
        for q in self.all_queues() {
            let mut g = q.lock();
            let retention = g.def.attributes.retention_s() * 1000;
            g.state.expire(now, retention);
            g.dedup.retain(|_, d| d.expires_ms > now);
            g.attempts.retain(|_, a| a.expires_ms > now);
        }
        self.run_moves(now).await;
        // A bounded amount of compaction per tick: at most 16 segments.
        for _ in 0..16 {
            match self.compact(now).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "compacting the queues' journal failed; will retry");
                    break;
                }
            }
        }
    }

    /// Copies the live state held in the oldest journal segment to the end, then deletes
    /// that segment; done while there are at least three segments and the oldest holds
    /// less than half a segment of live messages, or there are more than eight. Says whether
    /// a segment went.
    async fn compact(&self, now: i64) -> Result<bool> {
        let bases = self.journal().reader().segment_bases();
        if bases.len() < 3 {
            return Ok(false);
        }
        let below = bases[1];
        let live: usize = self
            .all_queues()
            .iter()
            .map(|q| {
                let g = q.lock();
                g.state
                    .messages()
                    .filter(|m| m.journal_key < below)
                    .map(Message::size)
                    .sum::<usize>()
            })
            .sum();
        if bases.len() <= 8 && live as u64 > self.inner.config.log.segment_bytes / 2 {
            return Ok(false);
        }
        for q in self.all_queues() {
            let mut g = q.lock();
            let old: Vec<u64> = g
                .state
                .messages()
                .filter(|m| m.journal_key < below)
                .map(|m| m.no)
                .collect();
            for no in old {
                let Some(m) = g.state.get(no).cloned() else { continue };
                let key = self.journal().push(
                    &Record::Put {
                        queue: q.id,
                        message: m.clone(),
                    },
                    now,
                );
                g.state.insert(Message { journal_key: key, ..m });
            }
            let dedups: Vec<(String, DedupEntry)> = g
                .dedup
                .iter()
                .filter(|(_, d)| d.journal_key < below)
                .map(|(k, d)| (k.clone(), d.clone()))
                .collect();
            for (k, d) in dedups {
                let record = Record::Dedup {
                    queue: q.id,
                    key: k.clone(),
                    message_id: d.message_id.clone(),
                    sequence: d.sequence,
                    expires_ms: d.expires_ms,
                };
                let key = self.journal().push(&record, now);
                g.dedup.insert(k, DedupEntry { journal_key: key, ..d });
            }
            let cursors: Vec<(u32, u64)> = g
                .cursors
                .iter()
                .filter(|(_, (_, key))| *key < below)
                .map(|(shard, (next, _))| (*shard, *next))
                .collect();
            for (shard, next) in cursors {
                let key = self.journal().push(
                    &Record::Cursor {
                        queue: q.id,
                        shard,
                        next,
                    },
                    now,
                );
                g.cursors.insert(shard, (next, key));
            }
        }
        self.commit().await?;
        let reader = self.journal().reader().clone();
        let removed = off_worker(|| reader.trim_below_key(below)).map_err(|e| QueueError::Internal(e.to_string()))?;
        tracing::debug!(removed, below, "compacted the queues' journal");
        Ok(removed > 0)
    }
}

pub(crate) fn arn(config: &SqsConfig, name: &str) -> String {
    format!("arn:aws:sqs:{}:{}:{name}", config.region, config.account)
}

pub(crate) fn new_queue(def: QueueDef, config: &SqsConfig, stored_bytes: &Arc<AtomicUsize>) -> Queue {
    Queue {
        id: def.id,
        name: def.name.clone(),
        fifo: def.fifo,
        arn: arn(config, &def.name),
        inner: Mutex::new(QueueInner {
            state: QueueState::counted(def.fifo, vec![stored_bytes.clone(), config.server_bytes.clone()]),
            def,
            dedup: HashMap::new(),
            attempts: HashMap::new(),
            last_purge_ms: None,
            cursors: BTreeMap::new(),
            purged_below: 0,
            deleted: false,
        }),
        notify: Notify::new(),
        filling: Mutex::new(()),
    }
}

/// The deduplication key of a FIFO message: its id, within its group when the queue
/// deduplicates per group.
pub(crate) fn dedup_key(attributes: &Attributes, group: Option<&str>, id: &str) -> String {
    if attributes.dedup_per_group() {
        format!("{}\0{id}", group.unwrap_or_default())
    } else {
        id.to_owned()
    }
}

fn replay(queues: &HashMap<u64, Arc<Queue>>, r: Record, key: u64, now: i64) {
    let queue = match &r {
        Record::Put { queue, .. }
        | Record::Seen { queue, .. }
        | Record::Delete { queue, .. }
        | Record::Purge { queue, .. }
        | Record::Dedup { queue, .. }
        | Record::Cursor { queue, .. } => *queue,
    };
    let Some(q) = queues.get(&queue) else { return };
    let mut g = q.lock();
    match r {
        Record::Put { message, .. } => {
            if message.no < g.purged_below {
                return;
            }
            // Moved messages (dead letters, move tasks) make no deduplication entry, as live.
            let moved = message.dead_letter_source.is_some();
            if let (true, false, Some(id)) = (q.fifo, moved, &message.dedup_id) {
                let expires_ms = message.sent_ms.saturating_add(DEDUP_WINDOW_MS);
                if expires_ms > now {
                    let k = dedup_key(&g.def.attributes, message.group.as_deref(), id);
                    g.dedup.insert(
                        k,
                        DedupEntry {
                            message_id: message.id.clone(),
                            sequence: message.sequence,
                            expires_ms,
                            journal_key: key,
                        },
                    );
                }
            }
            g.state.insert(Message {
                journal_key: key,
                ..message
            });
        }
        Record::Seen {
            no,
            visible_at_ms,
            receive_count,
            first_receive_ms,
            ..
        } => g.state.set_seen(no, visible_at_ms, receive_count, first_receive_ms),
        Record::Delete { no, .. } => {
            g.state.remove(no);
        }
        Record::Purge { below, .. } => {
            g.state.purge(below);
            g.purged_below = g.purged_below.max(below);
            // A purge forgets deduplication ids too (as live; replayed Dedup records after it
            // come back).
            g.dedup.clear();
        }
        Record::Cursor { shard, next, .. } => {
            let at = g.cursors.get(&shard).map_or(0, |(n, _)| *n);
            g.cursors.insert(shard, (at.max(next), key));
        }
        Record::Dedup {
            key: k,
            message_id,
            sequence,
            expires_ms,
            ..
        } => {
            if expires_ms > now {
                g.dedup.insert(
                    k,
                    DedupEntry {
                        message_id,
                        sequence,
                        expires_ms,
                        journal_key: key,
                    },
                );
            }
        }
    }
}

/// Runs blocking work (a catalog save, a trim) without stalling the runtime's other tasks
/// where the runtime allows it.
pub(crate) fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub(crate) fn check_attrs(given: &BTreeMap<String, String>, fifo: bool, creating: bool) -> Result<()> {
    attributes::check_all(given, fifo, creating)
}
