//! Local buckets: objects on this machine's disk, durable.
//!
//! Layout, under a tenant's `s3/` directory:
//! - `buckets.json`: the buckets (name, creation time), replaced whole on each change
//!   (temporary file, fsync, rename, fsync of the directory);
//! - small objects (up to [`INLINE_MAX`] bytes) have no file: their bytes follow their put
//!   record in the index log (below), so one append and one fsync (shared by every put that
//!   commits with it) makes them durable;
//! - `<bucket>/data/<id>`: each larger object's bytes, in a file of its own named by a random id, so
//!   that keys keep S3's semantics (any UTF-8, `/` an ordinary character, a key also a prefix
//!   of others) whatever the filesystem allows. A put streams the body into `<id>.tmp`, fsyncs
//!   it, renames it and fsyncs the directory;
//! - `<bucket>/index/`: a segmented log (`rheo-log`) of the bucket's changes, each a JSON
//!   record `{"op": "put", "key", "meta", "origin"}` or `{"op": "delete", "key", "origin"}`,
//!   appended and fsynced after the object's file is durable; a small object's record is the
//!   JSON, a 0 byte (which JSON text never holds), then the object's bytes. An object exists once its put
//!   record is on disk, so a crash at any moment leaves every acknowledged object whole and no
//!   partial one visible. At open the log is replayed into the key index (in memory); data
//!   files no record names (a crash between the file and its record, or a replaced object) are
//!   removed. The log is also the bucket's change feed: notifications read it from a durable
//!   checkpoint (`notify`), and a record's key is its S3 event's sequencer;
//! - `<bucket>/uploads/`: multipart uploads in progress (`multipart`).

use crate::listing::{ListPage, ListRequest, list};
use crate::names::check_bucket_name;
use rheo_log::{Disk, DiskFile, LogConfig, LogReader, LogWriter, NewRecord, ReadLimits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// What a bucket operation can fail with; the server gives them S3's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )]
    NoSuchUpload,
    #[error(
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
    )]
    InvalidPart,
    #[error("The list of parts was not in ascending order. The parts list must be specified in order by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    EntityTooSmall,
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The specified bucket is not valid.")]
    InvalidBucketName,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("We encountered an internal error. Please try again.")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, ObjectError>;

fn io(e: impl std::fmt::Display) -> ObjectError {
    ObjectError::Internal(e.to_string())
}

/// What S3 keeps of an object besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub size: u64,
    /// The ETag without quotes: the hex MD5 of the bytes for a single-part upload.
    pub etag: String,
    pub last_modified_ms: i64,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// `x-amz-meta-*`, names lowercased.
    pub user_metadata: BTreeMap<String, String>,
    /// The data file's name under `data/`.
    pub file: String,
    /// Cache-Control, Content-Disposition, Content-Language, Expires, as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The checksum the upload carried and S3 keeps (`crc32`, `crc32c`, `crc64nvme`, `sha1`,
    /// `sha256`; base64), verified against the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<(String, String)>,
    /// A multipart object's part count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<u32>,
    /// A small object's bytes are in the index log, after the record with this key (its
    /// `file` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<u64>,
}

/// Objects up to this size are kept in the index log rather than a file of their own.
pub const INLINE_MAX: usize = 64 * 1024;

/// What a put carries besides the body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PutInput {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub user_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub checksum: Option<(String, String)>,
}

/// What a conditional write needs of the key when it commits (checked atomically with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `If-None-Match: *`: no object under the key.
    Absent,
    /// `If-Match: *`: an object under the key.
    Present,
    /// `If-Match: <etag>`.
    EtagIs(String),
    /// `If-None-Match: <etag>`: absent, or another ETag.
    EtagIsNot(String),
}

impl Precondition {
    pub fn holds(&self, current: Option<&str>) -> bool {
        match (self, current) {
            (Precondition::Absent, c) => c.is_none(),
            (Precondition::Present, c) => c.is_some(),
            (Precondition::EtagIs(e), Some(c)) => e.trim_matches('"') == c,
            (Precondition::EtagIs(_), None) => false,
            (Precondition::EtagIsNot(e), Some(c)) => e.trim_matches('"') != c,
            (Precondition::EtagIsNot(_), None) => true,
        }
    }
}

/// Who made a change and how, for its S3 event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The event name without `s3:` (`ObjectCreated:Put`, `ObjectRemoved:Delete`, ...).
    pub event: String,
    pub principal: String,
    pub source_ip: String,
}

