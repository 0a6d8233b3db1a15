//! Multipart uploads in local buckets, and copies.
//!
//! Layout, under a bucket's directory:
//! - `uploads/<upload id>.json`: the upload's key, what its object will carry (`PutInput`)
//!   and when it began; written durably before CreateMultipartUpload answers. The upload
//!   exists while this file does;
//! - `uploads/<upload id>/<part>.<ms>.<md5>`: a part's bytes, named by its number, the time it
//!   was uploaded and its MD5 (its ETag). A part is streamed to a temporary file, fsynced and
//!   renamed to this name (then the directory fsynced) before UploadPart answers; a part sent
//!   again replaces the earlier one (the newest name wins if a crash leaves both).
//!
//! CompleteMultipartUpload copies the parts, in order, into a new data file, commits it as an
//! object (its record names the upload), then removes the upload's file and directory. A
//! crash after the record leaves them, and the bucket's next open removes them.

use crate::local::{LocalStore, NewObject, ObjectError, ObjectMeta, Origin, PutInput, Result, check_key, hex, new_id};
use rheo_log::DiskFile;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// S3's smallest part, but for the last.
pub const MIN_PART_BYTES: u64 = 5 << 20;
/// Part numbers run from 1 to 10,000.
pub const MAX_PART_NUMBER: u32 = 10_000;

fn io(e: impl std::fmt::Display) -> ObjectError {
    ObjectError::Internal(e.to_string())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct UploadDef {
    key: String,
    input: PutInput,
    initiated_ms: i64,
}

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub key: String,
    pub initiated_ms: i64,
}

/// A part uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub etag: String,
    pub size: u64,
    pub last_modified_ms: i64,
    file: String,
}

/// A part being written; [`PartWriter::commit`] makes it durable and the upload's.
pub struct PartWriter {
    disk: Arc<dyn rheo_log::Disk>,
    dir: PathBuf,
    number: u32,
    tmp: PathBuf,
    file: Arc<dyn DiskFile>,
    at: u64,
    md5: md5::Md5,
    done: bool,
}

impl PartWriter {
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use md5::Digest as _;
        self.md5.update(chunk);
        self.file.write_all_at(chunk, self.at).map_err(io)?;
        self.at += chunk.len() as u64;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.at
    }

    pub fn is_empty(&self) -> bool {
        self.at == 0
    }

    /// The part's ETag once committed (its MD5, hex).
    pub fn md5_hex(&self) -> String {
        use md5::Digest as _;
        hex(&self.md5.clone().finalize())
    }

    /// Makes the part durable and replaces any earlier part of its number; returns its ETag.
    pub fn commit(mut self, now_ms: i64) -> Result<String> {
        let etag = self.md5_hex();
        self.file.sync().map_err(io)?;
        let name = format!("{:05}.{:013}.{etag}", self.number, now_ms.max(0));
        self.disk.rename(&self.tmp, &self.dir.join(&name)).map_err(io)?;
        self.done = true;
        self.disk.sync_dir(&self.dir).map_err(io)?;
        for f in self.disk.list(&self.dir).map_err(io)? {
            let n = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if n != name && part_number(&n) == Some(self.number) && !n.ends_with(".tmp") {
                let _ = self.disk.remove_file(&f);
            }
        }
        Ok(etag)
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.disk.remove_file(&self.tmp);
        }
    }
}

fn part_number(name: &str) -> Option<u32> {
    name.split('.').next()?.parse().ok()
}

fn parse_part(name: &str, size: u64) -> Option<Part> {
    let mut it = name.split('.');
    let (number, ms, etag) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?);
    if it.next().is_some() || etag.len() != 32 {
        return None;
    }
    Some(Part {
        number,
        etag: etag.to_owned(),
        size,
        last_modified_ms: ms,
        file: name.to_owned(),
    })
}

