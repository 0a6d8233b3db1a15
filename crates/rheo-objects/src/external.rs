//! Buckets that live on another S3-compatible store (AWS S3, MinIO, moto, another Rheo), through
//! the `object_store` crate: Rheo's S3 API passes objects through to it, and delivery writes to
//! it. Configured per bucket: the endpoint, region, credentials, path or virtual-hosted style,
//! and the remote bucket's name.
//!
//! What passes through: objects (put, streamed in parts of 5 MiB when larger; get with a range
//! and conditions; head; delete; copy within the bucket), listings (S3's prefixes and delimiters
//! computed over the remote's ordered listing), and multipart uploads (create, part, complete,
//! abort). The remote store keeps its own durability and ETags. Keys must be ones
//! `object_store` can name: no empty segments (`a//b`), no `.` or `..` segments.

use crate::listing::ListRequest;
use crate::local::{ObjectError, PutInput, Result};
use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload,
    TagSet,
};
use serde::Deserialize;
use std::sync::Arc;

/// A bucket on another store, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExternalConfig {
    /// The bucket's name in Rheo.
    pub name: String,
    /// The store's endpoint, `http(s)://host:port`.
    pub endpoint: String,
    /// The bucket's name on the store (the same as `name` when absent).
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Path-style addressing (the default for custom endpoints); false: virtual-hosted.
    #[serde(default = "yes")]
    pub path_style: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn yes() -> bool {
    true
}

impl ExternalConfig {
    /// `name=NAME,endpoint=URL,access-key-id=K,secret-access-key=S[,bucket=B][,region=R][,path-style=false]`.
    pub fn parse_spec(spec: &str) -> std::result::Result<ExternalConfig, String> {
        let mut table = toml::Table::new();
        for part in spec.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {part:?}"))?;
            let value = match v {
                "true" => toml::Value::Boolean(true),
                "false" => toml::Value::Boolean(false),
                v => toml::Value::String(v.to_owned()),
            };
            table.insert(k.trim().to_owned(), value);
        }
        table.try_into().map_err(|e: toml::de::Error| e.message().to_owned())
    }
}

/// What the store says of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMeta {
    pub key: String,
    pub size: u64,
    /// Without quotes.
    pub etag: String,
    pub last_modified_ms: i64,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub headers: std::collections::BTreeMap<String, String>,
    pub user_metadata: std::collections::BTreeMap<String, String>,
}

/// A listing page from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemotePage {
    pub contents: Vec<RemoteMeta>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    pub next: Option<String>,
}

/// A bucket on another store.
pub struct External {
    pub config: ExternalConfig,
    store: Arc<AmazonS3>,
}

/// The part size a streamed put sends.
pub const PART_BYTES: usize = 5 << 20;

fn remote(e: object_store::Error) -> ObjectError {
    match e {
        object_store::Error::NotFound { .. } => ObjectError::NoSuchKey,
        object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. } => {
            ObjectError::PreconditionFailed
        }
        object_store::Error::InvalidPath { source } => {
            ObjectError::InvalidArgument(format!("This key cannot be stored on the external store: {source}"))
        }
        e => ObjectError::Internal(format!("the external store: {e}")),
    }
}

fn path(key: &str) -> Result<Path> {
    let p = Path::parse(key)
        .map_err(|e| ObjectError::InvalidArgument(format!("This key cannot be stored on the external store: {e}")))?;
    if p.as_ref() != key {
        return Err(ObjectError::InvalidArgument(format!(
            "This key cannot be stored on the external store as it is: {key:?}"
        )));
    }
    Ok(p)
}

fn attributes(input: &PutInput) -> Attributes {
    let mut a = Attributes::new();
    if let Some(t) = &input.content_type {
        a.insert(Attribute::ContentType, t.clone().into());
    }
    if let Some(e) = &input.content_encoding {
        a.insert(Attribute::ContentEncoding, e.clone().into());
    }
    for (name, attr) in [
        ("cache-control", Attribute::CacheControl),
        ("content-disposition", Attribute::ContentDisposition),
        ("content-language", Attribute::ContentLanguage),
    ] {
        if let Some(v) = input.headers.get(name) {
            a.insert(attr, v.clone().into());
        }
    }
    for (k, v) in &input.user_metadata {
        a.insert(Attribute::Metadata(k.clone().into()), v.clone().into());
    }
    a
}

fn tags(input: &PutInput) -> TagSet {
    let mut t = TagSet::default();
    for (k, v) in &input.tags {
        t.push(k, v);
    }
    t
}