/// One change of a bucket, as its index log holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // short-lived, one at a time
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Change {
    Put {
        key: String,
        meta: ObjectMeta,
        #[serde(default)]
        origin: Origin,
        /// The multipart upload this completed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upload: Option<String>,
    },
    Delete {
        key: String,
        #[serde(default)]
        origin: Origin,
    },
}

/// A bucket's settings S3 keeps beside its objects.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BucketConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The notification configuration, in the server's own JSON form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct BucketDef {
    name: String,
    created_ms: i64,
    #[serde(default)]
    config: BucketConfig,
}

pub(crate) struct Bucket {
    def: BucketDef,
    /// The settings, changed in place (`def.config` is what it opened with).
    config: RwLock<BucketConfig>,
    pub(crate) dir: PathBuf,
    /// The index log's writer, the next key and the last record's time (the log's times never
    /// go back; a request that began earlier may commit later); held for each change, so
    /// changes to one bucket are in order.
    writer: Mutex<(LogWriter, u64, i64)>,
    index: RwLock<BTreeMap<String, ObjectMeta>>,
    reader: LogReader,
    /// Changes waiting for the next group commit.
    queue: Mutex<Vec<Queued>>,
}

/// One tenant's local buckets.
pub struct LocalStore {
    pub(crate) disk: Arc<dyn Disk>,
    dir: PathBuf,
    config: LogConfig,
    buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    /// Held while the bucket list is changed and saved.
    catalog: Mutex<()>,
}

const CATALOG: &str = "buckets.json";
/// Object keys are 1 to 1,024 bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

impl LocalStore {
    /// Opens (or creates) the store in `dir`, replaying each bucket's index.
    pub fn open(disk: Arc<dyn Disk>, dir: &Path, config: LogConfig) -> std::io::Result<LocalStore> {
        disk.create_dir_all(dir)?;
        let defs: Vec<BucketDef> = match rheo_log::disk::read_all(&*disk, &dir.join(CATALOG)) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let store = LocalStore {
            disk,
            dir: dir.to_path_buf(),
            config,
            buckets: RwLock::default(),
            catalog: Mutex::default(),
        };
        for def in defs {
            let b = store.open_bucket(def)?;
            store.buckets_mut().insert(b.def.name.clone(), Arc::new(b));
        }
        Ok(store)
    }

    fn buckets_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Bucket>>> {
        self.buckets.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn bucket(&self, name: &str) -> Result<Arc<Bucket>> {
        self.buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or(ObjectError::NoSuchBucket)
    }

    fn open_bucket(&self, def: BucketDef) -> std::io::Result<Bucket> {
        let dir = self.dir.join(&def.name);
        self.disk.create_dir_all(&dir.join("data"))?;
        let (writer, reader) =
            rheo_log::open(self.disk.clone(), &dir.join("index"), self.config).map_err(std::io::Error::other)?;
        let (index, next, completed, last_ms) = replay(&reader)?;
        // Uploads whose completion was recorded (a crash before their parts were removed).
        for id in completed {
            let _ = crate::multipart::remove_upload(&*self.disk, &dir.join("uploads").join(id));
        }
        // Data files no record names: a put cut short, or an object replaced or deleted.
        let live: std::collections::HashSet<&str> = index
            .values()
            .filter(|m| m.inline.is_none())
            .map(|m| m.file.as_str())
            .collect();
        for f in self.disk.list(&dir.join("data"))? {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !live.contains(name.as_str()) {
                self.disk.remove_file(&f)?;
            }
        }
        Ok(Bucket {
            config: RwLock::new(def.config.clone()),
            def,
            dir,
            writer: Mutex::new((writer, next, last_ms)),
            index: RwLock::new(index),
            reader,
            queue: Mutex::default(),
        })
    }

    fn save_catalog(&self, buckets: &BTreeMap<String, Arc<Bucket>>) -> Result<()> {
        let defs: Vec<BucketDef> = buckets
            .values()
            .map(|b| BucketDef {
                config: b.config.read().unwrap_or_else(|p| p.into_inner()).clone(),
                ..b.def.clone()
            })
            .collect();
        let bytes = serde_json::to_vec(&defs).map_err(io)?;
        rheo_log::disk::replace_file(&*self.disk, &self.dir.join(CATALOG), &bytes).map_err(io)
    }

    /// CreateBucket. A bucket of this tenant's with the name: BucketAlreadyOwnedByYou.
    pub fn create_bucket(&self, name: &str, now_ms: i64) -> Result<()> {
        check_bucket_name(name).map_err(|_| ObjectError::InvalidBucketName)?;
        let _one = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        if self.bucket(name).is_ok() {
            return Err(ObjectError::BucketAlreadyOwnedByYou);
        }
        let bucket = self
            .open_bucket(BucketDef {
                name: name.to_owned(),
                created_ms: now_ms,
                config: BucketConfig::default(),
            })
            .map_err(io)?;
        let mut next = self.buckets.read().unwrap_or_else(|p| p.into_inner()).clone();
        next.insert(name.to_owned(), Arc::new(bucket));
        self.save_catalog(&next)?;
        *self.buckets_mut() = next;
        Ok(())
    }

    /// DeleteBucket: only an empty one.
    pub fn delete_bucket(&self, name: &str) -> Result<()> {
        let _one = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        let b = self.bucket(name)?;
        if !b.index.read().unwrap_or_else(|p| p.into_inner()).is_empty() {
            return Err(ObjectError::BucketNotEmpty);
        }
        let mut next = self.buckets.read().unwrap_or_else(|p| p.into_inner()).clone();
        next.remove(name);
        self.save_catalog(&next)?;
        *self.buckets_mut() = next;
        self.disk.remove_dir_all(&b.dir).map_err(io)
    }

    /// ListBuckets: names and creation times, by name.
    pub fn list_buckets(&self) -> Vec<(String, i64)> {
        self.buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|b| (b.def.name.clone(), b.def.created_ms))
            .collect()
    }

