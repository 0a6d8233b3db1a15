//! One delivery stream's worker: it reads the intake from the checkpoint, buffers until the
//! size or the interval of `BufferingHints` is reached (whichever first; the interval counts
//! from the oldest record's arrival), saves the object it is about to write (records and keys)
//! in the checkpoint, writes it (processed, compressed, created only if absent), then moves
//! the checkpoint past it and trims the intake. A crash repeats the saved object with the same
//! keys: a record is delivered once into Rheo's buckets, never twice.

use crate::catalog::{Checkpoint, Pending};
use crate::compress::Encoder;
use crate::prefix::{self, Context, Part};
use crate::spec::Plan;
use crate::transform::{self, InRecord, Outcome};

use rheo_log::{LogReader, ReadRecord};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// What a worker reads of its stream's definition (replaced by UpdateDestination).
#[derive(Debug, Clone)]
pub struct Runtime {
    pub name: String,
    pub arn: String,
    pub version: u64,
    pub incarnation: u64,
    /// The Kinesis stream read into the intake, if any.
    pub source_arn: Option<String>,
    /// The destination as set (saved with each planned object), and its plan.
    pub spec: crate::spec::Spec,
    pub plan: Plan,
}

pub(crate) struct Worker {
    pub runtime: Arc<Mutex<Arc<Runtime>>>,
    pub reader: LogReader,
    pub committed: watch::Receiver<u64>,
    pub stop: watch::Receiver<bool>,
    pub dir: std::path::PathBuf,
    pub env: Arc<crate::service::Env>,
    /// What each reader of the intake still needs: the intake is trimmed below the least.
    pub holds: Arc<Holds>,
    /// Whether this worker writes the source-record backup (S3BackupMode Enabled).
    pub backup: bool,
}

/// The intake's readers' positions. The intake is trimmed only below all of them.
#[derive(Debug)]
pub(crate) struct Holds {
    /// The intake key a source's saved checkpoint covers (`u64::MAX` without a source), so a
    /// source can recover its positions from the frames.
    pub source_saved: Arc<AtomicU64>,
    /// The delivery's next record.
    pub main: AtomicU64,
    /// The backup's next record (`u64::MAX` without a backup).
    pub backup: AtomicU64,
    /// Held while trimming and while a backup starts, so that no trim uses a floor read
    /// before the backup's hold was set.
    pub lock: Mutex<()>,
}

impl Holds {
    pub fn new(source_saved: Arc<AtomicU64>, backup: bool) -> Holds {
        Holds {
            source_saved,
            main: AtomicU64::new(0),
            backup: AtomicU64::new(if backup { 0 } else { u64::MAX }),
            lock: Mutex::new(()),
        }
    }

    /// Trims the intake below every reader's position.
    pub fn trim(&self, reader: &LogReader) {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let _ = reader.trim_below_key(self.floor());
    }

    fn floor(&self) -> u64 {
        let source = self.source_saved.load(Ordering::SeqCst).saturating_add(1);
        source
            .min(self.main.load(Ordering::SeqCst))
            .min(self.backup.load(Ordering::SeqCst))
    }
}

/// The records buffered for the next object.
#[derive(Debug, Default)]
struct Buffer {
    last: Option<u64>,
    bytes: u64,
    /// When the first record reached the intake (the interval counts from it).
    first_ms: Option<i64>,
    /// The oldest record's arrival (the object's name).
    oldest_ms: Option<i64>,
    full: bool,
}

