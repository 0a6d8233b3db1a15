//! The staged path of an object's delivery, taken when its bytes are not a function of its
//! records alone: a transformation function answers differently on a retry, a conversion reads a
//! catalog table that may change, a channel checks its records. The records are processed once,
//! in order (de-aggregated, transformed, checked, converted) into the object's file or the failed
//! records' files; a marker says the stage is whole (everything synced). The objects are then
//! written from the stage, compressed as they are copied, each created only if absent; a retry
//! after a crash writes them again from the same stage, so each record is in exactly one object.
//! (Dynamic partitioning keeps a buffer per partition instead: `partitions`.)
//!
//! Files in the stream's directory: `stage.data` (the object's bytes before compression; rows
//! with a conversion, see `convert`), `stage.parquet` (the rows as Parquet), `stage.errors` and
//! `stage.conversion-errors` (AWS's error records, one JSON document per line), `stage.done`
//! (`2:<the object's id>`). They are removed when the checkpoint moves past the object, and before
//! the next object is planned.

use crate::catalog::Pending;
use crate::compress::Encoder;
use crate::spec::{Deaggregation, Plan};
use crate::transform::{ErrorRecord, Outcome};
use crate::worker::{Runtime, Sub};
use rheo_log::{Disk, LogReader};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Most records one record is split into (AWS's RecordDeAggregation cap).
const MAX_SUB_RECORDS: usize = 500;

const DATA: &str = "stage.data";
/// The data's rows as Parquet (DataFormatConversion).
const PARQUET: &str = "stage.parquet";
const ERRORS: &str = "stage.errors";
/// Records format conversion failed (DataFormatConversion), to their own error prefix.
const CONVERSION_ERRORS: &str = "stage.conversion-errors";
const DONE: &str = "stage.done";

/// Writes into a disk file from its start, opening it for each (buffered) write, so that 500
/// partitions do not hold 500 descriptors.
pub(crate) struct FileWriter<'a> {
    disk: &'a dyn Disk,
    path: PathBuf,
    at: u64,
}

impl<'a> FileWriter<'a> {
    pub fn new(disk: &'a dyn Disk, path: PathBuf) -> FileWriter<'a> {
        FileWriter { disk, path, at: 0 }
    }
}

impl Write for FileWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.disk.open(&self.path, false)?.write_all_at(buf, self.at)?;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a disk file from its start.
pub(crate) struct FileReader {
    file: std::sync::Arc<dyn rheo_log::disk::DiskFile>,
    at: u64,
}

impl FileReader {
    pub fn new(file: std::sync::Arc<dyn rheo_log::disk::DiskFile>) -> FileReader {
        FileReader { file, at: 0 }
    }
}

impl std::io::Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

pub(crate) struct Stage<'a> {
    pub disk: &'a dyn Disk,
    pub dir: PathBuf,
}