    /// HeadBucket.
    pub fn head_bucket(&self, name: &str) -> Result<()> {
        self.bucket(name).map(|_| ())
    }

    /// The disk the store writes to.
    pub fn disk(&self) -> Arc<dyn Disk> {
        self.disk.clone()
    }

    /// A bucket's settings.
    pub fn bucket_config(&self, name: &str) -> Result<BucketConfig> {
        Ok(self
            .bucket(name)?
            .config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    /// Changes a bucket's settings, durably (the catalog is saved before the change shows).
    pub fn update_bucket_config(&self, name: &str, change: impl FnOnce(&mut BucketConfig)) -> Result<()> {
        let _one = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        let b = self.bucket(name)?;
        let before = b.config.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut after = before.clone();
        change(&mut after);
        *b.config.write().unwrap_or_else(|p| p.into_inner()) = after;
        let buckets = self.buckets.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Err(e) = self.save_catalog(&buckets) {
            *b.config.write().unwrap_or_else(|p| p.into_inner()) = before;
            return Err(e);
        }
        Ok(())
    }

    /// PutObject from a reader: [`LocalStore::new_object`], written whole, then committed.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        input: PutInput,
        body: &mut dyn Read,
        now_ms: i64,
    ) -> Result<ObjectMeta> {
        check_key(key)?;
        // Up to INLINE_MAX + 1 bytes first: a small object goes inline.
        let mut head = Vec::new();
        if let Err(e) = body.take(INLINE_MAX as u64 + 1).read_to_end(&mut head) {
            return Err(ObjectError::InvalidArgument(format!(
                "the request body could not be read: {e}"
            )));
        }
        if head.len() <= INLINE_MAX {
            return self.put_inline(bucket, key, input, head, Origin::default(), None, now_ms);
        }
        let mut obj = self.new_object(bucket)?;
        obj.write(&head)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    obj.abort();
                    return Err(ObjectError::InvalidArgument(format!(
                        "the request body could not be read: {e}"
                    )));
                }
            };
            obj.write(buf.get(..n).unwrap_or_default())?;
        }
        obj.commit(key, input, Origin::default(), now_ms)
    }

    /// Starts a new object in `bucket`: its bytes go to a temporary file with
    /// [`NewObject::write`]; [`NewObject::commit`] makes it durable and visible.
    pub fn new_object(&self, bucket: &str) -> Result<NewObject<'_>> {
        let b = self.bucket(bucket)?;
        let id = new_id();
        let tmp = b.dir.join("data").join(format!("{id}.tmp"));
        let file = self.disk.open(&tmp, true).map_err(io)?;
        file.set_len(0).map_err(io)?;
        Ok(NewObject {
            store: self,
            bucket: b,
            id,
            tmp,
            file,
            at: 0,
            md5: <md5::Md5 as md5::Digest>::new(),
            done: false,
        })
    }

    /// Appends a change durably and applies it to the index; returns the object it replaced.
    ///
    /// Group commit: each change joins the bucket's queue; whoever holds the log's writer
    /// appends everything queued in one write and one fsync, applies it to the index in log
    /// order and hands each change its outcome. A caller that gets the writer after its change
    /// was committed by another just takes its outcome.
    pub(crate) fn record(&self, b: &Bucket, change: Change, now_ms: i64) -> Result<Option<ObjectMeta>> {
        self.record_with(b, change, None, None, now_ms)
    }

    /// [`LocalStore::record`], a small object's bytes after the record.
    fn record_with(
        &self,
        b: &Bucket,
        change: Change,
        body: Option<Vec<u8>>,
        precondition: Option<Precondition>,
        now_ms: i64,
    ) -> Result<Option<ObjectMeta>> {
        let keeps = match &change {
            Change::Put { meta, .. } => Some(meta.file.clone()),
            Change::Delete { .. } => None,
        };
        let slot: Slot = Arc::default();
        b.queue.lock().unwrap_or_else(|p| p.into_inner()).push(Queued {
            change,
            body,
            precondition,
            now_ms,
            slot: slot.clone(),
        });
        let outcome = {
            let mut w = b.writer.lock().unwrap_or_else(|p| p.into_inner());
            let done = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            match done {
                Some(r) => r,
                None => {
                    let batch = std::mem::take(&mut *b.queue.lock().unwrap_or_else(|p| p.into_inner()));
                    commit(&mut w, b, batch);
                    let mine = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                    mine.unwrap_or_else(|| Err(ObjectError::Internal("a change was not committed".into())))
                }
            }
        };
        let old = outcome?;
        // The replaced object's file goes, unless the change kept it (a tagging change).
        if let Some(old) = &old
            && old.inline.is_none()
            && keeps.as_deref() != Some(old.file.as_str())
        {
            let _ = self.disk.remove_file(&b.dir.join("data").join(&old.file));
        }
        Ok(old)
    }

    /// Replaces an object's tags (its bytes and other metadata stay).
    pub fn set_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
        origin: Origin,
        now_ms: i64,
    ) -> Result<()> {
        let b = self.bucket(bucket)?;
        let mut meta = self.head_object(bucket, key)?;
        meta.tags = tags;
        self.record(
            &b,
            Change::Put {
                key: key.to_owned(),
                meta,
                origin,
                upload: None,
            },
            now_ms,
        )?;
        Ok(())
    }

    /// The bucket's changes from record `from` on, at most `max`: (sequence, change).
    pub fn changes(&self, bucket: &str, from: u64, max: usize) -> Result<Vec<(u64, i64, Change)>> {
        let b = self.bucket(bucket)?;
        let mut out = Vec::new();
        let limits = ReadLimits {
            from_key: from,
            max_records: max,
            max_bytes: 4 << 20,
            min_timestamp_ms: i64::MIN,
        };
        b.reader
            .read_each(limits, |r| {
                if let Ok(c) = decode(r.data) {
                    out.push((r.key, r.timestamp_ms, c));
                }
                true
            })
            .map_err(io)?;
        Ok(out)
    }

    /// The sequence the bucket's next change will get.
    pub fn next_sequence(&self, bucket: &str) -> Result<u64> {
        let b = self.bucket(bucket)?;
        let w = b.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(w.1)
    }

    /// The directory a bucket keeps its files in (for its notification checkpoint).
    pub fn bucket_dir(&self, bucket: &str) -> Result<PathBuf> {
        Ok(self.bucket(bucket)?.dir.clone())
    }

    /// HeadObject.
    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        let b = self.bucket(bucket)?;
        let index = b.index.read().unwrap_or_else(|p| p.into_inner());
        index.get(key).cloned().ok_or(ObjectError::NoSuchKey)
    }

    /// GetObject: the object's metadata and its file, to read ranges from.
    pub fn open_object(&self, bucket: &str, key: &str) -> Result<(ObjectMeta, Arc<dyn DiskFile>)> {
        let b = self.bucket(bucket)?;
        let meta = {
            let index = b.index.read().unwrap_or_else(|p| p.into_inner());
            index.get(key).cloned().ok_or(ObjectError::NoSuchKey)?
        };
        if let Some(at) = meta.inline {
            let body = inline_body(&b.reader, at)?;
            return Ok((meta, Arc::new(MemFile(body))));
        }
        let f = self
            .disk
            .open(&b.dir.join("data").join(&meta.file), false)
            .map_err(io)?;
        Ok((meta, f))
    }

    /// PutObject of a small object (at most [`INLINE_MAX`] bytes): its bytes are written with
    /// its record, in the index log.
    #[allow(clippy::too_many_arguments)]
    pub fn put_inline(
        &self,
        bucket: &str,
        key: &str,
        input: PutInput,
        body: Vec<u8>,
        origin: Origin,
        precondition: Option<Precondition>,
        now_ms: i64,
    ) -> Result<ObjectMeta> {
        use md5::Digest as _;
        check_key(key)?;
        if body.len() > INLINE_MAX {
            return Err(ObjectError::Internal("an inline object is too large".into()));
        }
        let b = self.bucket(bucket)?;
        let mut meta = ObjectMeta {
            size: body.len() as u64,
            etag: hex(&md5::Md5::digest(&body)),
            last_modified_ms: now_ms,
            content_type: input.content_type,
            content_encoding: input.content_encoding,
            user_metadata: input.user_metadata,
            file: String::new(),
            headers: input.headers,
            tags: input.tags,
            checksum: input.checksum,
            parts: None,
            inline: None,
        };
        let change = Change::Put {
            key: key.to_owned(),
            meta: meta.clone(),
            origin,
            upload: None,
        };
        self.record_with(&b, change, Some(body), precondition, now_ms)?;
        // The log key the bytes went to is the index's; the caller needs the rest.
        meta.inline = self.head_object(bucket, key).ok().and_then(|m| m.inline);
        Ok(meta)
    }

    /// DeleteObject: a key that does not exist is no error (as S3). Whether one was removed.
    pub fn delete_object(&self, bucket: &str, key: &str, now_ms: i64) -> Result<bool> {
        self.delete_object_by(bucket, key, Origin::default(), now_ms)
    }

    /// DeleteObject, recording who asked.
    pub fn delete_object_by(&self, bucket: &str, key: &str, origin: Origin, now_ms: i64) -> Result<bool> {
        let b = self.bucket(bucket)?;
        if !b.index.read().unwrap_or_else(|p| p.into_inner()).contains_key(key) {
            return Ok(false);
        }
        let old = self.record(
            &b,
            Change::Delete {
                key: key.to_owned(),
                origin,
            },
            now_ms,
        )?;
        Ok(old.is_some())
    }

    /// ListObjects(V2): one page, as `listing::list` reads the index.
    pub fn list_objects(&self, bucket: &str, req: &ListRequest<'_>) -> Result<OwnedPage> {
        let b = self.bucket(bucket)?;
        let index = b.index.read().unwrap_or_else(|p| p.into_inner());
        let page: ListPage<'_, ObjectMeta> = list(&index, req);
        Ok(OwnedPage {
            contents: page
                .contents
                .into_iter()
                .map(|(k, m)| (k.to_owned(), m.clone()))
                .collect(),
            common_prefixes: page.common_prefixes,
            truncated: page.truncated,
            next: page.next,
        })
    }
}

