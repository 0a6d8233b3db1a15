//! The running engine: the catalog in memory, one writer task and log reader per shard, and the
//! background tick that applies state transitions and retention.

use crate::catalog::{Catalog, ShardMeta, Status, StoredStatus, StreamMeta, StreamMode, StreamSettings};
use crate::scaling::{Rate, RateWindow};
use crate::throttle::{LimitsProfile, ShardLimits, ShardThrottle};
use crate::writer::{self, Assigned, Command};
use crate::{Clock, Error};
use rheo_log::{Disk, LogConfig, LogReader, RealDisk};
use rheo_types::{Arn, HashKey, HashKeyRange, SequenceNumber, ShardId, StreamName};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub region: String,
    pub account: String,
    /// Most open shards across all streams.
    pub shard_limit: u32,
    /// How long streams stay CREATING, UPDATING (a reshard) and DELETING.
    pub transition_delay_ms: i64,
    pub log: LogConfig,
    /// How often the background tick runs (transitions, deletions, retention, subscription
    /// lifetimes and heartbeats).
    pub tick_ms: u64,
    /// Most consumers registered per stream.
    pub consumer_limit: u32,
    /// Throughput limits for streams that do not set their own.
    pub throughput_limits: LimitsProfile,
    /// Writes are refused (ProvisionedThroughputExceededException) while the data disk has
    /// less than this free, so a full disk is never reached by a write.
    pub min_free_bytes: u64,
}

impl EngineConfig {
    pub fn new(data_dir: PathBuf) -> EngineConfig {
        EngineConfig {
            data_dir,
            region: "us-east-1".into(),
            account: "000000000000".into(),
            shard_limit: rheo_types::limits::DEFAULT_SHARD_LIMIT,
            transition_delay_ms: 500,
            log: LogConfig::default(),
            tick_ms: 1000,
            consumer_limit: rheo_types::limits::DEFAULT_CONSUMERS_PER_STREAM,
            throughput_limits: LimitsProfile::Off,
            min_free_bytes: 128 * 1024 * 1024,
        }
    }
}

/// An engine's state as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub free_bytes: u64,
    pub min_free_bytes: u64,
    /// Writes are refused: free space is below the watermark.
    pub disk_low: bool,
    /// `stream/shardId-…` of shards whose last append failed.
    pub failing_shards: Vec<String>,
}

impl Health {
    pub fn degraded(&self) -> bool {
        self.disk_low || !self.failing_shards.is_empty()
    }
}

/// The engine handle; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) disk: Arc<dyn Disk>,
    pub(crate) token_key: crate::mac::MacKey,
    state: Mutex<State>,
    /// What the data plane reads: each live stream's entry and runtime as of the last change,
    /// published when the state lock that made the change is released, after the catalog save
    /// it made. Puts and gets read it without taking the state lock, so a control-plane call's
    /// fsync never stalls them, and never see a change that is not yet durable.
    published: std::sync::RwLock<Arc<Snapshot>>,
    /// Reshards are applied one at a time.
    pub(crate) reshard_lock: tokio::sync::Mutex<()>,
    /// The server's throughput limits (a [`LimitsProfile`] as u8); streams may override them.
    default_limits: AtomicU8,
    /// Marked changed after every background tick: subscriptions check their lifetime and
    /// send heartbeats on it.
    pub(crate) ticks: watch::Sender<()>,
    /// The active SubscribeToShard sessions, one per consumer and shard.
    pub(crate) leases: Mutex<crate::consumers::Leases>,
    /// Free space on the data disk, against the watermark.
    pub(crate) space: crate::space::Space,
}

/// Every stream (live or not yet swept) as of the last published change, in name order.
pub(crate) type Snapshot = std::collections::BTreeMap<StreamName, Arc<Published>>;

/// Runs `f`, which holds the state lock across a catalog fsync, without taking a Tokio worker
/// out of service meanwhile: on a multi-threaded runtime the worker's other tasks move to
/// another thread until `f` returns. A slow disk then delays control-plane calls only.
pub(crate) fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A stream as the data plane sees it.
pub(crate) struct Published {
    pub(crate) meta: StreamMeta,
    pub(crate) runtime: Option<Arc<StreamRuntime>>,
}

