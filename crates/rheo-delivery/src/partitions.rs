//! Dynamic partitioning's buffers: one per evaluated prefix (per partition key values), each
//! delivered on its own when it reaches `SizeInMBs` or `IntervalInSeconds` has passed since its
//! first record, as AWS keeps them; failed records have buffers of their own (one per error
//! output type). At most [`MAX_PARTITIONS`] data buffers are open at once (AWS's
//! active-partition quota); the records of more go to the error prefix.
//!
//! The worker of a partitioned stream reads the intake in order, processes the records
//! (de-aggregation, the function, the partition keys, the conversion) and appends each to its
//! buffer's file (written, not synced). Every so often (256 MiB, when it has caught up, and
//! before any delivery) it *commits*: the files written since are fsynced, then [`State`] is
//! saved with their lengths and the intake position they cover; the intake is trimmed below it. A crash loses only what was
//! not committed, and that is processed again from the intake (bytes past a buffer's committed
//! length are never read). A delivery saves the objects' keys in the state (`flushing`) before
//! writing them (created only if absent), and removes the buffers after, so a record delivered
//! into Rheo's buckets is in exactly one object.
//!
//! Files under `<incarnation>/partitions/`: `state.json` ([`State`], replaced whole: temporary
//! file, fsync, rename, fsync of the directory) and `p<N>`, buffer N's bytes as they go into its
//! object before compression (a data buffer's records, delimited as configured, or rows for a
//! Parquet conversion, one JSON array per line; an error buffer's error records, one per line).