/// A listing page, owned (the index is not held while it is written out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPage {
    pub contents: Vec<(String, ObjectMeta)>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    pub next: Option<String>,
}

type Slot = Arc<Mutex<Option<Result<Option<ObjectMeta>>>>>;

/// A change waiting for the bucket's next group commit.
struct Queued {
    change: Change,
    /// A small object's bytes, kept after its record.
    body: Option<Vec<u8>>,
    precondition: Option<Precondition>,
    now_ms: i64,
    slot: Slot,
}

/// Appends a batch of changes in one write (and one fsync), then applies them to the index in
/// order; every change's slot gets its outcome.
fn commit(w: &mut (LogWriter, u64, i64), b: &Bucket, batch: Vec<Queued>) {
    // Conditional changes are checked against the index and the batch's earlier changes; one
    // whose condition fails is answered PreconditionFailed and not written.
    let mut batch = {
        let index = b.index.read().unwrap_or_else(|p| p.into_inner());
        let mut overlay: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
        let mut kept = Vec::with_capacity(batch.len());
        for q in batch {
            let (key, after) = match &q.change {
                Change::Put { key, meta, .. } => (key.clone(), Some(meta.etag.clone())),
                Change::Delete { key, .. } => (key.clone(), None),
            };
            if let Some(p) = &q.precondition {
                let current = match overlay.get(&key) {
                    Some(c) => c.clone(),
                    None => index.get(&key).map(|m| m.etag.clone()),
                };
                if !p.holds(current.as_deref()) {
                    *q.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(ObjectError::PreconditionFailed));
                    continue;
                }
            }
            overlay.insert(key, after);
            kept.push(q);
        }
        kept
    };
    if batch.is_empty() {
        return;
    }
    let first = w.1;
    let mut at = w.2;
    let mut times = Vec::with_capacity(batch.len());
    let mut datas = Vec::with_capacity(batch.len());
    for (q, key) in batch.iter_mut().zip(first..) {
        at = at.max(q.now_ms);
        times.push(at);
        if let (Change::Put { meta, .. }, Some(_)) = (&mut q.change, &q.body) {
            meta.inline = Some(key);
        }
        let mut data = match serde_json::to_vec(&q.change) {
            Ok(d) => d,
            Err(e) => {
                let e = io(e);
                for q in batch {
                    *q.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(e.clone()));
                }
                return;
            }
        };
        if let Some(body) = &q.body {
            data.push(0);
            data.extend_from_slice(body);
        }
        datas.push(data);
    }
    let records: Vec<NewRecord<'_>> = datas
        .iter()
        .zip(&times)
        .zip(first..)
        .map(|((data, &t), key)| NewRecord {
            key,
            timestamp_ms: t,
            partition_key: b"",
            data,
        })
        .collect();
    if let Err(e) = w.0.append(&records) {
        let e = io(e);
        for q in batch {
            *q.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(e.clone()));
        }
        return;
    }
    drop(records);
    drop(datas);
    w.1 = first + batch.len() as u64;
    w.2 = at;
    let mut index = b.index.write().unwrap_or_else(|p| p.into_inner());
    for q in batch {
        let old = match q.change {
            Change::Put { key, meta, .. } => index.insert(key, meta),
            Change::Delete { key, .. } => index.remove(&key),
        };
        *q.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Ok(old));
    }
}