/// The state lock, held: changes made through it are published (see `Inner::published`) when
/// it is released.
pub(crate) struct StateGuard<'a> {
    guard: MutexGuard<'a, State>,
    inner: &'a Inner,
    changed: bool,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.changed = true;
        &mut self.guard
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        if self.changed {
            self.inner.publish(&self.guard);
        }
    }
}

pub(crate) struct State {
    pub(crate) catalog: Catalog,
    pub(crate) runtimes: HashMap<u64, Arc<StreamRuntime>>,
    /// On-demand streams' peak write rates (by incarnation), which their capacity follows.
    /// Kept in memory only: a restart starts from the stream's present shards.
    pub(crate) peaks: HashMap<u64, Rate>,
}

/// A stream's shards as served now. Replaced whole when the shard map changes (a reshard or a
/// closed shard expiring); requests holding the old one finish on it.
pub(crate) struct StreamRuntime {
    pub(crate) name: StreamName,
    pub(crate) incarnation: u64,
    /// Indexed by shard number; `None` for a closed shard whose records have all expired.
    pub(crate) shards: Vec<Option<ShardRuntime>>,
    /// Open shards sorted by the start of their hash key range, for routing.
    pub(crate) routes: Vec<(HashKeyRange, u32)>,
    pub(crate) retention_ms: i64,
    pub(crate) mode: StreamMode,
    pub(crate) settings: StreamSettings,
    /// The next shard for a record under the AUTO distribution.
    spread: AtomicUsize,
}

#[derive(Clone)]
pub(crate) struct ShardRuntime {
    pub(crate) id: ShardId,
    /// The writer's queue; `None` once the shard is closed.
    pub(crate) tx: Option<mpsc::Sender<Command>>,
    pub(crate) reader: LogReader,
    /// A closed shard's children, which GetRecords names at its end.
    pub(crate) children: Option<Arc<Vec<ChildShard>>>,
    /// Throughput limit buckets and observed write rates; kept across reshards.
    pub(crate) meter: Arc<Mutex<ShardMeter>>,
    /// Marked changed after every durable append, and when the shard closes: what
    /// subscriptions wait on.
    pub(crate) commits: Arc<watch::Sender<()>>,
    /// Set while the shard's last append failed (until one succeeds).
    pub(crate) failing: Arc<AtomicBool>,
    /// The shard's creation time as its sequence numbers carry it.
    pub(crate) epoch_s: u64,
}

/// What a shard has used: its throttle buckets (made when limits first apply) and its write
/// rate (observed on on-demand streams, for scaling).
#[derive(Debug, Default)]
pub(crate) struct ShardMeter {
    pub(crate) throttle: Option<ShardThrottle>,
    pub(crate) writes: RateWindow,
}

impl ShardMeter {
    pub(crate) fn throttle(&mut self, limits: &ShardLimits, now_ms: i64) -> &mut ShardThrottle {
        self.throttle.get_or_insert_with(|| ShardThrottle::new(limits, now_ms))
    }
}

/// A child of a closed shard, as GetRecords reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildShard {
    pub shard_id: ShardId,
    pub parents: Vec<ShardId>,
    pub range: HashKeyRange,
}

impl StreamRuntime {
    pub(crate) fn route(&self, key: HashKey) -> Option<u32> {
        let i = self.routes.partition_point(|(r, _)| r.start <= key.0).checked_sub(1)?;
        let (range, shard) = self.routes[i];
        range.contains(key).then_some(shard)
    }
    /// A hash key for the AUTO distribution: the open shards in turn.
    pub(crate) fn spread(&self) -> HashKey {
        let n = self.spread.fetch_add(1, Ordering::Relaxed);
        HashKey(
            self.routes
                .get(n % self.routes.len().max(1))
                .map_or(0, |(r, _)| r.start),
        )
    }
    pub(crate) fn shard(&self, id: ShardId) -> Option<&ShardRuntime> {
        self.shards.get(id.0 as usize)?.as_ref().filter(|s| s.id == id)
    }
    pub(crate) fn cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms - self.retention_ms
    }
}