impl<'a> Stage<'a> {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether the stage holds `id`'s object whole (its marker names the object).
    pub fn done(&self, id: &str) -> std::io::Result<bool> {
        match rheo_log::disk::read_all(self.disk, &self.path(DONE)) {
            Ok(marker) => Ok(marker == done_marker(id).as_bytes()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn create(&self, name: &str) -> std::io::Result<std::io::BufWriter<FileWriter<'a>>> {
        let path = self.path(name);
        self.disk.open(&path, true)?.set_len(0)?;
        let w = FileWriter {
            disk: self.disk,
            path,
            at: 0,
        };
        Ok(std::io::BufWriter::with_capacity(16 * 1024, w))
    }

    fn len(&self, name: &str) -> std::io::Result<u64> {
        match self.disk.open(&self.path(name), false) {
            Ok(f) => f.size(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Reads a staged file from its start.
    fn reader(&self, name: &str) -> std::io::Result<FileReader> {
        Ok(FileReader::new(self.disk.open(&self.path(name), false)?))
    }

    /// Copies a staged file into `w`.
    pub fn copy(&self, name: &str, w: &mut dyn Write) -> std::io::Result<()> {
        let file = self.disk.open(&self.path(name), false)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        loop {
            let n = rheo_log::disk::read_full_at(&*file, &mut buf, at)?;
            if n == 0 {
                return Ok(());
            }
            w.write_all(&buf[..n])?;
            at += n as u64;
        }
    }

    /// Removes every staged file (the object they held is delivered, or a new one is planned).
    pub fn clear(disk: &dyn Disk, dir: &Path) -> std::io::Result<()> {
        let files = match disk.list(dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut removed = false;
        for f in files {
            if f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("stage.")) {
                match disk.remove_file(&f) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => removed = true,
                }
            }
        }
        if removed {
            disk.sync_dir(dir)?;
        }
        Ok(())
    }

    /// Processes `p`'s records into the stage, and marks it whole.
    pub fn fill(
        &self,
        rt: &Runtime,
        plan: &Plan,
        env: &crate::service::Env,
        reader: &LogReader,
        p: &Pending,
        handle: &tokio::runtime::Handle,
    ) -> Result<(), String> {
        // The table is read once per object: its rows all have its columns.
        let conversion = plan
            .conversion
            .as_ref()
            .map(|c| (c, crate::convert::columns_of(&env.glue, &c.table)));
        let run = || -> std::io::Result<()> {
            let mut data_file = self.create(DATA)?;
            let mut errors = self.create(ERRORS)?;
            let mut conversion_errors = self.create(CONVERSION_ERRORS)?;
            let chunk = plan.processing.lambda.as_ref().map_or(1 << 20, |l| l.buffer_bytes);
            crate::worker::read_range(reader, p.from, p.to, chunk, |recs| {
                let subs = deaggregate(&recs, plan.processing.deaggregation.as_ref());
                for (sub, outcome) in subs.iter().zip(crate::worker::process(rt, plan, env, &subs, handle)) {
                    let (code, message, attempts) = match outcome {
                        Outcome::Ok { data, .. } => {
                            if let Some((code, message)) = plan.channel.as_ref().and_then(|c| c.invalid(&data)) {
                                (code.to_owned(), message, 1)
                            } else if let Some((c, columns)) = &conversion {
                                let rows = columns
                                    .as_ref()
                                    .map_err(Clone::clone)
                                    .and_then(|cols| c.rows(cols, &data));
                                match rows {
                                    Ok(rows) => {
                                        for row in rows {
                                            serde_json::to_writer(&mut data_file, &row)?;
                                            data_file.write_all(b"\n")?;
                                        }
                                    }
                                    Err(e) => conversion_errors
                                        .write_all(&conversion_error_line(rt, c, env, sub, &data, &e))?,
                                }
                                continue;
                            } else {
                                data_file.write_all(&data)?;
                                let line = plan.channel.as_ref().is_some_and(|c| c.lines()) && !data.ends_with(b"\n");
                                if plan.processing.append_delimiter || line {
                                    data_file.write_all(b"\n")?;
                                }
                                continue;
                            }
                        }
                        Outcome::Dropped => continue,
                        Outcome::Failed {
                            code,
                            message,
                            attempts,
                        } => (code, message, attempts),
                    };
                    match &plan.channel {
                        Some(ch) => errors.write_all(&channel_error(rt, ch, sub, &code, &message))?,
                        None => errors.write_all(&error_line(plan, env, sub, &code, &message, attempts))?,
                    }
                }
                Ok(())
            })?;
            let mut files = Vec::new();
            for w in [data_file, errors, conversion_errors] {
                files.push(w.into_inner().map_err(|e| e.into_error())?.path);
            }
            if let Some((c, Ok(columns))) = &conversion
                && self.len(DATA)? > 0
            {
                // The rows become the object's Parquet file (none without rows).
                let rows = std::io::BufReader::with_capacity(1 << 20, self.reader(DATA)?);
                let mut out = self.create(PARQUET)?;
                crate::convert::write_parquet(columns, &c.parquet, rows, &mut out)?;
                files.push(out.into_inner().map_err(|e| e.into_error())?.path);
            }
            for f in &files {
                self.disk.open(f, false)?.sync()?;
            }
            rheo_log::disk::replace_file(self.disk, &self.path(DONE), done_marker(&p.id).as_bytes())
        };
        run().map_err(|e| format!("staging an object failed: {e}"))
    }

    /// Writes the staged object (compressed as it is copied), then the failed records.
    pub fn deliver(&self, plan: &Plan, env: &crate::service::Env, p: &Pending) -> Result<(), String> {
        // A conversion's compression is UNCOMPRESSED: its Parquet file is copied as it is.
        let file = if plan.conversion.is_some() { PARQUET } else { DATA };
        if self.len(file).map_err(|e| e.to_string())? > 0 {
            let mut fill = |w: &mut dyn Write| -> std::io::Result<bool> {
                let mut enc = Encoder::new(plan.compression, w, &p.id)?;
                self.copy(file, &mut enc)?;
                enc.finish()?;
                Ok(true)
            };
            env.buckets
                .write(&plan.bucket, &p.key, plan.compression.content_encoding(), &mut fill)?;
        }
        if self.len(ERRORS).map_err(|e| e.to_string())? > 0 {
            let bucket = plan.channel.as_ref().map_or(&plan.bucket, |c| &c.dlq_bucket);
            let mut fill = |w: &mut dyn Write| self.copy(ERRORS, w).map(|()| true);
            env.buckets.write(bucket, &p.error_key, None, &mut fill)?;
        }
        if self.len(CONVERSION_ERRORS).map_err(|e| e.to_string())? > 0 {
            let key = p.conversion_error_key.as_ref().unwrap_or(&p.error_key);
            let mut fill = |w: &mut dyn Write| self.copy(CONVERSION_ERRORS, w).map(|()| true);
            env.buckets.write(&plan.bucket, key, None, &mut fill)?;
        }
        Ok(())
    }
}

/// The marker of a whole stage: the object's id, in this stage's format (an older Rheo's
/// stage, in another layout, is made again).
fn done_marker(id: &str) -> String {
    format!("2:{id}")
}

/// A failed record as AWS's error record (one JSON line).
pub(crate) fn error_line(
    plan: &Plan,
    env: &crate::service::Env,
    sub: &Sub,
    code: &str,
    message: &str,
    attempts: u32,
) -> Vec<u8> {
    ErrorRecord {
        attempts_made: attempts,
        arrival_ms: sub.arrival_ms,
        code,
        message,
        ending_ms: env.clock.now_ms(),
        raw: &sub.data,
        lambda_arn: plan.processing.lambda.as_ref().map_or("", |l| l.arn.as_str()),
    }
    .to_line()
}

/// A record format conversion failed on, as AWS's `format-conversion-failed` record.
pub(crate) fn conversion_error_line(
    rt: &Runtime,
    c: &crate::convert::Conversion,
    env: &crate::service::Env,
    sub: &Sub,
    data: &[u8],
    e: &crate::convert::RowError,
) -> Vec<u8> {
    use base64::Engine as _;
    let account = rt.arn.split(':').nth(4).unwrap_or_default();
    let region = c.table.region.as_deref().unwrap_or(&env.region);
    let catalog = c.table.catalog_id.as_deref().unwrap_or(account);
    let mut v = serde_json::json!({
        "attemptsMade": 1,
        "arrivalTimestamp": sub.arrival_ms,
        "lastErrorCode": e.code,
        "lastErrorMessage": e.message,
        "attemptEndingTimestamp": env.clock.now_ms(),
        "rawData": base64::engine::general_purpose::STANDARD.encode(data),
    });
    if let Some(o) = crate::source::Origin::decode(&sub.origin) {
        v["sequenceNumber"] = serde_json::json!(o.sequence_number);
        v["subSequenceNumber"] = serde_json::json!(sub.sub.unwrap_or(o.subsequence));
    }
    v["dataCatalogTable"] = serde_json::json!({
        "catalogId": catalog,
        "databaseName": c.table.database,
        "tableName": c.table.table,
        "region": region,
        "versionId": c.table.version_id,
        "catalogArn": format!("arn:aws:glue:{region}:{catalog}:catalog"),
    });
    let mut line = v.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// A channel's dead letter: where the record was and why it failed, not its data (the docs:
/// "record identifiers and error context, not full record payloads").
fn channel_error(rt: &Runtime, ch: &crate::channel::ChannelPlan, sub: &Sub, code: &str, message: &str) -> Vec<u8> {
    let origin = crate::source::Origin::decode(&sub.origin);
    let mut line = serde_json::json!({
        "channelName": ch.name,
        "streamARN": rt.source_arn,
        "shardId": origin.as_ref().map(|o| rheo_types::ShardId(o.shard).to_string()),
        "sequenceNumber": origin.as_ref().map(|o| o.sequence_number.clone()),
        "subSequenceNumber": origin.as_ref().map(|o| o.subsequence),
        "approximateArrivalTimestamp": origin.as_ref().map_or(sub.arrival_ms, |o| o.arrival_ms),
        "errorCode": code,
        "errorMessage": message,
    })
    .to_string()
    .into_bytes();
    line.push(b'\n');
    line
}

/// Splits records that hold several (RecordDeAggregation); each keeps its record's arrival.
pub(crate) fn deaggregate(recs: &[rheo_log::ReadRecord], how: Option<&Deaggregation>) -> Vec<Sub> {
    let mut out = Vec::new();
    for r in recs {
        let whole = |out: &mut Vec<Sub>| {
            out.push(Sub {
                key: r.key,
                sub: None,
                arrival_ms: r.timestamp_ms,
                origin: r.partition_key.clone(),
                data: r.data.clone(),
            })
        };
        let pieces: Vec<bytes::Bytes> = match how {
            None => {
                whole(&mut out);
                continue;
            }
            Some(Deaggregation::Json) => {
                let mut pieces = Vec::new();
                let mut it = serde_json::Deserializer::from_slice(&r.data).into_iter::<serde::de::IgnoredAny>();
                let mut start = 0;
                while let Some(Ok(_)) = it.next() {
                    let end = it.byte_offset();
                    let piece = r.data.slice(start..end);
                    let trimmed = trim(&piece);
                    if !trimmed.is_empty() {
                        pieces.push(r.data.slice_ref(trimmed));
                    }
                    start = end;
                }
                if trim(&r.data[start..]).is_empty() {
                    pieces
                } else {
                    Vec::new()
                }
            }
            Some(Deaggregation::Delimited(d)) => split(&r.data, d),
        };
        if pieces.is_empty() || pieces.len() > MAX_SUB_RECORDS {
            // Not splittable as configured (or into more than AWS splits): delivered as it is.
            whole(&mut out);
            continue;
        }
        for (i, data) in pieces.into_iter().enumerate() {
            out.push(Sub {
                key: r.key,
                sub: Some(i as u32),
                arrival_ms: r.timestamp_ms,
                origin: r.partition_key.clone(),
                data,
            });
        }
    }
    out
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

fn split(data: &bytes::Bytes, delimiter: &[u8]) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delimiter.len() <= data.len() {
        if &data[i..i + delimiter.len()] == delimiter {
            if i > start {
                out.push(data.slice(start..i));
            }
            i += delimiter.len();
            start = i;
        } else {
            i += 1;
        }
    }
    if start < data.len() {
        out.push(data.slice(start..));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(data: &str) -> rheo_log::ReadRecord {
        rheo_log::ReadRecord {
            key: 1,
            timestamp_ms: 5,
            partition_key: bytes::Bytes::new(),
            data: bytes::Bytes::from(data.to_owned()),
        }
    }

    #[test]
    fn records_are_deaggregated() {
        let subs = deaggregate(&[rec("{\"a\":1}{\"a\":2}\n{\"a\":3}\n")], Some(&Deaggregation::Json));
        let got: Vec<&[u8]> = subs.iter().map(|s| &s.data[..]).collect();
        assert_eq!(got, [&b"{\"a\":1}"[..], b"{\"a\":2}", b"{\"a\":3}"]);
        let subs = deaggregate(&[rec("x####y####z")], Some(&Deaggregation::Delimited(b"####".to_vec())));
        let got: Vec<&[u8]> = subs.iter().map(|s| &s.data[..]).collect();
        assert_eq!(got, [&b"x"[..], b"y", b"z"]);
        // Not JSON: delivered whole.
        let subs = deaggregate(&[rec("{\"a\":1} nope")], Some(&Deaggregation::Json));
        assert_eq!(subs.len(), 1);
        assert_eq!(deaggregate(&[rec("abc")], None)[0].sub, None);
    }
}