/// An object being written: its bytes go to a temporary file, and become the object only at
/// [`NewObject::commit`]; dropped uncommitted, the file is removed.
pub struct NewObject<'a> {
    store: &'a LocalStore,
    bucket: Arc<Bucket>,
    id: String,
    tmp: PathBuf,
    file: Arc<dyn DiskFile>,
    at: u64,
    md5: md5::Md5,
    done: bool,
}

impl NewObject<'_> {
    /// Appends bytes.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use md5::Digest as _;
        self.md5.update(chunk);
        self.file.write_all_at(chunk, self.at).map_err(io)?;
        self.at += chunk.len() as u64;
        Ok(())
    }

    /// The bytes written so far.
    pub fn len(&self) -> u64 {
        self.at
    }

    pub fn is_empty(&self) -> bool {
        self.at == 0
    }

    /// The MD5 of what was written (hex), without finishing.
    pub fn md5_hex(&self) -> String {
        use md5::Digest as _;
        hex(&self.md5.clone().finalize())
    }

    /// Makes the bytes durable (fsync, rename, fsync of the directory), then records the
    /// object under `key` (durably); returns its metadata once both are on disk. The ETag is
    /// the bytes' MD5.
    pub fn commit(self, key: &str, input: PutInput, origin: Origin, now_ms: i64) -> Result<ObjectMeta> {
        self.commit_if(key, input, origin, None, now_ms)
    }

    /// [`NewObject::commit`] under a condition on what the key holds, checked atomically
    /// with the commit ([`ObjectError::PreconditionFailed`] otherwise; the bytes are dropped).
    pub fn commit_if(
        self,
        key: &str,
        input: PutInput,
        origin: Origin,
        precondition: Option<Precondition>,
        now_ms: i64,
    ) -> Result<ObjectMeta> {
        let etag = self.md5_hex();
        self.commit_as(key, input, origin, now_ms, etag, None, None, precondition)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn commit_as(
        mut self,
        key: &str,
        input: PutInput,
        origin: Origin,
        now_ms: i64,
        etag: String,
        parts: Option<u32>,
        upload: Option<String>,
        precondition: Option<Precondition>,
    ) -> Result<ObjectMeta> {
        check_key(key)?;
        self.file.sync().map_err(io)?;
        let data = self.bucket.dir.join("data");
        self.store.disk.rename(&self.tmp, &data.join(&self.id)).map_err(io)?;
        self.done = true;
        self.store.disk.sync_dir(&data).map_err(io)?;
        let meta = ObjectMeta {
            size: self.at,
            etag,
            last_modified_ms: now_ms,
            content_type: input.content_type,
            content_encoding: input.content_encoding,
            user_metadata: input.user_metadata,
            file: self.id.clone(),
            headers: input.headers,
            tags: input.tags,
            checksum: input.checksum,
            parts,
            inline: None,
        };
        let change = Change::Put {
            key: key.to_owned(),
            meta: meta.clone(),
            origin,
            upload,
        };
        match self.store.record_with(&self.bucket, change, None, precondition, now_ms) {
            Ok(_) => Ok(meta),
            Err(e) => {
                // Not recorded: the file is an orphan (removed now, or at the next open).
                let _ = self.store.disk.remove_file(&data.join(&self.id));
                Err(e)
            }
        }
    }

    /// Drops the object: its temporary file is removed.
    pub fn abort(self) {}
}