const HOUR_MS: i64 = 3_600_000;

impl Engine {
    /// Opens (or creates) the engine's data directory, recovers every shard log, and starts the
    /// writer tasks and the background tick. Must run inside a Tokio runtime.
    pub fn open(config: EngineConfig, clock: Arc<dyn Clock>) -> Result<Engine, Error> {
        Engine::open_on(config, clock, Arc::new(RealDisk))
    }

    /// As [`Engine::open`], on the given disk (tests use `rheo_log::disk::SimDisk`).
    pub fn open_on(config: EngineConfig, clock: Arc<dyn Clock>, disk: Arc<dyn Disk>) -> Result<Engine, Error> {
        Engine::open_with(config, clock, disk, true)
    }

    /// As [`Engine::open`]; with `create_dir` false the data directory is made only when the
    /// catalog is first saved (a tenant's first write), so requests that write nothing leave
    /// nothing on disk.
    fn open_with(
        config: EngineConfig,
        clock: Arc<dyn Clock>,
        disk: Arc<dyn Disk>,
        create_dir: bool,
    ) -> Result<Engine, Error> {
        let io = |e: std::io::Error| Error::Internal(format!("opening {}: {e}", config.data_dir.display()));
        if create_dir {
            disk.create_dir_all(&config.data_dir).map_err(io)?;
        }
        let catalog = Catalog::load(&*disk, &config.data_dir).map_err(io)?;
        let space = crate::space::Space::new(config.min_free_bytes);
        let default_limits = AtomicU8::new(config.throughput_limits as u8);
        let inner = Arc::new(Inner {
            token_key: catalog.token_key.clone(),
            state: Mutex::new(State {
                catalog,
                runtimes: HashMap::new(),
                peaks: HashMap::new(),
            }),
            published: std::sync::RwLock::default(),
            config,
            clock,
            disk,
            reshard_lock: tokio::sync::Mutex::new(()),
            default_limits,
            ticks: watch::Sender::new(()),
            leases: Mutex::default(),
            space,
        });
        inner
            .space
            .refresh(&*inner.disk, &inner.config.data_dir, inner.clock.now_ms());
        {
            let mut st = inner.lock();
            inner.sweep_orphans(&st.catalog);
            if st.catalog.migrated {
                inner.save(&st)?;
                st.catalog.migrated = false;
            }
            let now = inner.clock.now_ms();
            let metas: Vec<StreamMeta> = st
                .catalog
                .live(now)
                .filter(|m| m.status(now) != Status::Deleting)
                .cloned()
                .collect();
            for meta in metas {
                let rt = inner.start_stream(&meta)?;
                st.runtimes.insert(meta.incarnation, Arc::new(rt));
            }
        }
        let engine = Engine { inner };
        engine.inner.tick_blocking();
        tokio::spawn(tick_loop(Arc::downgrade(&engine.inner)));
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The clock it reads: the services beside it (queues) share it.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The disk it writes through: the services beside it share it (and the power-cut model).
    pub fn disk(&self) -> Arc<dyn rheo_log::Disk> {
        self.inner.disk.clone()
    }

    /// An engine for another account and region: the same settings and clock, its own catalog
    /// and data under `DATA_DIR/tenants/ACCOUNT/REGION`, so their streams never meet.
    pub fn sibling(&self, account: &str, region: &str) -> Result<Engine, Error> {
        let mut config = self.inner.config.clone();
        config.data_dir = self.inner.config.data_dir.join("tenants").join(account).join(region);
        config.account = account.to_owned();
        config.region = region.to_owned();
        config.throughput_limits = self.default_limits();
        Engine::open_with(config, self.inner.clock.clone(), self.inner.disk.clone(), false)
    }

    /// What `/health` reports of this engine: free space against the watermark, and shards
    /// whose last append failed.
    pub fn health(&self) -> Health {
        let now = self.now();
        self.inner
            .space
            .refresh(&*self.inner.disk, &self.inner.config.data_dir, now);
        let mut failing_shards = Vec::new();
        for rt in self.inner.snapshot().values().filter_map(|p| p.runtime.as_ref()) {
            for shard in rt.shards.iter().flatten() {
                if shard.failing.load(Ordering::Relaxed) {
                    failing_shards.push(format!("{}/{}", rt.name, shard.id));
                }
            }
        }
        failing_shards.sort();
        Health {
            free_bytes: self.inner.space.free_bytes(),
            min_free_bytes: self.inner.config.min_free_bytes,
            disk_low: self.inner.space.is_low(),
            failing_shards,
        }
    }

    /// Whether this handle is the engine's only one: no request, subscription or task holds
    /// another, so dropping it closes the engine.
    pub fn is_unshared(&self) -> bool {
        Arc::strong_count(&self.inner) == 1
    }

    /// The server's throughput limits, which apply to every stream without its own.
    pub fn default_limits(&self) -> LimitsProfile {
        match self.inner.default_limits.load(Ordering::Relaxed) {
            x if x == LimitsProfile::Aws as u8 => LimitsProfile::Aws,
            _ => LimitsProfile::Off,
        }
    }

    pub fn set_default_limits(&self, profile: LimitsProfile) {
        self.inner.default_limits.store(profile as u8, Ordering::Relaxed);
    }

    /// The limits that apply to a stream now.
    pub(crate) fn limits_for(&self, rt: &StreamRuntime) -> Option<ShardLimits> {
        rt.settings
            .throughput_limits
            .unwrap_or_else(|| self.default_limits())
            .limits()
    }

    /// The engine's time, in epoch milliseconds.
    pub fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Runs the background work once now (tests use it after moving the clock).
    pub async fn tick(&self) {
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || inner.tick_blocking()).await;
        self.apply_due_reshards().await;
        let engine = self.clone();
        let _ = tokio::task::spawn_blocking(move || engine.scale_on_demand()).await;
        self.inner.ticks.send_replace(());
    }