/// A record's id: its stream's incarnation and its key in the intake.
pub fn record_id(incarnation: u64, key: u64) -> String {
    format!(
        "{incarnation:016x}{key:016x}{:032x}",
        u128::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

impl Worker {
    pub(crate) fn runtime(&self) -> Arc<Runtime> {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asked to stop, or its stream is gone (the sender dropped).
    pub(crate) fn stopped(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }

    pub async fn run(mut self) {
        if self.runtime().plan.dynamic && !self.backup {
            // Dynamic partitioning is set at creation: a buffer per partition.
            return crate::partitions::run(self).await;
        }
        let disk = self.env.disk.clone();
        let mut cp = match Checkpoint::load(&*disk, &self.dir) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, dir = %self.dir.display(), "a delivery stream's checkpoint cannot be read");
                return;
            }
        };
        let holds = self.holds.clone();
        let slot = if self.backup { &holds.backup } else { &holds.main };
        slot.store(cp.next, Ordering::SeqCst);
        let mut buf = Buffer::default();
        let mut backoff = Duration::from_millis(500);
        while !self.stopped() {
            if let Some(p) = cp.pending.clone() {
                // The next buffer is read while this object is written (it starts past it).
                let rt = self.runtime();
                let mut ahead = Buffer::default();
                let (delivered, ()) = tokio::join!(self.deliver(&p), self.fill(&mut ahead, p.to + 1, &rt));
                match delivered {
                    Ok(()) => {
                        let next = Checkpoint {
                            next: p.to + 1,
                            pending: None,
                        };
                        if let Err(e) = self.save(&next).await {
                            tracing::error!(error = %e, "a delivery stream's checkpoint cannot be saved");
                            self.pause(backoff).await;
                            continue;
                        }
                        cp = next;
                        // Cleared again before the next object is planned, if this fails.
                        let _ = crate::stage::Stage::clear(&*disk, &self.dir);
                        buf = ahead;
                        backoff = Duration::from_millis(500);
                        slot.store(cp.next, Ordering::SeqCst);
                        holds.trim(&self.reader);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, key = %p.key, "delivering an object failed; retrying");
                        self.pause(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
                continue;
            }
            let rt = self.runtime();
            self.fill(&mut buf, cp.next, &rt).await;
            let (Some(first), Some(oldest)) = (buf.first_ms, buf.oldest_ms) else {
                self.wait(Duration::from_secs(3600)).await;
                continue;
            };
            let now = self.env.clock.now_ms();
            let due = first + rt.plan.interval_ms;
            if buf.full || now >= due {
                let Some(to) = buf.last else { continue };
                let p = pending(&rt, cp.next, to, oldest);
                // A stage left by the object before belongs to no object now.
                if let Err(e) = crate::stage::Stage::clear(&*disk, &self.dir) {
                    tracing::error!(error = %e, "a delivery stream's stage cannot be cleared");
                    self.pause(backoff).await;
                    continue;
                }
                let next = Checkpoint {
                    next: cp.next,
                    pending: Some(p),
                };
                match self.save(&next).await {
                    Ok(()) => cp = next,
                    Err(e) => {
                        tracing::error!(error = %e, "a delivery stream's checkpoint cannot be saved");
                        self.pause(backoff).await;
                    }
                }
                continue;
            }
            // Woken by new records, by the interval, or (with a clock tests move) soon.
            let left = u64::try_from(due - now).unwrap_or(0);
            self.wait(Duration::from_millis(left.min(200))).await;
        }
    }

    async fn save(&self, cp: &Checkpoint) -> std::io::Result<()> {
        let (disk, dir, cp) = (self.env.disk.clone(), self.dir.clone(), cp.clone());
        tokio::task::spawn_blocking(move || cp.save(&*disk, &dir))
            .await
            .map_err(std::io::Error::other)?
    }

    pub(crate) async fn pause(&mut self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.stop.changed() => {}
        }
    }

    pub(crate) async fn wait(&mut self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.committed.changed() => {}
            _ = self.stop.changed() => {}
        }
    }

    /// Adds the records after the buffer's last to it, up to the size limit.
    async fn fill(&self, buf: &mut Buffer, next: u64, rt: &Runtime) {
        if buf.full {
            return;
        }
        let from = buf.last.map_or(next, |l| l + 1);
        let (reader, size) = (self.reader.clone(), rt.plan.size_bytes);
        let mut b = std::mem::take(buf);
        let r = tokio::task::spawn_blocking(move || {
            let limits = rheo_log::ReadLimits {
                from_key: from,
                max_records: usize::MAX,
                max_bytes: usize::MAX,
                min_timestamp_ms: i64::MIN,
            };
            let r = reader.read_each(limits, |rec| {
                let len = rec.data.len() as u64;
                if b.last.is_some() && b.bytes + len > size {
                    b.full = true;
                    return false;
                }
                b.bytes += len;
                b.last = Some(rec.key);
                // The interval runs from the oldest record's arrival in the intake; a Kinesis
                // record's own arrival names the object (as on AWS). The two differ: a child
                // shard's arrival times can run ahead of the clock (see rheo-engine's sequence
                // numbers), and a backlog's lag behind it.
                b.first_ms.get_or_insert(rec.timestamp_ms);
                let arrival = crate::source::Origin::arrival(rec.partition_key, rec.timestamp_ms);
                b.oldest_ms = Some(b.oldest_ms.map_or(arrival, |o| o.min(arrival)));
                if b.bytes >= size {
                    b.full = true;
                    return false;
                }
                true
            });
            if let Err(e) = r {
                tracing::error!(error = %e, "reading a delivery stream's intake failed");
            }
            b
        })
        .await;
        if let Ok(b) = r {
            *buf = b;
        }
    }

    /// Writes a pending object (and its failed records' object), each created only if absent.
    async fn deliver(&self, p: &Pending) -> Result<(), String> {
        let rt = self.runtime();
        let (reader, env, p) = (self.reader.clone(), self.env.clone(), p.clone());
        let handle = tokio::runtime::Handle::current();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_pending(&rt, &reader, &env, &dir, &p, &handle))
            .await
            .map_err(|e| e.to_string())?
    }
}