use crate::prefix::{self, Context, Part};
use crate::spec::{Plan, Spec};
use crate::stage::FileWriter;
use crate::transform::Outcome;
use crate::worker::{Runtime, Sub, Worker};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Most data buffers open at once (AWS's active-partition quota).
pub const MAX_PARTITIONS: usize = 500;

/// Unsynced bytes that make the worker commit (they are in the page cache, not its memory).
const COMMIT_BYTES: u64 = 256 << 20;

/// While records keep coming, how often due buffers are delivered (a round at a time).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

const STATE: &str = "state.json";

/// Objects written at once by a delivery.
const WRITERS: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct State {
    /// The next intake record to process: those before it are in the buffers' committed bytes,
    /// or delivered, or dropped.
    next: u64,
    /// The next buffer file's number.
    seq: u64,
    buffers: Vec<BufferState>,
    /// The destinations buffers were opened under, by version.
    specs: BTreeMap<u64, Spec>,
    /// Objects being written: their keys are saved before, the buffers removed after.
    flushing: Vec<Flush>,
    /// The catalog table's columns (name, Hive type) buffers of a conversion were opened with:
    /// their rows are written as Parquet with these, whatever the table has become.
    #[serde(default)]
    columns: BTreeMap<u64, Vec<(String, String)>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BufferState {
    n: u64,
    /// Data: the partition keys' values (`q:<key>` from the query, `l:<key>` from the function);
    /// errors: none.
    values: BTreeMap<String, String>,
    /// An error buffer's output type (`processing-failed`, `format-conversion-failed`).
    error_type: Option<String>,
    /// With a conversion: the columns its rows have (`State::columns`).
    #[serde(default)]
    columns: Option<u64>,
    version: u64,
    len: u64,
    /// When its first record reached the intake (its interval counts from it).
    first_ms: i64,
    /// Its oldest record's arrival (its object's name).
    oldest_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flush {
    n: u64,
    key: String,
    /// The object's id (the last part of its name, a ZIP entry's name).
    #[serde(default)]
    id: String,
}

/// A stream's buffers: the committed state, and what was written since.
struct Buffers {
    dir: PathBuf,
    state: State,
    /// The next intake record to process (ahead of `state.next` by what is uncommitted).
    processed: u64,
    /// Buffer index by identity (version, error type or values).
    index: HashMap<String, usize>,
    /// Bytes appended since the commit, by buffer number.
    pending: BTreeMap<u64, Vec<u8>>,
    /// Bytes written to buffers' files past their committed lengths (not yet synced), by
    /// buffer number.
    unsynced: BTreeMap<u64, u64>,
    unsynced_bytes: u64,
    /// Buffers opened since the commit (their files' entries need a directory sync).
    created: bool,
    plans: HashMap<u64, Arc<Plan>>,
    /// When buffers were last delivered.
    last_round: std::time::Instant,
}

fn identity(b: &BufferState) -> String {
    serde_json::json!([b.version, b.columns, b.error_type, b.values]).to_string()
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Buffers {
    fn load(disk: &dyn rheo_log::Disk, dir: PathBuf) -> std::io::Result<Buffers> {
        disk.create_dir_all(&dir)?;
        let state: State = match rheo_log::disk::read_all(disk, &dir.join(STATE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io_err)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A stream an older Rheo partitioned per object: on from its checkpoint (its
                // planned object's records again).
                let parent = dir.parent().unwrap_or(&dir);
                let cp = crate::catalog::Checkpoint::load(disk, parent)?;
                State {
                    next: cp.pending.map_or(cp.next, |p| p.from),
                    ..State::default()
                }
            }
            Err(e) => return Err(e),
        };
        // The state read is made durable before it is used: a save whose directory sync failed
        // may have renamed it into place without making that last.
        disk.sync_dir(&dir)?;
        // Files of buffers opened after the last commit belong to no buffer.
        let known: std::collections::HashSet<String> = state.buffers.iter().map(|b| format!("p{}", b.n)).collect();
        for f in disk.list(&dir)? {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('p') && !known.contains(&name) {
                disk.remove_file(&f)?;
            }
        }
        let index = state
            .buffers
            .iter()
            .enumerate()
            .map(|(i, b)| (identity(b), i))
            .collect();
        Ok(Buffers {
            dir,
            processed: state.next,
            state,
            index,
            pending: BTreeMap::new(),
            unsynced: BTreeMap::new(),
            unsynced_bytes: 0,
            created: false,
            plans: HashMap::new(),
            last_round: std::time::Instant::now(),
        })
    }

    fn path(&self, n: u64) -> PathBuf {
        self.dir.join(format!("p{n}"))
    }

    fn plan(&mut self, version: u64) -> Result<Arc<Plan>, String> {
        if let Some(p) = self.plans.get(&version) {
            return Ok(p.clone());
        }
        let spec = self
            .state
            .specs
            .get(&version)
            .ok_or_else(|| format!("the destination of version {version} is missing"))?;
        let plan = Arc::new(crate::spec::plan(spec)?);
        self.plans.insert(version, plan.clone());
        Ok(plan)
    }

    /// A buffer's plan; if its destination no longer passes the checks (an older Rheo took
    /// it), the stream's current one, so that the buffer is delivered rather than stuck.
    fn plan_or_current(&mut self, rt: &Runtime, version: u64) -> Arc<Plan> {
        self.plan(version).unwrap_or_else(|e| {
            tracing::warn!(error = %e, version, "a partition's destination no longer plans; delivering it with the current one");
            Arc::new(rt.plan.clone())
        })
    }

    fn save(&mut self, disk: &dyn rheo_log::Disk) -> std::io::Result<()> {
        save(&mut self.state, &self.dir, disk)?;
        let versions: std::collections::HashSet<u64> = self.state.specs.keys().copied().collect();
        self.plans.retain(|v, _| versions.contains(v));
        Ok(())
    }

    /// The buffer a record goes to (opened if new), or why it has none.
    fn buffer(
        &mut self,
        rt: &Runtime,
        values: BTreeMap<String, String>,
        error_type: Option<&str>,
        columns: Option<u64>,
        sub: &Sub,
    ) -> Result<usize, (String, String)> {
        let b = BufferState {
            n: self.state.seq,
            values,
            error_type: error_type.map(str::to_owned),
            columns,
            version: rt.version,
            len: 0,
            first_ms: sub.arrival_ms,
            oldest_ms: crate::source::Origin::arrival(&sub.origin, sub.arrival_ms),
        };
        let id = identity(&b);
        if let Some(&i) = self.index.get(&id) {
            let oldest = b.oldest_ms;
            let o = &mut self.state.buffers[i].oldest_ms;
            *o = (*o).min(oldest);
            return Ok(i);
        }
        if error_type.is_none() {
            let open = self.state.buffers.iter().filter(|b| b.error_type.is_none()).count();
            if open >= MAX_PARTITIONS {
                return Err((
                    "DynamicPartitioning.ActivePartitionsLimitExceeded".into(),
                    format!("The Firehose stream has more than {MAX_PARTITIONS} active partitions."),
                ));
            }
            // The prefix must evaluate with these values.
            evaluate(&rt.plan, &b).map_err(|m| ("DynamicPartitioning.PrefixEvaluationFailed".to_owned(), m))?;
        }
        self.state.specs.entry(rt.version).or_insert_with(|| rt.spec.clone());
        self.state.seq += 1;
        self.created = true;
        self.state.buffers.push(b);
        self.index.insert(id, self.state.buffers.len() - 1);
        Ok(self.state.buffers.len() - 1)
    }

    fn append(&mut self, i: usize, bytes: &[u8]) {
        let n = self.state.buffers[i].n;
        self.pending.entry(n).or_default().extend_from_slice(bytes);
    }

    fn error(&mut self, rt: &Runtime, error_type: &str, sub: &Sub, line: &[u8]) {
        // An error buffer is always available (no quota, no prefix to evaluate).
        if let Ok(i) = self.buffer(rt, BTreeMap::new(), Some(error_type), None, sub) {
            self.append(i, line);
        }
    }

    /// Processes the intake's next records (at most `max_bytes`) into the buffers. Says
    /// whether there were any.
    fn process(
        &mut self,
        rt: &Runtime,
        env: &crate::service::Env,
        reader: &rheo_log::LogReader,
        handle: &tokio::runtime::Handle,
    ) -> std::io::Result<bool> {
        let plan = &rt.plan;
        let max_bytes = plan.processing.lambda.as_ref().map_or(4 << 20, |l| l.buffer_bytes);
        let recs = reader
            .read(self.processed, usize::MAX, max_bytes, i64::MIN)
            .map_err(io_err)?;
        let Some(last) = recs.last().map(|r| r.key) else {
            return Ok(false);
        };
        let subs = crate::stage::deaggregate(&recs, plan.processing.deaggregation.as_ref());
        let columns = plan
            .conversion
            .as_ref()
            .map(|c| (c, crate::convert::columns_of(&env.glue, &c.table)));
        // The columns' id in the state (buffers of other columns are other buffers).
        let columns_id = match &columns {
            Some((_, Ok(cols))) => {
                let raw = cols.raw();
                let found = self.state.columns.iter().find(|(_, c)| **c == raw).map(|(id, _)| *id);
                Some(found.unwrap_or_else(|| {
                    let id = self.state.columns.keys().next_back().map_or(0, |k| k + 1);
                    self.state.columns.insert(id, raw);
                    id
                }))
            }
            _ => None,
        };
        for (sub, outcome) in subs.iter().zip(crate::worker::process(rt, plan, env, &subs, handle)) {
            let (data, lambda_keys) = match outcome {
                Outcome::Ok { data, keys } => (data, keys),
                Outcome::Dropped => continue,
                Outcome::Failed {
                    code,
                    message,
                    attempts,
                } => {
                    let line = crate::stage::error_line(plan, env, sub, &code, &message, attempts);
                    self.error(rt, "processing-failed", sub, &line);
                    continue;
                }
            };
            let rows = match &columns {
                None => None,
                Some((c, cols)) => match cols.as_ref().map_err(Clone::clone).and_then(|cols| c.rows(cols, &data)) {
                    Ok(rows) => Some(rows),
                    Err(e) => {
                        let line = crate::stage::conversion_error_line(rt, c, env, sub, &data, &e);
                        self.error(rt, "format-conversion-failed", sub, &line);
                        continue;
                    }
                },
            };
            let placed = partition_keys(plan, &data, lambda_keys.as_ref())
                .and_then(|values| self.buffer(rt, values, None, columns_id, sub));
            let i = match placed {
                Ok(i) => i,
                Err((code, message)) => {
                    let line = crate::stage::error_line(plan, env, sub, &code, &message, 1);
                    self.error(rt, "processing-failed", sub, &line);
                    continue;
                }
            };
            match rows {
                Some(rows) => {
                    for row in rows {
                        let mut line = serde_json::to_vec(&row).map_err(io_err)?;
                        line.push(b'\n');
                        self.append(i, &line);
                    }
                }
                None => {
                    self.append(i, &data);
                    if plan.processing.append_delimiter {
                        self.append(i, b"\n");
                    }
                }
            }
        }
        self.processed = last + 1;
        Ok(true)
    }

    /// Makes what was processed durable: the buffers' new bytes, then the state that counts
    /// them.
    /// Writes the bytes processed since the last call to their buffers' files, past what is
    /// committed (unsynced: a crash or a failure before the commit leaves them unread, and
    /// they are written again).
    fn spill(&mut self, disk: &dyn rheo_log::Disk) -> std::io::Result<()> {
        for (n, bytes) in std::mem::take(&mut self.pending) {
            let len = self
                .state
                .buffers
                .iter()
                .find(|b| b.n == n)
                .map(|b| b.len)
                .ok_or_else(|| io_err(format!("bytes for buffer {n}, which is not open")))?;
            let f = disk.open(&self.path(n), true)?;
            let written = self.unsynced.entry(n).or_insert(0);
            if len == 0 && *written == 0 {
                f.set_len(0)?;
            }
            f.write_all_at(&bytes, len + *written)?;
            *written += bytes.len() as u64;
            self.unsynced_bytes += bytes.len() as u64;
        }
        Ok(())
    }

    /// Makes what was processed durable: the buffers' new bytes, then the state that counts
    /// them.
    fn commit(&mut self, disk: &dyn rheo_log::Disk) -> std::io::Result<()> {
        self.spill(disk)?;
        if self.processed == self.state.next && self.unsynced.is_empty() && !self.created {
            return Ok(());
        }
        // The state changes only once saved: a failure leaves it as on disk (the worker then
        // reloads it, and what was processed since is processed again).
        let mut next = self.state.clone();
        for (n, written) in &self.unsynced {
            let b = next
                .buffers
                .iter_mut()
                .find(|b| b.n == *n)
                .ok_or_else(|| io_err(format!("bytes for buffer {n}, which is not open")))?;
            disk.open(&self.path(*n), false)?.sync()?;
            b.len += written;
        }
        if self.created {
            disk.sync_dir(&self.dir)?;
        }
        next.next = self.processed;
        save(&mut next, &self.dir, disk)?;
        self.state = next;
        self.unsynced.clear();
        self.unsynced_bytes = 0;
        self.created = false;
        Ok(())
    }

    /// The buffers to deliver now: full, or past their interval.
    fn due(&mut self, now: i64) -> Vec<usize> {
        let mut out = Vec::new();
        for i in 0..self.state.buffers.len() {
            let (version, len, first) = {
                let b = &self.state.buffers[i];
                (
                    b.version,
                    b.len
                        + self.pending.get(&b.n).map_or(0, |p| p.len() as u64)
                        + self.unsynced.get(&b.n).copied().unwrap_or(0),
                    b.first_ms,
                )
            };
            let Ok(plan) = self.plan(version) else {
                out.push(i);
                continue;
            };
            if len >= plan.size_bytes || now >= first.saturating_add(plan.interval_ms) {
                out.push(i);
            }
        }
        out
    }

    /// When the next buffer's interval ends.
    fn next_due_ms(&mut self) -> Option<i64> {
        let mut at: Option<i64> = None;
        for i in 0..self.state.buffers.len() {
            let (version, first) = (self.state.buffers[i].version, self.state.buffers[i].first_ms);
            if let Ok(plan) = self.plan(version) {
                let due = first.saturating_add(plan.interval_ms);
                at = Some(at.map_or(due, |a| a.min(due)));
            }
        }
        at
    }

    /// Delivers buffers (committed): their keys saved first, then the objects written, then the
    /// buffers removed.
    fn flush(
        &mut self,
        rt: &Runtime,
        env: &crate::service::Env,
        due: &[usize],
        handle: &tokio::runtime::Handle,
    ) -> Result<(), String> {
        let disk = &*env.disk;
        if self.state.flushing.is_empty() {
            for &i in due {
                let b = self.state.buffers[i].clone();
                let plan = self.plan_or_current(rt, b.version);
                let (key, id) = object_key(rt, &plan, &b);
                self.state.flushing.push(Flush { n: b.n, key, id });
            }
            self.save(disk).map_err(|e| e.to_string())?;
        }
        let mut work = Vec::new();
        for f in self.state.flushing.clone() {
            let Some(b) = self.state.buffers.iter().find(|b| b.n == f.n).cloned() else {
                continue;
            };
            let columns = match b.columns {
                Some(c) => Some(crate::convert::Columns::parse(
                    self.state.columns.get(&c).ok_or("a buffer's columns are missing")?,
                )?),
                None => None,
            };
            work.push((self.plan_or_current(rt, b.version), b, f, columns));
        }
        // Several objects at once: their commits share the buckets' fsyncs.
        let (next, failed) = (std::sync::atomic::AtomicUsize::new(0), std::sync::Mutex::new(None));
        std::thread::scope(|s| {
            for _ in 0..WRITERS.min(work.len()) {
                s.spawn(|| {
                    let _runtime = handle.enter();
                    while let Some((plan, b, f, columns)) = work.get(next.fetch_add(1, Ordering::SeqCst)) {
                        if let Err(e) = write(&self.dir, env, plan, b, f, columns.as_ref()) {
                            *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let flushed: std::collections::HashSet<u64> = self.state.flushing.iter().map(|f| f.n).collect();
        self.state.buffers.retain(|b| !flushed.contains(&b.n));
        self.state.flushing.clear();
        self.index = self
            .state
            .buffers
            .iter()
            .enumerate()
            .map(|(i, b)| (identity(b), i))
            .collect();
        self.save(disk).map_err(|e| e.to_string())?;
        for n in flushed {
            let _ = disk.remove_file(&self.path(n));
            let _ = disk.remove_file(&self.dir.join(format!("p{n}.parquet")));
        }
        Ok(())
    }
}

/// Writes one buffer's object (created only if absent).
fn write(
    dir: &std::path::Path,
    env: &crate::service::Env,
    plan: &Plan,
    b: &BufferState,
    f: &Flush,
    columns: Option<&crate::convert::Columns>,
) -> Result<(), String> {
    let key = f.key.as_str();
    let disk = &*env.disk;
    let file = disk
        .open(&dir.join(format!("p{}", b.n)), false)
        .map_err(|e| e.to_string())?;
    let committed = || std::io::Read::take(crate::stage::FileReader::new(file.clone()), b.len);
    if b.error_type.is_some() {
        let mut fill = |w: &mut dyn Write| std::io::copy(&mut committed(), w).map(|_| true);
        env.buckets.write(&plan.bucket, key, None, &mut fill)?;
        return Ok(());
    }
    if let (Some(c), Some(columns)) = (&plan.conversion, columns) {
        // The rows become a Parquet file beside the buffer's, then the object.
        let name = format!("p{}.parquet", b.n);
        let path = dir.join(&name);
        let out = disk.open(&path, true).map_err(|e| e.to_string())?;
        out.set_len(0).map_err(|e| e.to_string())?;
        let mut w = std::io::BufWriter::new(FileWriter::new(disk, path.clone()));
        crate::convert::write_parquet(
            columns,
            &c.parquet,
            std::io::BufReader::with_capacity(1 << 20, committed()),
            &mut w,
        )
        .map_err(|e| e.to_string())?;
        w.flush().map_err(|e| e.to_string())?;
        let parquet = disk.open(&path, false).map_err(|e| e.to_string())?;
        let mut fill =
            |w: &mut dyn Write| std::io::copy(&mut crate::stage::FileReader::new(parquet.clone()), w).map(|_| true);
        env.buckets.write(&plan.bucket, key, None, &mut fill)?;
        return Ok(());
    }
    let mut fill = |w: &mut dyn Write| -> std::io::Result<bool> {
        let mut enc = crate::compress::Encoder::new(plan.compression, w, &f.id)?;
        std::io::copy(&mut committed(), &mut enc)?;
        enc.finish()?;
        Ok(true)
    };
    env.buckets
        .write(&plan.bucket, key, plan.compression.content_encoding(), &mut fill)?;
    Ok(())
}

/// Saves a state (its unused destinations and columns dropped first).
fn save(state: &mut State, dir: &std::path::Path, disk: &dyn rheo_log::Disk) -> std::io::Result<()> {
    let versions: std::collections::HashSet<u64> = state.buffers.iter().map(|b| b.version).collect();
    state.specs.retain(|v, _| versions.contains(v));
    let columns: std::collections::HashSet<u64> = state.buffers.iter().filter_map(|b| b.columns).collect();
    state.columns.retain(|c, _| columns.contains(c));
    let bytes = serde_json::to_vec(&*state).map_err(io_err)?;
    rheo_log::disk::replace_file(disk, &dir.join(STATE), &bytes)
}

/// A buffer's prefix: a data buffer's from the stream's prefix with its keys' values, an
/// error buffer's from the error prefix with its output type.
fn evaluate(plan: &Plan, b: &BufferState) -> Result<String, String> {
    let values = &b.values;
    let lookup = |part: &Part| match part {
        Part::PartitionKeyFromQuery(k) => values.get(&format!("q:{k}")).cloned(),
        Part::PartitionKeyFromLambda(k) => values.get(&format!("l:{k}")).cloned(),
        _ => None,
    };
    let mut random = prefix::random_string;
    let mut cx = Context {
        instant_ms: b.oldest_ms,
        zone: &plan.zone,
        error_output_type: b.error_type.as_deref(),
        partition_keys: &lookup,
        random: &mut random,
    };
    match (&b.error_type, &plan.error_prefix) {
        (None, _) => prefix::evaluate(&plan.prefix, &mut cx),
        (Some(_), Some(t)) => prefix::evaluate(t, &mut cx),
        (Some(_), None) => prefix::evaluate(&plan.prefix, &mut cx),
    }
}

/// A buffer's object key, and its id.
fn object_key(rt: &Runtime, plan: &Plan, b: &BufferState) -> (String, String) {
    let (suffix, id) = crate::worker::object_suffix(&rt.name, b.version, b.oldest_ms, &plan.zone);
    let prefix = evaluate(plan, b).unwrap_or_default();
    let key = match b.error_type {
        Some(_) => format!("{prefix}{suffix}"),
        None => format!("{prefix}{suffix}{}", plan.extension),
    };
    (key, id)
}

/// A record's partition key values: from the query on its JSON and from the function. Every
/// key the prefix names must have one.
pub(crate) fn partition_keys(
    plan: &Plan,
    data: &[u8],
    lambda: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, (String, String)> {
    let failed = |m: String| ("DynamicPartitioning.MetadataExtractionFailed".to_owned(), m);
    let mut values = BTreeMap::new();
    let mut found = HashMap::new();
    if let Some(q) = &plan.processing.metadata_query {
        let json: serde_json::Value =
            serde_json::from_slice(data).map_err(|e| failed(format!("The record is not JSON: {e}")))?;
        let out = q.run(&json).map_err(failed)?;
        let obj = out
            .as_object()
            .ok_or_else(|| failed("The MetadataExtractionQuery did not give an object.".into()))?;
        for (k, v) in obj {
            if let Some(t) = crate::jq::key_text(v) {
                found.insert(format!("q:{k}"), t);
            }
        }
    }
    for (k, v) in lambda.into_iter().flatten() {
        found.insert(format!("l:{k}"), v.clone());
    }
    for part in &plan.prefix.parts {
        let (tag, k) = match part {
            Part::PartitionKeyFromQuery(k) => ("q", k),
            Part::PartitionKeyFromLambda(k) => ("l", k),
            _ => continue,
        };
        let name = format!("{tag}:{k}");
        let v = found
            .get(&name)
            .ok_or_else(|| failed(format!("The partition key {k} has no value for the record.")))?;
        values.insert(name, v.clone());
    }
    Ok(values)
}

/// Runs a partitioned stream's worker until it is stopped.
pub(crate) async fn run(mut w: Worker) {
    let env = w.env.clone();
    let dir = w.dir.join("partitions");
    let loaded = {
        let env = env.clone();
        tokio::task::spawn_blocking(move || Buffers::load(&*env.disk, dir)).await
    };
    let mut bufs = match loaded {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            tracing::error!(error = %e, dir = %w.dir.display(), "a delivery stream's partitions cannot be read");
            return;
        }
        Err(_) => return,
    };
    let holds = w.holds.clone();
    holds.main.store(bufs.state.next, Ordering::SeqCst);
    let mut backoff = Duration::from_millis(500);
    while !w.stopped() {
        let rt = w.runtime();
        let (reader, handle, env2) = (w.reader.clone(), tokio::runtime::Handle::current(), env.clone());
        let step = tokio::task::spawn_blocking(move || {
            let r = step(&mut bufs, &rt, &env2, &reader, &handle);
            (bufs, r)
        })
        .await;
        let (b, r) = match step {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "a partitioned stream's worker failed; it stops until a restart");
                return;
            }
        };
        bufs = b;
        if r.is_err() {
            // What was not saved is processed again from the intake: nothing runs on the
            // unsaved state until the saved one is read again.
            let mut retry = Duration::from_millis(500);
            loop {
                let (env, dir) = (env.clone(), bufs.dir.clone());
                match tokio::task::spawn_blocking(move || Buffers::load(&*env.disk, dir)).await {
                    Ok(Ok(b)) => {
                        bufs = b;
                        break;
                    }
                    _ => tracing::error!("a partitioned stream's state cannot be read again; retrying"),
                }
                w.pause(retry).await;
                retry = (retry * 2).min(Duration::from_secs(30));
                if w.stopped() {
                    return;
                }
            }
        }
        holds.main.store(bufs.state.next, Ordering::SeqCst);
        holds.trim(&w.reader);
        match r {
            Ok(Step::More) => {
                backoff = Duration::from_millis(500);
                tokio::task::yield_now().await;
            }
            Ok(Step::Idle(next_due)) => {
                backoff = Duration::from_millis(500);
                let now = env.clock.now_ms();
                let left = next_due.map_or(3_600_000, |d| u64::try_from(d - now).unwrap_or(0));
                w.wait(Duration::from_millis(left.min(200))).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "delivering a partitioned stream's buffers failed; retrying");
                w.pause(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

enum Step {
    /// Records were processed: there may be more.
    More,
    /// Caught up; the next buffer is due then.
    Idle(Option<i64>),
}

fn step(
    bufs: &mut Buffers,
    rt: &Runtime,
    env: &crate::service::Env,
    reader: &rheo_log::LogReader,
    handle: &tokio::runtime::Handle,
) -> Result<Step, String> {
    let disk = &*env.disk;
    let e = |e: std::io::Error| e.to_string();
    if !bufs.state.flushing.is_empty() {
        // Objects planned before a crash or a failure: written first.
        bufs.flush(rt, env, &[], handle)?;
    }
    let more = bufs.process(rt, env, reader, handle).map_err(e)?;
    let due = bufs.due(env.clock.now_ms());
    // While records keep coming, due buffers are delivered together, a round at most every
    // FLUSH_EVERY: each round needs a commit, which syncs every partition's file.
    let deliver = !due.is_empty() && (!more || bufs.last_round.elapsed() >= FLUSH_EVERY);
    bufs.spill(disk).map_err(e)?;
    if deliver || !more || bufs.unsynced_bytes >= COMMIT_BYTES {
        bufs.commit(disk).map_err(e)?;
    }
    if deliver {
        bufs.flush(rt, env, &due, handle)?;
        bufs.last_round = std::time::Instant::now();
    }
    Ok(if more {
        Step::More
    } else {
        Step::Idle(bufs.next_due_ms())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rheo_log::Disk as _;
    use rheo_log::disk::SimDisk;
    use serde_json::json;
    use std::path::Path;

    fn runtime() -> Runtime {
        let spec = json!({"BucketARN": "arn:aws:s3:::b", "Prefix": "k=!{partitionKeyFromQuery:k}/",
            "ErrorOutputPrefix": "e/!{firehose:error-output-type}/",
            "DynamicPartitioningConfiguration": {"Enabled": true},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "MetadataExtraction",
                "Parameters": [{"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{k:.k}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]}});
        let spec = spec.as_object().unwrap().clone();
        Runtime {
            name: "s".into(),
            arn: "arn:aws:firehose:us-east-1:000000000000:deliverystream/s".into(),
            version: 1,
            incarnation: 1,
            source_arn: None,
            plan: crate::spec::plan(&spec).unwrap(),
            spec,
        }
    }

    fn sub(key: u64) -> Sub {
        Sub {
            key,
            sub: None,
            arrival_ms: 1_000,
            origin: bytes::Bytes::new(),
            data: bytes::Bytes::new(),
        }
    }

    fn committed(disk: &SimDisk, b: &Buffers, i: usize) -> Vec<u8> {
        let buf = &b.state.buffers[i];
        let all = rheo_log::disk::read_all(disk, &b.path(buf.n)).unwrap();
        all[..buf.len as usize].to_vec()
    }

    /// Only what a commit counted survives a power cut; what was written after it (whole or
    /// torn, in a buffer's file or in a buffer opened since) is not read, and the intake
    /// position goes back to the commit's, so those records are processed again.
    #[test]
    fn a_power_cut_keeps_what_was_committed_and_nothing_else() {
        let (disk, rt) = (SimDisk::default(), runtime());
        let dir = Path::new("/firehose/1/partitions");
        let mut b = Buffers::load(&disk, dir.into()).unwrap();
        assert_eq!(b.state.next, 1, "a new stream starts at the intake's first record");
        let values = |k: &str| BTreeMap::from([("q:k".to_owned(), k.to_owned())]);
        let a = b.buffer(&rt, values("a"), None, None, &sub(1)).unwrap();
        b.append(a, b"one\n");
        b.processed = 2;
        b.commit(&disk).unwrap();
        // Written but not committed: more for a, and a new buffer.
        b.append(a, b"two\n");
        let c = b.buffer(&rt, values("c"), None, None, &sub(2)).unwrap();
        b.append(c, b"three\n");
        b.processed = 4;
        b.spill(&disk).unwrap();
        for keep in [usize::MAX, 0] {
            disk.power_cut(|_, n| keep.min(n));
            let after = Buffers::load(&disk, dir.into()).unwrap();
            assert_eq!(after.state.next, 2);
            assert_eq!(after.state.buffers.len(), 1, "the buffer opened since is gone");
            assert_eq!(committed(&disk, &after, 0), b"one\n");
            assert!(
                disk.list(dir)
                    .unwrap()
                    .iter()
                    .all(|f| !f.ends_with(format!("p{}", b.state.seq - 1)))
            );
        }
        // Processing again appends past the committed length, over what was lost.
        let mut b = Buffers::load(&disk, dir.into()).unwrap();
        let a = b.buffer(&rt, values("a"), None, None, &sub(2)).unwrap();
        b.append(a, b"2\n");
        b.processed = 3;
        b.commit(&disk).unwrap();
        disk.power_cut(|_, _| 0);
        let mut b = Buffers::load(&disk, dir.into()).unwrap();
        assert_eq!((b.state.next, committed(&disk, &b, 0)), (3, b"one\n2\n".to_vec()));
        // A commit whose sync fails changes nothing: the state stays as saved (and the worker
        // reloads it).
        let a = b.buffer(&rt, values("a"), None, None, &sub(3)).unwrap();
        b.append(a, b"x\n");
        b.processed = 4;
        disk.fail(rheo_log::disk::Op::Sync, 1, 5);
        assert!(b.commit(&disk).is_err());
        assert_eq!((b.state.next, b.state.buffers[0].len), (3, 6));
        let mut b = Buffers::load(&disk, dir.into()).unwrap();
        assert_eq!((b.state.next, committed(&disk, &b, 0)), (3, b"one\n2\n".to_vec()));
        // A save renamed into place whose directory sync failed: the commit fails, and the
        // state loaded next (which the worker trims the intake by) survives a power cut.
        let a = b.buffer(&rt, values("a"), None, None, &sub(3)).unwrap();
        b.append(a, b"y\n");
        b.processed = 5;
        disk.fail(rheo_log::disk::Op::SyncDir, 1, 5);
        assert!(b.commit(&disk).is_err());
        let seen = Buffers::load(&disk, dir.into()).unwrap().state.next;
        disk.power_cut(|_, _| 0);
        assert_eq!(Buffers::load(&disk, dir.into()).unwrap().state.next, seen);
    }
}