    /// Picks the stream a request names, by name or by ARN (both must agree when both given).
    pub fn resolve(&self, name: Option<StreamName>, arn: Option<Arn>) -> Result<StreamName, Error> {
        let cfg = &self.inner.config;
        if let Some(arn) = arn
            .as_ref()
            .filter(|a| a.account != cfg.account || a.region != cfg.region)
        {
            return Err(Error::AccessDenied(format!(
                "User is not authorized to access resource arn:aws:kinesis:{}:{}:stream/{} (this server serves account {} in {})",
                arn.region, arn.account, arn.stream, cfg.account, cfg.region
            )));
        }
        match (name, arn) {
            (Some(n), Some(a)) if n != a.stream => Err(Error::InvalidArgument(format!(
                "StreamName {n} and StreamARN {} do not refer to the same stream.",
                Arn::format(&cfg.region, &cfg.account, &a.stream)
            ))),
            (Some(n), _) => Ok(n),
            (None, Some(a)) => Ok(a.stream),
            (None, None) => Err(Error::InvalidArgument(
                "Either StreamName or StreamARN should be provided.".into(),
            )),
        }
    }

    pub fn arn(&self, name: &StreamName) -> String {
        Arn::format(&self.inner.config.region, &self.inner.config.account, name)
    }
}