/// The keys of the object that will hold `from..=to`.
fn pending(rt: &Runtime, from: u64, to: u64, oldest_ms: i64) -> Pending {
    let plan = &rt.plan;
    let no_keys = |_: &Part| None;
    let (suffix, id) = object_suffix(&rt.name, rt.version, oldest_ms, &plan.zone);

    let mut random = prefix::random_string;
    let mut cx = Context {
        instant_ms: oldest_ms,
        zone: &plan.zone,
        error_output_type: None,
        partition_keys: &no_keys,
        random: &mut random,
    };
    // The plan was checked: a prefix that fails here has partition keys, and dynamic
    // partitioning has its own buffers (`partitions`).
    let main = prefix::evaluate(&plan.prefix, &mut cx).unwrap_or_default();
    cx.error_output_type = Some(if plan.http.is_some() {
        crate::http::FAILED
    } else {
        "processing-failed"
    });
    let error_key = |cx: &mut Context<'_>| {
        match &plan.error_prefix {
            Some(t) => prefix::evaluate(t, cx),
            None => prefix::evaluate(&plan.prefix, cx),
        }
        .unwrap_or_default()
    };
    let error = error_key(&mut cx);
    let conversion_error_key = plan.conversion.as_ref().map(|_| {
        cx.error_output_type = Some("format-conversion-failed");
        format!("{}{suffix}", error_key(&mut cx))
    });
    if let Some(ch) = &plan.channel {
        return Pending {
            from,
            to,
            oldest_ms,
            key: ch.key(oldest_ms, &plan.extension, &id),
            error_key: format!("{}{}-{id}", ch.dlq_prefix, ch.name),
            id,
            spec: Some(rt.spec.clone()),
            suffix,
            conversion_error_key: None,
        };
    }
    Pending {
        from,
        to,
        oldest_ms,
        key: format!("{main}{suffix}{}", plan.extension),
        error_key: format!("{error}{suffix}"),
        id,
        spec: Some(rt.spec.clone()),
        suffix,
        conversion_error_key,
    }
}

/// What follows an object's prefix: `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` (the
/// time its oldest record arrived), and the uuid.
pub(crate) fn object_suffix(name: &str, version: u64, oldest_ms: i64, zone: &jiff::tz::TimeZone) -> (String, String) {
    let id = uuid();
    let time = prefix::format_time(
        &[
            prefix::Field::Letter('y', 4),
            prefix::Field::Literal("-".into()),
            prefix::Field::Letter('M', 2),
            prefix::Field::Literal("-".into()),
            prefix::Field::Letter('d', 2),
            prefix::Field::Literal("-".into()),
            prefix::Field::Letter('H', 2),
            prefix::Field::Literal("-".into()),
            prefix::Field::Letter('m', 2),
            prefix::Field::Literal("-".into()),
            prefix::Field::Letter('s', 2),
        ],
        oldest_ms,
        zone,
    );
    (format!("{name}-{version}-{time}-{id}"), id)
}