impl Drop for NewObject<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.store.disk.remove_file(&self.tmp);
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(ObjectError::InvalidArgument(
            "Object keys must be 1 to 1,024 bytes long.".into(),
        ));
    }
    Ok(())
}

/// The index as the log says, the next record key, the multipart uploads completed, and the
/// last record's time.
#[allow(clippy::type_complexity)]
fn replay(reader: &LogReader) -> std::io::Result<(BTreeMap<String, ObjectMeta>, u64, Vec<String>, i64)> {
    let mut index = BTreeMap::new();
    let mut completed = Vec::new();
    let mut last = 0u64;
    let mut last_ms = i64::MIN;
    let limits = ReadLimits {
        from_key: 0,
        max_records: usize::MAX,
        max_bytes: usize::MAX,
        min_timestamp_ms: i64::MIN,
    };
    reader
        .read_each(limits, |r| {
            last = last.max(r.key.saturating_add(1));
            last_ms = last_ms.max(r.timestamp_ms);
            match decode(r.data) {
                Ok(Change::Put {
                    key, mut meta, upload, ..
                }) => {
                    if meta.inline.is_some() {
                        meta.inline = Some(r.key);
                    }
                    index.insert(key, meta);
                    completed.extend(upload);
                }
                Ok(Change::Delete { key, .. }) => {
                    index.remove(&key);
                }
                Err(e) => tracing::error!(error = %e, "a bucket index record does not decode; skipped"),
            }
            true
        })
        .map_err(std::io::Error::other)?;
    Ok((index, last.max(1), completed, last_ms))
}