impl Inner {
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        StateGuard {
            guard: self.state.lock().unwrap_or_else(|p| p.into_inner()),
            inner: self,
            changed: false,
        }
    }

    /// Replaces what the data plane reads with the streams of `st`.
    fn publish(&self, st: &State) {
        let map: Snapshot = st
            .catalog
            .streams
            .iter()
            .map(|(name, meta)| {
                let p = Published {
                    meta: meta.clone(),
                    runtime: st.runtimes.get(&meta.incarnation).cloned(),
                };
                (name.clone(), Arc::new(p))
            })
            .collect();
        *self.published.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(map);
    }

    /// The data plane's view of a stream that exists at `now` (see `Inner::published`).
    pub(crate) fn published(&self, name: &StreamName, now: i64) -> Option<Arc<Published>> {
        self.snapshot()
            .get(name)
            .filter(|p| p.meta.status(now) != Status::Gone)
            .cloned()
    }

    /// Every stream as of the last published change. Read-only calls use this, never the state
    /// lock, so they do not wait behind a control-plane call's catalog fsync.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.published.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn stream_dir(&self, incarnation: u64) -> PathBuf {
        self.config.data_dir.join("streams").join(format!("{incarnation:016x}"))
    }

    /// Opens every shard log of a stream and starts a writer for each open shard.
    pub(crate) fn start_stream(&self, meta: &StreamMeta) -> Result<StreamRuntime, Error> {
        let now = self.clock.now_ms();
        let mut shards = Vec::with_capacity(meta.shards.len());
        for s in &meta.shards {
            let visible = s.visible(now, meta.retention_hours);
            shards.push(if visible { Some(self.open_shard(meta, s)?) } else { None });
        }
        Ok(runtime_for(meta, shards))
    }

    /// Opens one shard's log and, if the shard is open, starts its writer. A new shard's
    /// records follow its parents': the writer starts above its starting counter.
    pub(crate) fn open_shard(&self, meta: &StreamMeta, s: &ShardMeta) -> Result<ShardRuntime, Error> {
        let dir = self.stream_dir(meta.incarnation).join(shard_dir(s.id));
        let (writer, reader) = rheo_log::open(self.disk.clone(), &dir, self.config.log)?;
        let commits = Arc::new(watch::Sender::new(()));
        let failing = Arc::new(AtomicBool::new(false));
        let tx = s.is_open().then(|| {
            let (tx, rx) = mpsc::channel(1024);
            let floor = s.starting_counter.checked_sub(1).map(|counter| Assigned {
                counter,
                timestamp_ms: s.created_ms,
            });
            let signals = writer::Signals {
                commits: commits.clone(),
                failing: failing.clone(),
            };
            tokio::spawn(writer::run(writer, rx, self.clock.clone(), floor, signals));
            tx
        });
        Ok(ShardRuntime {
            id: s.id,
            tx,
            reader,
            children: (!s.is_open()).then(|| Arc::new(children_of(meta, s.id))),
            meter: Arc::default(),
            commits,
            failing,
            epoch_s: SequenceNumber::epoch_of(s.created_ms),
        })
    }

    /// Removes stream directories the catalog does not name: left by a CreateStream whose
    /// catalog save failed, or by a crash between the two. Their records were never
    /// acknowledged (a stream takes writes only once saved).
    fn sweep_orphans(&self, catalog: &Catalog) {
        let dir = self.config.data_dir.join("streams");
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        let known: std::collections::HashSet<String> = catalog
            .streams
            .values()
            .map(|m| format!("{:016x}", m.incarnation))
            .collect();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if ours && !known.contains(&name) {
                tracing::warn!(dir = %entry.path().display(), "removing a stream directory the catalog does not name");
                if let Err(e) = self.disk.remove_dir_all(&entry.path()) {
                    tracing::warn!(error = %e, "removing an orphan stream directory failed");
                }
            }
        }
    }

    /// Persists the catalog; call with the state lock held so saves are ordered.
    pub(crate) fn save(&self, st: &State) -> Result<(), Error> {
        let dir = &self.config.data_dir;
        self.disk
            .create_dir_all(dir)
            .and_then(|()| st.catalog.save(&*self.disk, dir))
            .map_err(|e| {
                tracing::error!(error = %e, "saving the catalog failed");
                Error::Internal(format!("saving the catalog: {e}"))
            })
    }

    /// Applies due transitions, removes deleted streams' storage and trims expired segments.
    fn tick_blocking(&self) {
        let now = self.clock.now_ms();
        let (gone, runtimes) = {
            let mut st = self.lock();
            let mut changed = false;
            let mut gone = Vec::new();
            for meta in st.catalog.streams.values_mut() {
                match (&meta.status, meta.status(now)) {
                    (StoredStatus::Creating { .. }, Status::Active) => {
                        meta.status = StoredStatus::Active;
                        changed = true;
                    }
                    (_, Status::Gone) => gone.push((meta.name.clone(), meta.incarnation)),
                    _ => {}
                }
            }
            for (name, incarnation) in &gone {
                st.catalog.streams.remove(name);
                st.peaks.remove(incarnation);
                changed = true;
            }
            if changed && self.save(&st).is_err() {
                return;
            }
            (gone, st.runtimes.values().cloned().collect::<Vec<_>>())
        };
        for (name, incarnation) in gone {
            if let Err(e) = self.disk.remove_dir_all(&self.stream_dir(incarnation)) {
                tracing::warn!(stream = %name, error = %e, "removing a deleted stream's data failed");
            }
        }
        self.expire_closed_shards(now);
        for rt in runtimes {
            let cutoff = rt.cutoff_ms(now);
            for shard in rt.shards.iter().flatten() {
                if let Err(e) = shard.reader.trim_before(cutoff) {
                    tracing::warn!(stream = %rt.name, shard = %shard.id, error = %e, "trimming expired segments failed");
                }
            }
        }
    }
}