fn uuid() -> String {
    let a = fastrand::u128(..);
    let a = (a & !(0xf << 76)) | (0x4 << 76);
    let a = (a & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{a:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Reads `from..=to` from the intake, a chunk at a time.
pub(crate) fn read_range(
    reader: &LogReader,
    from: u64,
    to: u64,
    max_bytes: usize,
    mut each: impl FnMut(Vec<ReadRecord>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut at = from;
    while at <= to {
        let mut recs = reader
            .read(at, usize::MAX, max_bytes, i64::MIN)
            .map_err(std::io::Error::other)?;
        recs.retain(|r| r.key <= to);
        let Some(last) = recs.last().map(|r| r.key) else {
            return Err(std::io::Error::other("records to deliver are missing from the intake"));
        };
        at = last + 1;
        each(recs)?;
    }
    Ok(())
}

/// Writes a pending object (and its failed records' object), each created only if absent,
/// with the settings it was planned under.
fn write_pending(
    rt: &Runtime,
    reader: &LogReader,
    env: &crate::service::Env,
    dir: &Path,
    p: &Pending,
    handle: &tokio::runtime::Handle,
) -> Result<(), String> {
    let plan = match &p.spec {
        Some(spec) => crate::spec::plan(spec)?,
        None => rt.plan.clone(),
    };
    if let Some(http) = &plan.http {
        return deliver_http(rt, &plan, http, env, reader, p, handle);
    }
    let staged = plan.processing.lambda.is_some()
        || plan.processing.deaggregation.is_some()
        || plan.conversion.is_some()
        || plan.channel.as_ref().is_some_and(|c| c.lines());
    if !staged {
        // The bytes are a function of the records: written straight through.
        let encoding = plan.compression.content_encoding();
        let mut fill = |w: &mut dyn Write| encode(&plan, reader, p, w);
        env.buckets.write(&plan.bucket, &p.key, encoding, &mut fill)?;
        return Ok(());
    }
    // A function's answers may differ on a retry, and partitions make several objects: the
    // records are processed once into a durable stage, and the objects written from it.
    let stage = crate::stage::Stage {
        disk: &*env.disk,
        dir: dir.to_path_buf(),
    };
    if !stage.done(&p.id).map_err(|e| e.to_string())? {
        crate::stage::Stage::clear(&*env.disk, dir).map_err(|e| e.to_string())?;
        stage.fill(rt, &plan, env, reader, p, handle)?;
    }
    stage.deliver(&plan, env, p)
}

/// Sends `p`'s records (processed) to an HTTP endpoint as one request; what it does not take
/// goes to the bucket under the error prefix, and with `AllData` every record goes there too.
fn deliver_http(
    rt: &Runtime,
    plan: &Plan,
    http: &crate::http::HttpPlan,
    env: &crate::service::Env,
    reader: &LogReader,
    p: &Pending,
    handle: &tokio::runtime::Handle,
) -> Result<(), String> {
    let mut records: Vec<(i64, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut failed_lines = Vec::new();
    let chunk = plan.processing.lambda.as_ref().map_or(1 << 20, |l| l.buffer_bytes);
    read_range(reader, p.from, p.to, chunk, |recs| {
        let subs = crate::stage::deaggregate(&recs, None);
        for (sub, outcome) in subs.iter().zip(process(rt, plan, env, &subs, handle)) {
            match outcome {
                Outcome::Ok { data, .. } => records.push((sub.arrival_ms, sub.data.to_vec(), data)),
                Outcome::Dropped => {}
                Outcome::Failed {
                    code,
                    message,
                    attempts,
                } => failed_lines.extend(crate::stage::error_line(plan, env, sub, &code, &message, attempts)),
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    if !records.is_empty() {
        let datas: Vec<Vec<u8>> = records.iter().map(|r| r.2.clone()).collect();
        let body = crate::http::body(&p.id, env.clock.now_ms(), &datas, http.gzip).map_err(|e| e.to_string())?;
        let (answer, attempts) = handle.block_on(crate::http::send(http, &rt.arn, &p.id, &body));
        let failure = match answer {
            crate::http::Answer::Taken => None,
            crate::http::Answer::Failed { code, message } => Some((code, message)),
            crate::http::Answer::TooLarge(m) => Some(("HttpEndpoint.PayloadTooLarge".to_owned(), m)),
        };
        if let Some((code, message)) = failure {
            let b64 = &base64::engine::general_purpose::STANDARD;
            for (arrival, raw, _) in &records {
                let mut line = serde_json::json!({
                    "attemptsMade": attempts,
                    "arrivalTimestamp": arrival,
                    "errorCode": code,
                    "errorMessage": message,
                    "attemptEndingTimestamp": env.clock.now_ms(),
                    "rawData": base64::Engine::encode(b64, raw),
                    "subsequenceNumber": 0,
                    "dataId": p.id,
                })
                .to_string()
                .into_bytes();
                line.push(b'\n');
                failed_lines.extend(line);
            }
        }
        if http.all_data {
            let mut fill = |w: &mut dyn Write| {
                let mut enc = Encoder::new(plan.compression, w, &p.id)?;
                for (_, _, data) in &records {
                    enc.write_all(data)?;
                }
                enc.finish()?;
                Ok(true)
            };
            env.buckets
                .write(&plan.bucket, &p.key, plan.compression.content_encoding(), &mut fill)?;
        }
    }
    if !failed_lines.is_empty() {
        let mut fill = |w: &mut dyn Write| w.write_all(&failed_lines).map(|()| true);
        env.buckets.write(&plan.bucket, &p.error_key, None, &mut fill)?;
    }
    Ok(())
}

/// Writes `p`'s records straight into `main` (compressed): no function, no partitions.
fn encode(plan: &Plan, reader: &LogReader, p: &Pending, main: &mut dyn Write) -> std::io::Result<bool> {
    let entry = if p.id.is_empty() { uuid() } else { p.id.clone() };
    // Records are small writes: gathered into 1 MiB ones.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, main);
    let mut enc = Encoder::new(plan.compression, &mut buffered, &entry)?;
    let mut wrote = false;
    read_range(reader, p.from, p.to, 1 << 20, |recs| {
        for r in &recs {
            enc.write_all(&r.data)?;
            if plan.processing.append_delimiter {
                enc.write_all(b"\n")?;
            }
            wrote = true;
        }
        Ok(())
    })?;
    enc.finish()?;
    buffered.flush()?;
    Ok(wrote)
}

/// A record as processing sees it: a record of the intake, or one of the records it held.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub key: u64,
    /// Its place in its record, when de-aggregated.
    pub sub: Option<u32>,
    pub arrival_ms: i64,
    /// The intake frame's origin field (a Kinesis source's position).
    pub origin: bytes::Bytes,
    pub data: bytes::Bytes,
}

/// Each record's outcome: itself, or what the transformation function made of it.
pub(crate) fn process(
    rt: &Runtime,
    plan: &Plan,
    env: &crate::service::Env,
    recs: &[Sub],
    handle: &tokio::runtime::Handle,
) -> Vec<Outcome> {
    let Some(l) = &plan.processing.lambda else {
        return recs
            .iter()
            .map(|r| Outcome::Ok {
                data: r.data.to_vec(),
                keys: None,
            })
            .collect();
    };
    let ids: Vec<String> = recs
        .iter()
        .map(|r| match r.sub {
            None => record_id(rt.incarnation, r.key),
            Some(i) => format!("{}{i:06}", record_id(rt.incarnation, r.key)),
        })
        .collect();
    let input: Vec<InRecord<'_>> = recs
        .iter()
        .zip(&ids)
        .map(|(r, id)| InRecord {
            record_id: id,
            arrival_ms: r.arrival_ms,
            data: &r.data,
            kinesis: crate::source::Origin::decode(&r.origin).map(|o| transform::KinesisMeta {
                shard_id: rheo_types::ShardId(o.shard).to_string(),
                subsequence: o.subsequence,
                partition_key: o.partition_key,
                sequence_number: o.sequence_number,
                arrival_ms: o.arrival_ms,
            }),
        })
        .collect();
    let event = transform::event(&uuid(), &rt.arn, rt.source_arn.as_deref(), &env.region, &input);
    let mut last = String::new();
    for attempt in 0..=l.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt.min(10))));
        }
        match handle.block_on(env.functions.invoke(&l.arn, event.clone())) {
            Ok(answer) => {
                let mut out = transform::outcomes(&input, &answer);
                for o in &mut out {
                    if let Outcome::Failed { attempts, .. } = o {
                        *attempts = attempt + 1;
                    }
                }
                return out;
            }
            Err(e) => last = e,
        }
    }
    input
        .iter()
        .map(|_| Outcome::Failed {
            code: "Lambda.FunctionError".into(),
            message: format!("The Lambda function could not process the records: {last}"),
            attempts: l.retries + 1,
        })
        .collect()
}
