//! Opening (with recovery), appending, reading and trimming one shard's log.

use crate::disk::{Disk, DiskFile, read_full_at};
use crate::frame::{Decoded, NewRecord, ReadRecord, RecordRef, decode};
use crate::{INDEX_INTERVAL, LogError, MAX_BODY};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// When an append counts as done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// After the data is synced to the medium (the default): survives a power cut.
    #[default]
    Fsync,
    /// After the data is written to the operating system: survives a process crash, not a
    /// power cut.
    Relaxed,
}

#[derive(Clone, Copy, Debug)]
pub struct LogConfig {
    /// A segment is rolled once it holds this many bytes.
    pub segment_bytes: u64,
    pub durability: Durability,
    /// What recovery does with corruption outside the last segment's tail.
    pub on_corruption: OnCorruption,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 64 * 1024 * 1024,
            durability: Durability::Fsync,
            on_corruption: OnCorruption::Refuse,
        }
    }
}

/// What recovery does with a bad frame anywhere but the last segment's tail (which a crash
/// can tear, and which is truncated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnCorruption {
    /// Refuse to open the log, naming the file (the default): the segment held acknowledged
    /// records, and only an operator may decide to go on without them.
    #[default]
    Refuse,
    /// Move the segment aside (`NAME.log.corrupt`), logged at ERROR, and open without it.
    Quarantine,
}

#[derive(Clone, Copy, Debug)]
struct IndexEntry {
    key: u64,
    timestamp_ms: i64,
    pos: u64,
}

/// Picks the frames that get a sparse index entry: a segment's first, then the first after
/// every [`INDEX_INTERVAL`] bytes.
struct Sampler {
    /// Bytes since the last entry.
    since: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler { since: u64::MAX }
    }
}

impl Sampler {
    fn next(&mut self, key: u64, timestamp_ms: i64, pos: u64, len: usize) -> Option<IndexEntry> {
        let entry = (self.since >= INDEX_INTERVAL).then_some(IndexEntry { key, timestamp_ms, pos });
        if entry.is_some() {
            self.since = 0;
        }
        self.since += len as u64;
        entry
    }
}

struct Segment {
    base_key: u64,
    path: PathBuf,
    file: Arc<dyn DiskFile>,
    /// Committed bytes: readers never look past this.
    len: u64,
    index: Vec<IndexEntry>,
    last_timestamp_ms: Option<i64>,
}

/// What a reader needs to know about the end of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tail {
    pub first_key: Option<u64>,
    pub last_key: Option<u64>,
    pub last_timestamp_ms: Option<i64>,
}

#[derive(Default)]
struct State {
    segments: Vec<Segment>,
    tail: Tail,
}