fn meta_of(m: &object_store::ObjectMeta, attrs: Option<&Attributes>) -> RemoteMeta {
    let mut out = RemoteMeta {
        key: m.location.to_string(),
        size: m.size,
        etag: m.e_tag.clone().unwrap_or_default().trim_matches('"').to_owned(),
        last_modified_ms: m.last_modified.timestamp_millis(),
        content_type: None,
        content_encoding: None,
        headers: Default::default(),
        user_metadata: Default::default(),
    };
    for (k, v) in attrs.into_iter().flat_map(|a| a.iter()) {
        let v = v.to_string();
        match k {
            Attribute::ContentType => out.content_type = Some(v),
            Attribute::ContentEncoding => out.content_encoding = Some(v),
            Attribute::CacheControl => {
                out.headers.insert("cache-control".into(), v);
            }
            Attribute::ContentDisposition => {
                out.headers.insert("content-disposition".into(), v);
            }
            Attribute::ContentLanguage => {
                out.headers.insert("content-language".into(), v);
            }
            Attribute::Metadata(name) => {
                out.user_metadata.insert(name.to_string(), v);
            }
            _ => {}
        }
    }
    out
}

impl External {
    pub fn new(config: ExternalConfig) -> Result<External> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_region(&config.region)
            .with_bucket_name(config.bucket.as_deref().unwrap_or(&config.name))
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(!config.path_style)
            .build()
            .map_err(|e| ObjectError::Internal(format!("the external store {}: {e}", config.endpoint)))?;
        Ok(External {
            config,
            store: Arc::new(store),
        })
    }

    /// Puts an object whose bytes come from `next` (a chunk at a time): one request when it
    /// fits in a part, else a multipart upload of 5 MiB parts, one in flight (aborted if the
    /// body fails). `precondition` is `If-None-Match: *` (create only).
    pub async fn put<E: std::fmt::Display>(
        &self,
        key: &str,
        input: &PutInput,
        create_only: bool,
        mut body: impl futures_util::Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    ) -> std::result::Result<(String, u64), PutFailure<E>> {
        let p = path(key).map_err(PutFailure::Store)?;
        let mut buf: Vec<u8> = Vec::new();
        let mut total = 0u64;
        let mut upload = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    if let Some(mut u) = upload {
                        let _ = object_store::MultipartUpload::abort(&mut u).await;
                    }
                    return Err(PutFailure::Body(e));
                }
            };
            total += chunk.len() as u64;
            buf.extend_from_slice(&chunk);
            while buf.len() >= PART_BYTES {
                if upload.is_none() {
                    if create_only {
                        // A multipart upload cannot be conditional on every store: checked
                        // first instead.
                        if self.store.head(&p).await.is_ok() {
                            return Err(PutFailure::Store(ObjectError::PreconditionFailed));
                        }
                    }
                    let opts = object_store::PutMultipartOptions {
                        attributes: attributes(input),
                        tags: tags(input),
                        ..Default::default()
                    };
                    upload = Some(
                        self.store
                            .put_multipart_opts(&p, opts)
                            .await
                            .map_err(|e| PutFailure::Store(remote(e)))?,
                    );
                }
                let rest = buf.split_off(PART_BYTES);
                let part = std::mem::replace(&mut buf, rest);
                if let Some(u) = upload.as_mut() {
                    u.put_part(PutPayload::from(part))
                        .await
                        .map_err(|e| PutFailure::Store(remote(e)))?;
                }
            }
        }
        let result = match upload {
            Some(mut u) => {
                if !buf.is_empty() {
                    u.put_part(PutPayload::from(buf))
                        .await
                        .map_err(|e| PutFailure::Store(remote(e)))?;
                }
                u.complete().await.map_err(|e| PutFailure::Store(remote(e)))?
            }
            None => {
                let opts = PutOptions {
                    mode: if create_only {
                        PutMode::Create
                    } else {
                        PutMode::Overwrite
                    },
                    attributes: attributes(input),
                    tags: tags(input),
                    ..Default::default()
                };
                self.store
                    .put_opts(&p, PutPayload::from(buf), opts)
                    .await
                    .map_err(|e| PutFailure::Store(remote(e)))?
            }
        };
        Ok((result.e_tag.unwrap_or_default().trim_matches('"').to_owned(), total))
    }

    /// HeadObject (with the object's attributes).
    pub async fn head(&self, key: &str) -> Result<RemoteMeta> {
        let opts = GetOptions {
            head: true,
            ..Default::default()
        };
        let r = self.store.get_opts(&path(key)?, opts).await.map_err(remote)?;
        Ok(meta_of(&r.meta, Some(&r.attributes)))
    }

    /// GetObject: the object's metadata, the range served, and its bytes as a stream.
    pub async fn get(
        &self,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<(
        RemoteMeta,
        futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>,
    )> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let r = self.store.get_opts(&path(key)?, opts).await.map_err(remote)?;
        let meta = meta_of(&r.meta, Some(&r.attributes));
        Ok((meta, r.into_stream()))
    }

    /// DeleteObject (a missing key is no error).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(remote(e)),
        }
    }

    /// CopyObject within the bucket.
    pub async fn copy(&self, from: &str, to: &str) -> Result<RemoteMeta> {
        self.store.copy(&path(from)?, &path(to)?).await.map_err(remote)?;
        self.head(to).await
    }

    /// ListObjects(V2) over the store's ordered listing: the keys under the prefix's last
    /// `/` are read from just past `after` (or the prefix) and filtered, rolled up by the
    /// delimiter and cut at `max_keys`, as `listing` does for local buckets.
    pub async fn list(&self, req: &ListRequest<'_>) -> Result<RemotePage> {
        let dir = req.prefix.rfind('/').map(|i| req.prefix.get(..i).unwrap_or_default());
        let dir = match dir {
            Some(d) if !d.is_empty() => Some(Path::parse(d).map_err(|e| ObjectError::InvalidArgument(e.to_string()))?),
            _ => None,
        };
        let mut stream = match req.after.filter(|a| !a.is_empty()) {
            // Keys after the offset only; a common prefix's trailing delimiter is dropped (what
            // lies under it is skipped below).
            Some(a) => match Path::parse(a.trim_end_matches('/')) {
                Ok(o) => self.store.list_with_offset(dir.as_ref(), &o),
                Err(_) => self.store.list(dir.as_ref()),
            },
            None => self.store.list(dir.as_ref()),
        };
        let mut page = RemotePage::default();
        let mut count = 0usize;
        while let Some(item) = stream.next().await {
            let m = item.map_err(remote)?;
            let key = m.location.to_string();
            if !key.starts_with(req.prefix) {
                // Keys under a prefix are one run in the listing's order: past it, done.
                if key.as_str() > req.prefix {
                    break;
                }
                continue;
            }
            if req.after.is_some_and(|a| key.as_str() <= a) {
                continue;
            }
            let rest = key.get(req.prefix.len()..).unwrap_or_default();
            let rolled = req.delimiter.and_then(|d| {
                rest.find(d)
                    .map(|i| format!("{}{}", req.prefix, rest.get(..i + d.len()).unwrap_or_default()))
            });
            if let Some(cp) = rolled {
                if page.common_prefixes.last() == Some(&cp) || req.after.is_some_and(|a| cp.as_str() <= a) {
                    continue;
                }
                if count == req.max_keys {
                    page.truncated = true;
                    break;
                }
                page.common_prefixes.push(cp.clone());
                page.next = Some(cp);
            } else {
                if count == req.max_keys {
                    page.truncated = true;
                    break;
                }
                page.next = Some(key);
                page.contents.push(meta_of(&m, None));
            }
            count += 1;
        }
        if !page.truncated {
            page.next = None;
        }
        Ok(page)
    }

    /// CreateMultipartUpload.
    pub async fn create_upload(&self, key: &str) -> Result<String> {
        self.store.create_multipart(&path(key)?).await.map_err(remote)
    }

    /// UploadPart: its ETag (the store's).
    pub async fn upload_part(&self, key: &str, id: &str, number: u32, body: Vec<u8>) -> Result<String> {
        let part = self
            .store
            .put_part(
                &path(key)?,
                &id.to_owned(),
                number.saturating_sub(1) as usize,
                PutPayload::from(body),
            )
            .await
            .map_err(remote)?;
        Ok(part.content_id.trim_matches('"').to_owned())
    }

    /// CompleteMultipartUpload: the parts' ETags in order.
    pub async fn complete_upload(&self, key: &str, id: &str, etags: Vec<String>) -> Result<String> {
        let parts = etags.into_iter().map(|e| PartId { content_id: e }).collect();
        let r = self
            .store
            .complete_multipart(&path(key)?, &id.to_owned(), parts)
            .await
            .map_err(remote)?;
        Ok(r.e_tag.unwrap_or_default().trim_matches('"').to_owned())
    }

    /// AbortMultipartUpload.
    pub async fn abort_upload(&self, key: &str, id: &str) -> Result<()> {
        self.store
            .abort_multipart(&path(key)?, &id.to_owned())
            .await
            .map_err(remote)
    }
}

/// Why an external put failed: its body (the request's own error), or the store.
#[derive(Debug)]
pub enum PutFailure<E> {
    Body(E),
    Store(ObjectError),
}
