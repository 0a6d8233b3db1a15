//! Local buckets: objects on this machine's disk, durable.
//!
//! Layout, under a tenant's `s3/` directory:
//! - `buckets.json`: the buckets (name, creation time), replaced whole on each change
//!   (temporary file, fsync, rename, fsync of the directory);
//! - `<bucket>/data/<id>`: each object's bytes, in a file of its own named by a random id, so
//!   that keys keep S3's semantics (any UTF-8, `/` an ordinary character, a key also a prefix
//!   of others) whatever the filesystem allows. A put streams the body into `<id>.tmp`, fsyncs
//!   it, renames it and fsyncs the directory;
//! - `<bucket>/index/`: a segmented log (`rheo-log`) of the bucket's changes, each a JSON
//!   record `{"op": "put", "key", "meta"}` or `{"op": "delete", "key"}`, appended and fsynced
//!   after the object's file is durable. An object exists once its put record is on disk, so a
//!   crash at any moment leaves every acknowledged object whole and no partial one visible.
//!   At open the log is replayed into the key index (in memory); data files no record names
//!   (a crash between the file and its record, or a replaced object) are removed.

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
}

/// What a put carries besides the body.
#[derive(Debug, Clone, Default)]
pub struct PutInput {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub user_metadata: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Change {
    Put { key: String, meta: ObjectMeta },
    Delete { key: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct BucketDef {
    name: String,
    created_ms: i64,
}

struct Bucket {
    def: BucketDef,
    dir: PathBuf,
    /// The index log's writer, and the next key; held for each change, so changes to one
    /// bucket are in order.
    writer: Mutex<(LogWriter, u64)>,
    index: RwLock<BTreeMap<String, ObjectMeta>>,
}

/// One tenant's local buckets.
pub struct LocalStore {
    disk: Arc<dyn Disk>,
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

    fn bucket(&self, name: &str) -> Result<Arc<Bucket>> {
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
        let (index, next) = replay(&reader)?;
        // Data files no record names: a put cut short, or an object replaced or deleted.
        let live: std::collections::HashSet<&str> = index.values().map(|m| m.file.as_str()).collect();
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
            def,
            dir,
            writer: Mutex::new((writer, next)),
            index: RwLock::new(index),
        })
    }

    fn save_catalog(&self, buckets: &BTreeMap<String, Arc<Bucket>>) -> Result<()> {
        let defs: Vec<&BucketDef> = buckets.values().map(|b| &b.def).collect();
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

    /// PutObject: streams `body` to a new file (its MD5 computed on the way), makes it
    /// durable, then records it; returns once the record is on disk. A put of a key that
    /// exists replaces it.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        input: PutInput,
        body: &mut dyn Read,
        now_ms: i64,
    ) -> Result<ObjectMeta> {
        check_key(key)?;
        let b = self.bucket(bucket)?;
        let file = new_id();
        let data = b.dir.join("data");
        let tmp = data.join(format!("{file}.tmp"));
        let (size, md5) = self.write_file(&tmp, body)?;
        self.disk.rename(&tmp, &data.join(&file)).map_err(io)?;
        self.disk.sync_dir(&data).map_err(io)?;
        let meta = ObjectMeta {
            size,
            etag: md5,
            last_modified_ms: now_ms,
            content_type: input.content_type,
            content_encoding: input.content_encoding,
            user_metadata: input.user_metadata,
            file,
        };
        let old = self.record(
            &b,
            Change::Put {
                key: key.to_owned(),
                meta: meta.clone(),
            },
            now_ms,
        )?;
        if let Some(old) = old {
            let _ = self.disk.remove_file(&data.join(old.file));
        }
        Ok(meta)
    }

    fn write_file(&self, path: &Path, body: &mut dyn Read) -> Result<(u64, String)> {
        use md5::Digest as _;
        let f = self.disk.open(path, true).map_err(io)?;
        f.set_len(0).map_err(io)?;
        let mut hasher = md5::Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = self.disk.remove_file(path);
                    return Err(ObjectError::InvalidArgument(format!(
                        "the request body could not be read: {e}"
                    )));
                }
            };
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            f.write_all_at(chunk, at).map_err(io)?;
            at += n as u64;
        }
        f.sync().map_err(io)?;
        let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok((at, digest))
    }

    /// Appends a change durably and applies it to the index; returns the object it replaced.
    fn record(&self, b: &Bucket, change: Change, now_ms: i64) -> Result<Option<ObjectMeta>> {
        let bytes = serde_json::to_vec(&change).map_err(io)?;
        let mut w = b.writer.lock().unwrap_or_else(|p| p.into_inner());
        let key = w.1;
        w.0.append(&[NewRecord {
            key,
            timestamp_ms: now_ms,
            partition_key: b"",
            data: &bytes,
        }])
        .map_err(io)?;
        w.1 = key + 1;
        let mut index = b.index.write().unwrap_or_else(|p| p.into_inner());
        Ok(match change {
            Change::Put { key, meta } => index.insert(key, meta),
            Change::Delete { key } => index.remove(&key),
        })
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
        let f = self
            .disk
            .open(&b.dir.join("data").join(&meta.file), false)
            .map_err(io)?;
        Ok((meta, f))
    }

    /// DeleteObject: a key that does not exist is no error (as S3).
    pub fn delete_object(&self, bucket: &str, key: &str, now_ms: i64) -> Result<()> {
        let b = self.bucket(bucket)?;
        if !b.index.read().unwrap_or_else(|p| p.into_inner()).contains_key(key) {
            return Ok(());
        }
        if let Some(old) = self.record(&b, Change::Delete { key: key.to_owned() }, now_ms)? {
            let _ = self.disk.remove_file(&b.dir.join("data").join(old.file));
        }
        Ok(())
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

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(ObjectError::InvalidArgument(
            "Object keys must be 1 to 1,024 bytes long.".into(),
        ));
    }
    Ok(())
}

/// The index as the log says, and the next record key.
fn replay(reader: &LogReader) -> std::io::Result<(BTreeMap<String, ObjectMeta>, u64)> {
    let mut index = BTreeMap::new();
    let mut last = 0u64;
    let limits = ReadLimits {
        from_key: 0,
        max_records: usize::MAX,
        max_bytes: usize::MAX,
        min_timestamp_ms: i64::MIN,
    };
    reader
        .read_each(limits, |r| {
            last = last.max(r.key.saturating_add(1));
            match serde_json::from_slice::<Change>(r.data) {
                Ok(Change::Put { key, meta }) => {
                    index.insert(key, meta);
                }
                Ok(Change::Delete { key }) => {
                    index.remove(&key);
                }
                Err(e) => tracing::error!(error = %e, "a bucket index record does not decode; skipped"),
            }
            true
        })
        .map_err(std::io::Error::other)?;
    Ok((index, last.max(1)))
}

/// A random 128-bit id, as hex.
fn new_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}