/// A record's change: its JSON, up to the 0 byte that starts a small object's bytes.
fn decode(data: &[u8]) -> serde_json::Result<Change> {
    let json = data.split(|&c| c == 0).next().unwrap_or_default();
    serde_json::from_slice(json)
}

/// A small object's bytes, from its record.
fn inline_body(reader: &LogReader, at: u64) -> Result<Vec<u8>> {
    let mut body = None;
    let limits = ReadLimits {
        from_key: at,
        max_records: 1,
        max_bytes: usize::MAX,
        min_timestamp_ms: i64::MIN,
    };
    reader
        .read_each(limits, |r| {
            if r.key == at {
                body = r
                    .data
                    .iter()
                    .position(|&c| c == 0)
                    .map(|i| r.data.get(i + 1..).unwrap_or_default().to_vec());
            }
            false
        })
        .map_err(io)?;
    body.ok_or_else(|| ObjectError::Internal(format!("a small object's record {at} is missing")))
}

/// A small object's bytes, read like a file.
struct MemFile(Vec<u8>);

impl DiskFile for MemFile {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn read_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
        let from = usize::try_from(pos).unwrap_or(usize::MAX).min(self.0.len());
        let src = self.0.get(from..).unwrap_or_default();
        let n = src.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(src.get(..n).unwrap_or_default());
        Ok(n)
    }
    fn write_all_at(&self, _: &[u8], _: u64) -> std::io::Result<()> {
        Err(std::io::Error::other("a small object's bytes are read only"))
    }
    fn set_len(&self, _: u64) -> std::io::Result<()> {
        Err(std::io::Error::other("a small object's bytes are read only"))
    }
    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A random 128-bit id, as hex.
pub(crate) fn new_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}