struct Shared {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    state: RwLock<State>,
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
    fn io<T>(&self, path: &Path, r: std::io::Result<T>) -> Result<T, LogError> {
        r.map_err(|source| LogError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The one handle that appends. Not `Clone`: one writer per log.
pub struct LogWriter {
    shared: Arc<Shared>,
    config: LogConfig,
    buf: Vec<u8>,
    /// Set when an append failed and its bytes could not be cut off the segment: the next
    /// append first retries that (with back-off), so a full disk heals once space is freed.
    repair: Option<Repair>,
}

/// A segment to cut back to its committed length before the log takes appends again.
struct Repair {
    file: Arc<dyn DiskFile>,
    path: PathBuf,
    len: u64,
    not_before: std::time::Instant,
    backoff: std::time::Duration,
}

/// Longest wait between two repair attempts.
const MAX_REPAIR_BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);

/// A handle for reads and trimming; cheap to clone.
#[derive(Clone)]
pub struct LogReader {
    shared: Arc<Shared>,
}

fn segment_path(dir: &Path, base_key: u64) -> PathBuf {
    dir.join(format!("{base_key:020}.log"))
}

/// Opens the log in `dir`, creating it if needed, and recovers it (see the crate docs).
pub fn open(disk: Arc<dyn Disk>, dir: &Path, config: LogConfig) -> Result<(LogWriter, LogReader), LogError> {
    let shared = Arc::new(Shared {
        disk: disk.clone(),
        dir: dir.to_path_buf(),
        state: RwLock::default(),
    });
    shared.io(dir, disk.create_dir_all(dir))?;
    let mut state = State::default();
    let paths: Vec<(u64, PathBuf)> = shared
        .io(dir, disk.list(dir))?
        .into_iter()
        .filter_map(|p| Some((parse_segment_name(&p)?, p)))
        .collect();
    let count = paths.len();
    for (i, (base_key, path)) in paths.into_iter().enumerate() {
        // Only the last segment can have a torn tail in Fsync mode: a segment is rolled only
        // after everything in it was synced. In Relaxed mode any segment's unsynced tail may be
        // lost to a power cut, as that mode documents.
        let may_tear = i + 1 == count || config.durability == Durability::Relaxed;
        let file = shared.io(&path, disk.open(&path, false))?;
        if !may_tear && shared.io(&path, file.size())? == 0 {
            // An empty file never held a record: what a roll that failed after creating its
            // file leaves (an acknowledged record is synced, so never lost to emptiness).
            tracing::warn!(path = %path.display(), "removing an empty segment left by a failed roll");
            shared.io(&path, disk.remove_file(&path))?;
            continue;
        }
        let seg = match recover_segment(&shared, base_key, path.clone(), file, state.tail.last_key, may_tear)? {
            Recovered::Segment(seg) => seg,
            Recovered::Corrupt { offset, len } => {
                if config.on_corruption == OnCorruption::Refuse {
                    tracing::error!(path = %path.display(), offset, len, "a sealed segment is corrupt; refusing to open the log");
                    return Err(LogError::Corrupt { path, offset, len });
                }
                let mut aside = path.as_os_str().to_owned();
                aside.push(".corrupt");
                let aside = PathBuf::from(aside);
                shared.io(&path, disk.rename(&path, &aside))?;
                shared.io(dir, disk.sync_dir(dir))?;
                tracing::error!(path = %path.display(), moved_to = %aside.display(), offset, len, "a sealed segment is corrupt; moved aside, its records are no longer served");
                continue;
            }
        };
        let Some(first) = seg.index.first() else {
            // A segment created just before a crash, with nothing committed in it.
            shared.io(&seg.path, disk.remove_file(&seg.path))?;
            continue;
        };
        state.tail.first_key.get_or_insert(first.key);
        if let Some((k, t)) = scan_last(&seg)? {
            state.tail.last_key = Some(k);
            state.tail.last_timestamp_ms = Some(t);
        }
        state.segments.push(seg);
    }
    *shared.write() = state;
    let reader = LogReader { shared: shared.clone() };
    Ok((
        LogWriter {
            shared,
            config,
            buf: Vec::new(),
            repair: None,
        },
        reader,
    ))
}

fn parse_segment_name(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".log")?;
    if stem.len() != 20 {
        return None;
    }
    stem.parse().ok()
}

/// Bytes read from a segment at a time.
const SCAN_CHUNK: usize = 256 * 1024;

/// Calls `each` with every valid frame in `from..end` (with its position and length) until it
/// returns false; returns where the valid frames end.
fn scan(
    file: &dyn DiskFile,
    from: u64,
    end: u64,
    mut each: impl FnMut(RecordRef<'_>, u64, usize) -> bool,
) -> std::io::Result<u64> {
    let mut pos = from;
    // One buffer for the whole scan, grown only for a frame larger than it.
    let mut buf = vec![0u8; (SCAN_CHUNK as u64).min(end.saturating_sub(from)) as usize];
    while pos < end {
        let want = (buf.capacity() as u64).min(end - pos) as usize;
        buf.resize(want, 0);
        let n = read_full_at(file, &mut buf, pos)?;
        let mut off = 0usize;
        loop {
            match decode(&buf[off..n]) {
                Decoded::Frame(rec, len) => {
                    if !each(rec, pos + off as u64, len) {
                        return Ok(pos + off as u64);
                    }
                    off += len;
                }
                Decoded::Incomplete(needed) => {
                    if pos + (off + needed) as u64 > end {
                        return Ok(pos + off as u64);
                    }
                    if needed > buf.capacity() {
                        buf.reserve_exact(needed - buf.len());
                    }
                    break;
                }
                Decoded::Corrupt => return Ok(pos + off as u64),
            }
        }
        if off == 0 && n < want {
            return Ok(pos);
        }
        pos += off as u64;
    }
    Ok(pos)
}

enum Recovered {
    Segment(Segment),
    /// A bad frame at `offset` of a segment of `len` bytes that may not be truncated.
    Corrupt {
        offset: u64,
        len: u64,
    },
}

fn recover_segment(
    shared: &Shared,
    base_key: u64,
    path: PathBuf,
    file: Arc<dyn DiskFile>,
    mut last_key: Option<u64>,
    may_tear: bool,
) -> Result<Recovered, LogError> {
    let file_len = shared.io(&path, file.size())?;
    let mut index = Vec::new();
    let mut last_ts: Option<i64> = None;
    let mut sampler = Sampler::default();
    let valid_end = scan(&*file, 0, file_len, |rec, pos, len| {
        if last_key.is_some_and(|k| rec.key <= k) || rec.key < base_key || last_ts.is_some_and(|t| rec.timestamp_ms < t)
        {
            return false;
        }
        index.extend(sampler.next(rec.key, rec.timestamp_ms, pos, len));
        last_key = Some(rec.key);
        last_ts = Some(rec.timestamp_ms);
        true
    });
    let valid_end = shared.io(&path, valid_end)?;
    if !may_tear && (valid_end < file_len || index.is_empty()) {
        return Ok(Recovered::Corrupt {
            offset: valid_end,
            len: file_len,
        });
    }
    if valid_end < file_len {
        tracing::warn!(path = %path.display(), valid_end, file_len, "truncating the torn tail of the last segment (unacknowledged writes)");
        shared.io(&path, file.set_len(valid_end))?;
    }
    if may_tear {
        // What recovery keeps counts as committed from now on, so it must be on the medium:
        // bytes read back from the page cache (a write whose sync failed, then a restart) would
        // otherwise be torn by a later power cut, once later segments follow them.
        shared.io(&path, file.sync())?;
    }
    Ok(Recovered::Segment(Segment {
        base_key,
        path,
        file,
        len: valid_end,
        index,
        last_timestamp_ms: last_ts,
    }))
}

/// The last record's key and timestamp in a recovered segment.
fn scan_last(seg: &Segment) -> Result<Option<(u64, i64)>, LogError> {
    let Some(from) = seg.index.last() else { return Ok(None) };
    let mut last = None;
    let r = scan(&*seg.file, from.pos, seg.len, |rec, _, _| {
        last = Some((rec.key, rec.timestamp_ms));
        true
    });
    r.map_err(|source| LogError::Io {
        path: seg.path.clone(),
        source,
    })?;
    Ok(last)
}

impl LogWriter {
    /// Appends a batch and returns once it is committed (synced in Fsync mode). Keys must be
    /// strictly increasing and above every key already in the log.
    pub fn append(&mut self, records: &[NewRecord<'_>]) -> Result<(), LogError> {
        self.repair_if_needed()?;
        let Some(first) = records.first() else { return Ok(()) };
        let tail = self.shared.read().tail;
        let (mut last, mut last_ts) = (tail.last_key, tail.last_timestamp_ms);
        for r in records {
            if r.body_len() > MAX_BODY {
                return Err(LogError::TooLarge(r.body_len()));
            }
            if let Some(l) = last.filter(|&l| r.key <= l) {
                return Err(LogError::KeyOrder { key: r.key, last: l });
            }
            if let Some(t) = last_ts.filter(|&t| r.timestamp_ms < t) {
                return Err(LogError::TimeOrder {
                    timestamp_ms: r.timestamp_ms,
                    last: t,
                });
            }
            (last, last_ts) = (Some(r.key), Some(r.timestamp_ms));
        }
        self.roll_if_needed(first.key)?;
        self.write_batch(records)
    }

    /// Whether the log refuses appends until a failed one's bytes are cut off.
    pub fn needs_repair(&self) -> bool {
        self.repair.is_some()
    }

    /// Cuts a failed append's bytes off its segment, if that is pending; refuses (without
    /// touching the disk) while the back-off after a failed attempt runs.
    fn repair_if_needed(&mut self) -> Result<(), LogError> {
        let Some(r) = &mut self.repair else { return Ok(()) };
        let now = std::time::Instant::now();
        if now < r.not_before {
            return Err(LogError::Poisoned);
        }
        match r.file.set_len(r.len).and_then(|()| r.file.sync()) {
            Ok(()) => {
                tracing::info!(path = %r.path.display(), "a shard log recovered from a failed append");
                self.repair = None;
                Ok(())
            }
            Err(source) => {
                r.not_before = now + r.backoff;
                r.backoff = (r.backoff * 2).min(MAX_REPAIR_BACKOFF);
                Err(LogError::Io {
                    path: r.path.clone(),
                    source,
                })
            }
        }
    }

    /// After a failed write or sync: cut the segment back to `len`, durably, so the failed
    /// records cannot reappear (a later sync would otherwise make their bytes durable). If
    /// that fails too, the next append retries it first.
    fn cut_back(&mut self, file: Arc<dyn DiskFile>, path: PathBuf, len: u64) {
        if file.set_len(len).and_then(|()| file.sync()).is_ok() {
            return;
        }
        tracing::error!(path = %path.display(), len, "cutting a failed append off its segment failed; the shard refuses appends until it succeeds");
        self.repair = Some(Repair {
            file,
            path,
            len,
            not_before: std::time::Instant::now(),
            backoff: std::time::Duration::from_millis(100),
        });
    }

    fn roll_if_needed(&mut self, next_key: u64) -> Result<(), LogError> {
        let needs_segment = {
            let st = self.shared.read();
            st.segments.last().is_none_or(|s| s.len >= self.config.segment_bytes)
        };
        if !needs_segment {
            return Ok(());
        }
        let sh = &self.shared;
        let path = segment_path(&sh.dir, next_key);
        let file = sh.io(&path, sh.disk.open(&path, true))?;
        let made = file.set_len(0).and_then(|()| sh.disk.sync_dir(&sh.dir));
        if let Err(source) = made {
            // Best effort: an empty file left behind is swept by recovery anyway.
            let _ = sh.disk.remove_file(&path);
            return Err(LogError::Io { path, source });
        }
        let seg = Segment {
            base_key: next_key,
            path,
            file,
            len: 0,
            index: Vec::new(),
            last_timestamp_ms: None,
        };
        sh.write().segments.push(seg);
        Ok(())
    }

    fn write_batch(&mut self, records: &[NewRecord<'_>]) -> Result<(), LogError> {
        let (file, path, start, mut sampler) = {
            let st = self.shared.read();
            let seg = st.segments.last().ok_or(LogError::Poisoned)?;
            let sampler = Sampler {
                since: seg.index.last().map_or(u64::MAX, |e| seg.len - e.pos),
            };
            (seg.file.clone(), seg.path.clone(), seg.len, sampler)
        };
        self.buf.clear();
        let mut new_index = Vec::new();
        for r in records {
            let pos = start + self.buf.len() as u64;
            r.encode(&mut self.buf);
            let len = (start + self.buf.len() as u64 - pos) as usize;
            new_index.extend(sampler.next(r.key, r.timestamp_ms, pos, len));
        }
        let written = file.write_all_at(&self.buf, start);
        let synced = match written {
            Ok(()) if self.config.durability == Durability::Fsync => file.sync(),
            other => other,
        };
        if let Err(source) = synced {
            self.cut_back(file, path.clone(), start);
            return Err(LogError::Io { path, source });
        }
        let sh = &self.shared;
        let last = records[records.len() - 1];
        let mut st = sh.write();
        let tail = &mut st.tail;
        tail.first_key.get_or_insert(records[0].key);
        tail.last_key = Some(last.key);
        tail.last_timestamp_ms = Some(last.timestamp_ms);
        let seg = st.segments.last_mut().ok_or(LogError::Poisoned)?;
        seg.len = start + self.buf.len() as u64;
        seg.index.extend(new_index);
        seg.last_timestamp_ms = Some(last.timestamp_ms);
        if self.buf.capacity() > 16 * 1024 * 1024 {
            self.buf = Vec::new();
        }
        Ok(())
    }

    pub fn reader(&self) -> LogReader {
        LogReader {
            shared: self.shared.clone(),
        }
    }
}

/// What a read returns: records with key ≥ `from_key` and timestamp ≥ `min_timestamp_ms`, at
/// most `max_records` of them and, past the first one, at most `max_bytes` of data and keys.
#[derive(Clone, Copy, Debug)]
pub struct ReadLimits {
    pub from_key: u64,
    pub max_records: usize,
    pub max_bytes: usize,
    pub min_timestamp_ms: i64,
}

/// Where a read starts: a file and a position, and the committed end of each later segment.
type ReadPlan = Vec<(Arc<dyn DiskFile>, PathBuf, u64, u64)>;

impl LogReader {
    pub fn tail(&self) -> Tail {
        self.shared.read().tail
    }

    /// Records with key ≥ `from_key` and timestamp ≥ `min_timestamp_ms`, at most `max_records`
    /// of them and, past the first one, at most `max_bytes` of data and partition keys.
    pub fn read(
        &self,
        from_key: u64,
        max_records: usize,
        max_bytes: usize,
        min_timestamp_ms: i64,
    ) -> Result<Vec<ReadRecord>, LogError> {
        let mut out = Vec::new();
        let limits = ReadLimits {
            from_key,
            max_records,
            max_bytes,
            min_timestamp_ms,
        };
        self.read_each(limits, |rec| {
            out.push(rec.into());
            true
        })?;
        Ok(out)
    }

    /// Like [`LogReader::read`], but hands each record to `each` as the scan reaches it,
    /// borrowed from the read buffer (nothing is copied or collected). Stops early when `each`
    /// returns false. Returns the key and timestamp of the last record handed over.
    pub fn read_each(
        &self,
        limits: ReadLimits,
        mut each: impl FnMut(RecordRef<'_>) -> bool,
    ) -> Result<Option<(u64, i64)>, LogError> {
        let ReadLimits {
            from_key,
            max_records,
            max_bytes,
            min_timestamp_ms,
        } = limits;
        if self.tail().last_key.is_none_or(|last| from_key > last) {
            // At or past the end: nothing to scan.
            return Ok(None);
        }
        let seg = self.shared.read().segments.partition_point(|s| s.base_key <= from_key);
        let plan = self.plan(seg.saturating_sub(1), |e| e.key <= from_key);
        let (mut count, mut bytes, mut last) = (0usize, 0usize, None);
        let mut stopped = false;
        for (file, path, start, end) in plan {
            let r = scan(&*file, start, end, |rec, _, _| {
                if rec.key < from_key || rec.timestamp_ms < min_timestamp_ms {
                    return true;
                }
                let size = rec.data.len() + rec.partition_key.len();
                if count >= max_records || (count > 0 && bytes + size > max_bytes) {
                    stopped = true;
                    return false;
                }
                (count, bytes) = (count + 1, bytes + size);
                last = Some((rec.key, rec.timestamp_ms));
                if !each(rec) {
                    stopped = true;
                    return false;
                }
                true
            });
            r.map_err(|source| LogError::Io { path, source })?;
            if stopped {
                break;
            }
        }
        Ok(last)
    }

    /// The key of the first record whose timestamp is ≥ `timestamp_ms`.
    pub fn first_key_at_or_after(&self, timestamp_ms: i64) -> Result<Option<u64>, LogError> {
        let before = |s: &Segment| s.last_timestamp_ms.is_some_and(|t| t < timestamp_ms);
        let seg = self.shared.read().segments.partition_point(before);
        let plan = self.plan(seg, |e| e.timestamp_ms < timestamp_ms);
        for (file, path, start, end) in plan {
            let mut found = None;
            let r = scan(&*file, start, end, |rec, _, _| {
                if rec.timestamp_ms >= timestamp_ms {
                    found = Some(rec.key);
                    return false;
                }
                true
            });
            r.map_err(|source| LogError::Io { path, source })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The ranges to scan: from segment `first_seg` (at its last index entry for which
    /// `entry_before` holds) to the committed end of the log.
    fn plan(&self, first_seg: usize, entry_before: impl Fn(&IndexEntry) -> bool) -> ReadPlan {
        let st = self.shared.read();
        st.segments[first_seg.min(st.segments.len())..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let start = if i == 0 {
                    let at = s.index.partition_point(&entry_before);
                    at.checked_sub(1).map_or(0, |j| s.index[j].pos)
                } else {
                    0
                };
                (s.file.clone(), s.path.clone(), start, s.len)
            })
            .collect()
    }

    /// Deletes whole segments, except the last, whose newest record is older than `cutoff_ms`.
    /// Returns how many were deleted.
    pub fn trim_before(&self, cutoff_ms: i64) -> Result<usize, LogError> {
        self.remove_leading(|segments| {
            segments[..segments.len().saturating_sub(1)]
                .iter()
                .take_while(|s| s.last_timestamp_ms.is_none_or(|t| t < cutoff_ms))
                .count()
        })
    }

    /// Deletes the first `count(segments)` segments (never the last), then syncs the directory.
    fn remove_leading(&self, count: impl FnOnce(&[Segment]) -> usize) -> Result<usize, LogError> {
        let removed: Vec<Segment> = {
            let mut st = self.shared.write();
            let keep_from = count(&st.segments).min(st.segments.len().saturating_sub(1));
            let removed: Vec<Segment> = st.segments.drain(..keep_from).collect();
            st.tail.first_key = st.segments.iter().find_map(|s| s.index.first().map(|e| e.key));
            removed
        };
        let sh = &self.shared;
        for seg in &removed {
            sh.io(&seg.path, sh.disk.remove_file(&seg.path))?;
        }
        if !removed.is_empty() {
            sh.io(&sh.dir, sh.disk.sync_dir(&sh.dir))?;
        }
        Ok(removed.len())
    }

    /// Deletes whole segments, except the last, that hold only records with keys below `key`
    /// (their successor starts at or below it). Returns how many were deleted. A journal that
    /// copies what it still needs past `key` first uses this to drop its oldest segments.
    pub fn trim_below_key(&self, key: u64) -> Result<usize, LogError> {
        self.remove_leading(|segments| segments.windows(2).take_while(|pair| pair[1].base_key <= key).count())
    }

    /// The first key each segment may hold, oldest first.
    pub fn segment_bases(&self) -> Vec<u64> {
        self.shared.read().segments.iter().map(|s| s.base_key).collect()
    }

    pub fn segment_count(&self) -> usize {
        self.shared.read().segments.len()
    }
}