impl LocalStore {
    fn upload_dir(&self, bucket: &str, upload_id: &str) -> Result<PathBuf> {
        let b = self.bucket(bucket)?;
        if upload_id.is_empty() || !upload_id.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ObjectError::NoSuchUpload);
        }
        Ok(b.dir.join("uploads").join(upload_id))
    }

    fn upload_def(&self, bucket: &str, upload_id: &str) -> Result<(PathBuf, UploadDef)> {
        let dir = self.upload_dir(bucket, upload_id)?;
        let bytes = match rheo_log::disk::read_all(&*self.disk, &def_path(&dir)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ObjectError::NoSuchUpload),
            Err(e) => return Err(io(e)),
        };
        let def = serde_json::from_slice(&bytes).map_err(io)?;
        Ok((dir, def))
    }

    /// CreateMultipartUpload: the upload's id, once its definition is on disk.
    pub fn create_upload(&self, bucket: &str, key: &str, input: PutInput, now_ms: i64) -> Result<String> {
        check_key(key)?;
        let id = new_id();
        let dir = self.upload_dir(bucket, &id)?;
        self.disk.create_dir_all(&dir).map_err(io)?;
        let def = UploadDef {
            key: key.to_owned(),
            input,
            initiated_ms: now_ms,
        };
        let bytes = serde_json::to_vec(&def).map_err(io)?;
        // The parts' directory first: the definition (synced with its directory) makes the
        // upload exist.
        rheo_log::disk::replace_file(&*self.disk, &def_path(&dir), &bytes).map_err(io)?;
        Ok(id)
    }

    /// UploadPart: a writer for part `number` of the upload of `key`.
    pub fn upload_part(&self, bucket: &str, upload_id: &str, key: &str, number: u32) -> Result<PartWriter> {
        let (dir, def) = self.upload_def(bucket, upload_id)?;
        if def.key != key {
            return Err(ObjectError::NoSuchUpload);
        }
        if !(1..=MAX_PART_NUMBER).contains(&number) {
            return Err(ObjectError::InvalidArgument(
                "Part number must be an integer between 1 and 10000, inclusive".into(),
            ));
        }
        let tmp = dir.join(format!("{number:05}.{}.tmp", new_id()));
        let file = self.disk.open(&tmp, true).map_err(io)?;
        file.set_len(0).map_err(io)?;
        Ok(PartWriter {
            disk: self.disk.clone(),
            dir,
            number,
            tmp,
            file,
            at: 0,
            md5: <md5::Md5 as md5::Digest>::new(),
            done: false,
        })
    }

    /// ListParts: the upload's parts by number, and its key.
    pub fn list_parts(&self, bucket: &str, upload_id: &str) -> Result<(String, Vec<Part>)> {
        let (dir, def) = self.upload_def(bucket, upload_id)?;
        let mut parts: std::collections::BTreeMap<u32, Part> = std::collections::BTreeMap::new();
        for f in self.disk.list(&dir).map_err(io)? {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Ok(size) = self.disk.open(&f, false).and_then(|h| h.size()) else {
                continue;
            };
            if let Some(p) = parse_part(&name, size) {
                let newer = parts
                    .get(&p.number)
                    .is_none_or(|q| q.last_modified_ms <= p.last_modified_ms);
                if newer {
                    parts.insert(p.number, p);
                }
            }
        }
        Ok((def.key, parts.into_values().collect()))
    }

    /// ListMultipartUploads: the bucket's uploads in progress, by key then start.
    pub fn list_uploads(&self, bucket: &str) -> Result<Vec<Upload>> {
        let b = self.bucket(bucket)?;
        let mut out = Vec::new();
        let dirs = match self.disk.list(&b.dir.join("uploads")) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        for d in dirs {
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if let Ok((_, def)) = self.upload_def(bucket, id) {
                out.push(Upload {
                    id: id.to_owned(),
                    key: def.key,
                    initiated_ms: def.initiated_ms,
                });
            }
        }
        out.sort_by(|a, b| (&a.key, a.initiated_ms, &a.id).cmp(&(&b.key, b.initiated_ms, &b.id)));
        Ok(out)
    }

    /// AbortMultipartUpload: the upload and its parts are removed.
    pub fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<()> {
        let (dir, _) = self.upload_def(bucket, upload_id)?;
        remove_upload(&*self.disk, &dir)
    }

    /// CompleteMultipartUpload: `parts` (number and ETag, in ascending order) joined into the
    /// object, whose ETag is S3's multipart form (the MD5 of the parts' MD5s, `-` their count).
    pub fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        key: &str,
        chosen: &[(u32, String)],
        origin: Origin,
        now_ms: i64,
    ) -> Result<ObjectMeta> {
        use md5::Digest as _;
        let (dir, def) = self.upload_def(bucket, upload_id)?;
        if def.key != key {
            return Err(ObjectError::NoSuchUpload);
        }
        let (_, parts) = self.list_parts(bucket, upload_id)?;
        if chosen.is_empty() {
            return Err(ObjectError::InvalidArgument(
                "You must specify at least one part".into(),
            ));
        }
        if chosen.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(ObjectError::InvalidPartOrder);
        }
        let mut picked = Vec::with_capacity(chosen.len());
        for (n, etag) in chosen {
            let etag = etag.trim_matches('"');
            let p = parts
                .iter()
                .find(|p| p.number == *n && p.etag == etag)
                .ok_or(ObjectError::InvalidPart)?;
            picked.push(p);
        }
        if picked.iter().rev().skip(1).any(|p| p.size < MIN_PART_BYTES) {
            return Err(ObjectError::EntityTooSmall);
        }
        let mut obj = self.new_object(bucket)?;
        let mut etags = md5::Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        for p in &picked {
            let f = self.disk.open(&dir.join(&p.file), false).map_err(io)?;
            copy_into(&*f, p.size, &mut obj, &mut buf)?;
            etags.update(decode_hex(&p.etag));
        }
        let etag = format!("{}-{}", hex(&etags.finalize()), picked.len());
        let meta = obj.commit_as(
            key,
            def.input,
            origin,
            now_ms,
            etag,
            Some(picked.len() as u32),
            Some(upload_id.to_owned()),
            None,
        )?;
        let _ = remove_upload(&*self.disk, &dir);
        Ok(meta)
    }

    /// CopyObject: the source's bytes into a new object; its metadata kept (`input` None) or
    /// replaced.
    #[allow(clippy::too_many_arguments)]
    pub fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        bucket: &str,
        key: &str,
        input: Option<PutInput>,
        origin: Origin,
        now_ms: i64,
    ) -> Result<ObjectMeta> {
        let (src, f) = self.open_object(src_bucket, src_key)?;
        let input = input.unwrap_or_else(|| PutInput {
            content_type: src.content_type.clone(),
            content_encoding: src.content_encoding.clone(),
            user_metadata: src.user_metadata.clone(),
            headers: src.headers.clone(),
            tags: src.tags.clone(),
            checksum: src.checksum.clone(),
        });
        let mut obj = self.new_object(bucket)?;
        let mut buf = vec![0u8; 1 << 20];
        copy_into(&*f, src.size, &mut obj, &mut buf)?;
        // A copy is a single-part object: its ETag is its MD5, whatever the source's.
        obj.commit(key, input, origin, now_ms)
    }
}

/// An upload's definition file, beside its parts' directory.
fn def_path(dir: &std::path::Path) -> PathBuf {
    dir.with_extension("json")
}

/// Removes an upload: its definition (durably), then its parts.
pub(crate) fn remove_upload(disk: &dyn rheo_log::Disk, dir: &std::path::Path) -> Result<()> {
    match disk.remove_file(&def_path(dir)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if let Some(parent) = dir.parent() {
        disk.sync_dir(parent).map_err(io)?;
    }
    match disk.remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
        _ => Ok(()),
    }
}

fn copy_into(f: &dyn DiskFile, size: u64, obj: &mut NewObject<'_>, buf: &mut [u8]) -> Result<()> {
    let mut at = 0u64;
    while at < size {
        let want = usize::try_from((size - at).min(buf.len() as u64)).unwrap_or(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = rheo_log::disk::read_full_at(f, chunk, at).map_err(io)?;
        if n < want {
            return Err(ObjectError::Internal(
                "an object's file is shorter than recorded".into(),
            ));
        }
        obj.write(chunk)?;
        at += n as u64;
    }
    Ok(())
}

fn decode_hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}