impl Inner {
    /// Closed shards whose records are all past retention disappear: their readers are dropped
    /// from the runtime and their logs deleted.
    fn expire_closed_shards(&self, now: i64) {
        let mut expired = Vec::new();
        {
            let mut st = self.lock();
            let State { catalog, runtimes, .. } = &mut *st;
            for meta in catalog.live(now) {
                let Some(rt) = runtimes.get(&meta.incarnation) else {
                    continue;
                };
                let ids: Vec<ShardId> = meta
                    .shards
                    .iter()
                    .filter(|s| !s.visible(now, meta.retention_hours) && rt.shard(s.id).is_some())
                    .map(|s| s.id)
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let mut shards = rt.shards.clone();
                for id in &ids {
                    shards[id.0 as usize] = None;
                    expired.push((
                        meta.name.clone(),
                        self.stream_dir(meta.incarnation).join(shard_dir(*id)),
                    ));
                }
                runtimes.insert(meta.incarnation, Arc::new(runtime_for(meta, shards)));
            }
        }
        for (name, dir) in expired {
            if let Err(e) = self.disk.remove_dir_all(&dir) {
                tracing::warn!(stream = %name, error = %e, "removing an expired shard's data failed");
            }
        }
    }
}

/// A shard's log directory inside its stream's directory.
fn shard_dir(id: ShardId) -> String {
    format!("{:06}", id.0)
}

async fn tick_loop(inner: Weak<Inner>) {
    loop {
        let Some(ms) = inner.upgrade().map(|i| i.config.tick_ms) else {
            return;
        };
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let Some(strong) = inner.upgrade() else { return };
        Engine { inner: strong }.tick().await;
    }
}

/// The children of shard `id` in `meta`'s map.
pub(crate) fn children_of(meta: &StreamMeta, id: ShardId) -> Vec<ChildShard> {
    meta.children_of(id)
        .map(|c| ChildShard {
            shard_id: c.id,
            parents: c.parent.into_iter().chain(c.adjacent_parent).collect(),
            range: c.range,
        })
        .collect()
}

/// A runtime serving `shards` (indexed by shard number) under `meta`'s map.
pub(crate) fn runtime_for(meta: &StreamMeta, shards: Vec<Option<ShardRuntime>>) -> StreamRuntime {
    let mut routes: Vec<(HashKeyRange, u32)> = meta
        .shards
        .iter()
        .filter(|s| s.is_open())
        .map(|s| (s.range, s.id.0))
        .collect();
    routes.sort_by_key(|(r, _)| r.start);
    StreamRuntime {
        name: meta.name.clone(),
        incarnation: meta.incarnation,
        shards,
        routes,
        retention_ms: meta.retention_hours * HOUR_MS,
        mode: meta.mode,
        settings: meta.settings.clone(),
        spread: AtomicUsize::new(0),
    }
}
