//! What the actions share: the request's context, S3's errors for the store's, time, and
//! streaming bodies to and from disk.

use crate::RequestContext;
use crate::body::BodyError;
use bytes::Bytes;
use rheo_objects::local::{ObjectError, ObjectMeta, Origin, PutInput};
use s3s::dto::{ETag, StreamingBlob, Timestamp};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Result, s3_error};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) fn context<T>(req: &S3Request<T>) -> S3Result<RequestContext> {
    req.extensions
        .get::<RequestContext>()
        .cloned()
        .ok_or_else(|| s3_error!(InternalError, "the request has no context"))
}

/// The status of the codes s3s does not know the status of.
pub(crate) fn status_of(code: &S3ErrorCode) -> Option<http::StatusCode> {
    match code.as_str() {
        "XAmzContentSHA256Mismatch" | "AuthorizationHeaderMalformed" => Some(http::StatusCode::BAD_REQUEST),
        _ => None,
    }
}

pub(crate) fn error(code: &str, message: impl Into<String>) -> S3Error {
    let code: S3ErrorCode = code.parse().unwrap_or(S3ErrorCode::InternalError);
    let mut e = S3Error::with_message(code, message.into());
    if let Some(s) = status_of(e.code()) {
        e.set_status_code(s);
    }
    e
}

/// S3's error for a store's.
pub(crate) fn store_error(e: ObjectError) -> S3Error {
    let code = match &e {
        ObjectError::NoSuchBucket => S3ErrorCode::NoSuchBucket,
        ObjectError::NoSuchKey => S3ErrorCode::NoSuchKey,
        ObjectError::BucketNotEmpty => S3ErrorCode::BucketNotEmpty,
        ObjectError::BucketAlreadyOwnedByYou => S3ErrorCode::BucketAlreadyOwnedByYou,
        ObjectError::InvalidBucketName => S3ErrorCode::InvalidBucketName,
        ObjectError::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
        ObjectError::NoSuchUpload => S3ErrorCode::NoSuchUpload,
        ObjectError::InvalidPart => S3ErrorCode::InvalidPart,
        ObjectError::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
        ObjectError::EntityTooSmall => S3ErrorCode::EntityTooSmall,
        ObjectError::PreconditionFailed => S3ErrorCode::PreconditionFailed,
        ObjectError::Internal(m) => {
            tracing::error!(error = %m, "a bucket operation failed");
            return S3Error::with_message(S3ErrorCode::InternalError, e.to_string());
        }
    };
    S3Error::with_message(code, e.to_string())
}

/// Runs blocking disk work without stalling the runtime's other tasks.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    Timestamp::from(t)
}

pub(crate) fn ms_of(t: &Timestamp) -> i64 {
    let mut buf = Vec::new();
    if t.format(s3s::dto::TimestampFormat::EpochSeconds, &mut buf).is_err() {
        return 0;
    }
    std::str::from_utf8(&buf)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(0, |s| (s * 1000.0) as i64)
}

pub(crate) fn etag(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag.clone())
}

pub(crate) fn origin(cx: &RequestContext, event: &str) -> Origin {
    Origin {
        event: event.to_owned(),
        principal: cx.principal.clone(),
        source_ip: cx.source_ip.clone(),
    }
}

/// What a put keeps of its request: type, encoding, user metadata, the other headers S3
/// returns, tags (`x-amz-tagging`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn put_input(
    content_type: Option<String>,
    content_encoding: Option<String>,
    metadata: Option<s3s::dto::Metadata>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    expires: Option<&Timestamp>,
    tagging: Option<&str>,
) -> S3Result<PutInput> {
    let mut headers = BTreeMap::new();
    for (name, v) in [
        ("cache-control", cache_control),
        ("content-disposition", content_disposition),
        ("content-language", content_language),
    ] {
        if let Some(v) = v {
            headers.insert(name.to_owned(), v);
        }
    }
    if let Some(e) = expires {
        headers.insert("expires".to_owned(), ms_of(e).to_string());
    }
    let tags = match tagging {
        Some(t) => parse_tag_query(t)?,
        None => BTreeMap::new(),
    };
    Ok(PutInput {
        content_type,
        content_encoding: content_encoding.filter(|e| !e.is_empty()),
        user_metadata: metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        headers,
        tags,
        checksum: None,
    })
}

/// `x-amz-tagging`: `k1=v1&k2=v2`, URL-encoded.
fn parse_tag_query(s: &str) -> S3Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.insert(url_decode(k), url_decode(v));
    }
    check_tags(&tags, 10)?;
    Ok(tags)
}

fn url_decode(s: &str) -> String {
    rheo_wire::sigv4::percent_decode_path(&s.replace('+', " "))
}

/// S3's limits on a tag set: at most `max` tags (10 on objects, 50 on buckets), keys of 1 to
/// 128 characters, values up to 256.
pub(crate) fn check_tags(tags: &BTreeMap<String, String>, max: usize) -> S3Result<()> {
    if tags.len() > max {
        return Err(error("BadRequest", format!("Object tags cannot be greater than {max}")));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(error("InvalidTag", "The TagKey you have provided is invalid"));
        }
        if v.chars().count() > 256 {
            return Err(error("InvalidTag", "The TagValue you have provided is invalid"));
        }
    }
    Ok(())
}

pub(crate) fn tags_of(tagging: &s3s::dto::Tagging, max: usize) -> S3Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for t in &tagging.tag_set {
        let k = t.key.clone().unwrap_or_default();
        if out.insert(k, t.value.clone().unwrap_or_default()).is_some() {
            return Err(error("InvalidTag", "Cannot provide multiple Tags with the same key"));
        }
    }
    check_tags(&out, max)?;
    Ok(out)
}

pub(crate) fn tag_set(tags: &BTreeMap<String, String>) -> Vec<s3s::dto::Tag> {
    tags.iter()
        .map(|(k, v)| s3s::dto::Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// The S3 error a body's stream failed with.
fn body_error(e: &(dyn std::error::Error + 'static)) -> S3Error {
    match e.downcast_ref::<BodyError>() {
        Some(b) => error(b.code, b.message.clone()),
        None => error("IncompleteBody", format!("The request body could not be read: {e}")),
    }
}

/// Where a body's bytes go.
pub(crate) trait Sink {
    fn write(&mut self, chunk: &[u8]) -> rheo_objects::local::Result<()>;
    fn md5_hex(&self) -> String;
}

impl Sink for rheo_objects::local::NewObject<'_> {
    fn write(&mut self, chunk: &[u8]) -> rheo_objects::local::Result<()> {
        rheo_objects::local::NewObject::write(self, chunk)
    }
    fn md5_hex(&self) -> String {
        rheo_objects::local::NewObject::md5_hex(self)
    }
}

impl Sink for rheo_objects::multipart::PartWriter {
    fn write(&mut self, chunk: &[u8]) -> rheo_objects::local::Result<()> {
        rheo_objects::multipart::PartWriter::write(self, chunk)
    }
    fn md5_hex(&self) -> String {
        rheo_objects::multipart::PartWriter::md5_hex(self)
    }
}

/// A small object's bytes, gathered in memory (at most `INLINE_MAX`; a body longer than its
/// Content-Length is refused before it grows past it).
pub(crate) struct MemSink(pub Vec<u8>);

impl Sink for MemSink {
    fn write(&mut self, chunk: &[u8]) -> rheo_objects::local::Result<()> {
        if self.0.len() + chunk.len() > rheo_objects::local::INLINE_MAX {
            return Err(rheo_objects::local::ObjectError::InvalidArgument(
                "The request body is longer than its Content-Length.".into(),
            ));
        }
        self.0.extend_from_slice(chunk);
        Ok(())
    }
    fn md5_hex(&self) -> String {
        use md5::Digest as _;
        md5::Md5::digest(&self.0).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// S3's largest single upload (PutObject, UploadPart).
pub(crate) const MAX_UPLOAD: i64 = 5 << 30;

/// EntityTooLarge past [`MAX_UPLOAD`].
pub(crate) fn check_upload_size(content_length: Option<i64>) -> S3Result<()> {
    match content_length {
        Some(n) if n > MAX_UPLOAD => Err(error(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        )),
        _ => Ok(()),
    }
}

/// Bytes gathered before each write to disk.
const WRITE_BYTES: usize = 1 << 20;

/// Streams a request body into `sink`, 1 MiB per write, and checks it: its length against
/// Content-Length, its Content-MD5, and (the body's own checks) signatures and checksums.
/// Returns the checksum verified, if any.
pub(crate) async fn receive(
    cx: &RequestContext,
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    content_md5: Option<&str>,
    sink: &mut impl Sink,
) -> S3Result<Option<(String, String)>> {
    let mut buf: Vec<u8> =
        Vec::with_capacity(WRITE_BYTES.min(usize::try_from(content_length.unwrap_or(0)).unwrap_or(0).max(4096)));
    let mut total = 0u64;
    if let Some(mut body) = body {
        loop {
            let next = std::future::poll_fn(|c| poll_next(&mut body, c)).await;
            match next {
                None => break,
                Some(Ok(chunk)) => {
                    total += chunk.len() as u64;
                    buf.extend_from_slice(&chunk);
                    if buf.len() >= WRITE_BYTES {
                        blocking(|| sink.write(&buf)).map_err(super::common::store_error)?;
                        buf.clear();
                    }
                }
                Some(Err(e)) => return Err(body_error(&*e)),
            }
        }
    }
    if !buf.is_empty() {
        blocking(|| sink.write(&buf)).map_err(store_error)?;
    }
    if let Some(n) = content_length
        && u64::try_from(n).ok() != Some(total)
    {
        return Err(error(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ));
    }
    if let Some(given) = content_md5 {
        let raw = rheo_wire::decode_blob(given)
            .ok()
            .filter(|r| r.len() == 16)
            .ok_or_else(|| error("InvalidDigest", "The Content-MD5 you specified was invalid."))?;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        if hex != sink.md5_hex() {
            return Err(error(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    Ok(cx.verified.lock().unwrap_or_else(|p| p.into_inner()).take())
}

fn poll_next(body: &mut StreamingBlob, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, s3s::StdError>>> {
    futures_core::Stream::poll_next(Pin::new(body), cx)
}

/// Sets the output's checksum fields from a stored checksum.
pub(crate) fn checksum_fields(sum: Option<&(String, String)>) -> [Option<String>; 5] {
    let mut out: [Option<String>; 5] = Default::default();
    if let Some((alg, v)) = sum {
        let i = crate::body::ALGORITHMS.iter().position(|a| a == alg);
        if let Some(slot) = i.and_then(|i| out.get_mut(i)) {
            *slot = Some(v.clone());
        }
    }
    out
}

/// The bytes `range` of a file, streamed from a blocking reader 256 KiB at a time.
pub(crate) fn file_stream(file: std::sync::Arc<dyn rheo_log::DiskFile>, start: u64, end: u64) -> StreamingBlob {
    const PIECE: u64 = 256 << 10;
    if end - start <= PIECE {
        let mut buf = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        let r = blocking(|| rheo_log::disk::read_full_at(&*file, &mut buf, start));
        let item: Result<Bytes, std::io::Error> = match r {
            Ok(n) if n == buf.len() => Ok(Bytes::from(buf)),
            Ok(_) => Err(std::io::Error::other("an object's file is shorter than recorded")),
            Err(e) => Err(e),
        };
        return StreamingBlob::wrap(Once(Some(item)));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut at = start;
        while at < end {
            let n = usize::try_from((end - at).min(PIECE)).unwrap_or(0);
            let mut buf = vec![0u8; n];
            let item = match rheo_log::disk::read_full_at(&*file, &mut buf, at) {
                Ok(got) if got == n => Ok(Bytes::from(buf)),
                Ok(_) => Err(std::io::Error::other("an object's file is shorter than recorded")),
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
            at += n as u64;
        }
    });
    StreamingBlob::wrap(Received(rx))
}

struct Once(Option<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Once {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.get_mut().0.take())
    }
}

struct Received(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Received {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx)
    }
}

/// `encoding-type=url`: S3 percent-encodes keys and prefixes in the listing.
pub(crate) fn list_encode(s: &str, url: bool) -> String {
    if !url {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn is_url(e: Option<&s3s::dto::EncodingType>) -> S3Result<bool> {
    match e.map(|e| e.as_str()) {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(error("InvalidArgument", "Invalid Encoding Method specified in Request")),
    }
}

pub(crate) fn max_keys(n: Option<i32>) -> S3Result<usize> {
    match n {
        None => Ok(1000),
        Some(n) if n < 0 => Err(error("InvalidArgument", "max-keys cannot be negative")),
        Some(n) => Ok(usize::try_from(n).unwrap_or(0).min(1000)),
    }
}

/// The object's conditions (If-Match, If-None-Match, If-Modified-Since,
/// If-Unmodified-Since) as S3 checks them for a read: 412 or 304.
pub(crate) fn check_read_conditions(
    etag: &str,
    last_modified_ms: i64,
    if_match: Option<&s3s::dto::ETagCondition>,
    if_none_match: Option<&s3s::dto::ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let matches = |c: &s3s::dto::ETagCondition| c.is_any() || c.as_etag().is_some_and(|e| e.value() == etag);
    let modified_s = last_modified_ms / 1000;
    if let Some(c) = if_match {
        if !matches(c) {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
    } else if let Some(t) = if_unmodified_since
        && modified_s > ms_of(t) / 1000
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ));
    }
    if let Some(c) = if_none_match {
        if matches(c) {
            return Err(s3_error!(NotModified));
        }
    } else if let Some(t) = if_modified_since
        && modified_s <= ms_of(t) / 1000
    {
        return Err(s3_error!(NotModified));
    }
    Ok(())
}

/// A conditional write's check against what the key holds: `If-None-Match: *` needs none,
/// `If-Match` the same ETag.
pub(crate) fn check_write_conditions(
    current: Option<&ObjectMeta>,
    if_match: Option<&s3s::dto::ETagCondition>,
    if_none_match: Option<&s3s::dto::ETagCondition>,
) -> S3Result<()> {
    if let Some(c) = if_none_match
        && current.is_some_and(|m| c.is_any() || c.as_etag().is_some_and(|e| e.value() == m.etag))
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ));
    }
    if let Some(c) = if_match {
        match current {
            None => return Err(s3_error!(NoSuchKey)),
            Some(m) if !(c.is_any() || c.as_etag().is_some_and(|e| e.value() == m.etag)) => {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A conditional write's headers as the condition the store checks with the commit.
pub(crate) fn precondition(
    if_match: Option<&s3s::dto::ETagCondition>,
    if_none_match: Option<&s3s::dto::ETagCondition>,
) -> Option<rheo_objects::local::Precondition> {
    use rheo_objects::local::Precondition;
    if let Some(c) = if_none_match {
        return Some(match c.as_etag() {
            Some(e) if !c.is_any() => Precondition::EtagIsNot(e.value().to_owned()),
            _ => Precondition::Absent,
        });
    }
    if_match.map(|c| match c.as_etag() {
        Some(e) if !c.is_any() => Precondition::EtagIs(e.value().to_owned()),
        _ => Precondition::Present,
    })
}

/// Refuses what Rheo does not keep: versions.
pub(crate) fn no_versions(version_id: Option<&String>) -> S3Result<()> {
    match version_id {
        Some(v) if v != "null" => Err(error("InvalidArgument", "Invalid version id specified")),
        _ => Ok(()),
    }
}

/// The bucket's external store, if it lives on one.
pub(crate) fn external<'a>(cx: &'a RequestContext, bucket: &str) -> Option<&'a rheo_objects::external::External> {
    cx.externals.get(bucket).map(|e| &**e)
}

/// Refuses an action Rheo does not pass through to external stores.
pub(crate) fn local_only(cx: &RequestContext, bucket: &str) -> S3Result<()> {
    if cx.externals.contains_key(bucket) {
        return Err(error(
            "NotImplemented",
            "This operation is not passed through to buckets on external stores.",
        ));
    }
    Ok(())
}

/// A body checked as it streams to an external store: its length against Content-Length and
/// its Content-MD5, failing before its end (so the store never completes the object).
pub(crate) struct Checked {
    inner: StreamingBlob,
    md5: Option<(md5::Md5, String)>,
    want_len: Option<u64>,
    seen: u64,
    ended: bool,
}

impl Checked {
    pub(crate) fn new(
        inner: StreamingBlob,
        content_md5: Option<&str>,
        content_length: Option<i64>,
    ) -> S3Result<Checked> {
        use md5::Digest as _;
        let md5 = match content_md5 {
            Some(given) => {
                let raw = rheo_wire::decode_blob(given)
                    .ok()
                    .filter(|r| r.len() == 16)
                    .ok_or_else(|| error("InvalidDigest", "The Content-MD5 you specified was invalid."))?;
                Some((md5::Md5::new(), raw.iter().map(|b| format!("{b:02x}")).collect()))
            }
            None => None,
        };
        Ok(Checked {
            inner,
            md5,
            want_len: content_length.and_then(|n| u64::try_from(n).ok()),
            seen: 0,
            ended: false,
        })
    }
}

/// An S3 error carried through a stream.
#[derive(Debug)]
pub(crate) struct StreamError(pub S3Error);

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0.code())
    }
}

impl futures_core::Stream for Checked {
    type Item = Result<Bytes, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        use md5::Digest as _;
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match poll_next(&mut this.inner, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(b))) => {
                this.seen += b.len() as u64;
                if let Some((h, _)) = &mut this.md5 {
                    h.update(&b);
                }
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                Poll::Ready(Some(Err(StreamError(body_error(&*e)))))
            }
            Poll::Ready(None) => {
                this.ended = true;
                if this.want_len.is_some_and(|n| n != this.seen) {
                    return Poll::Ready(Some(Err(StreamError(error(
                        "IncompleteBody",
                        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                    )))));
                }
                if let Some((h, want)) = this.md5.take() {
                    let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                    if got != want {
                        return Poll::Ready(Some(Err(StreamError(error(
                            "BadDigest",
                            "The Content-MD5 you specified did not match what we received.",
                        )))));
                    }
                }
                Poll::Ready(None)
            }
        }
    }
}

/// The S3 error of a failed external put.
pub(crate) fn put_failure(e: rheo_objects::external::PutFailure<StreamError>) -> S3Error {
    match e {
        rheo_objects::external::PutFailure::Body(StreamError(e)) => e,
        rheo_objects::external::PutFailure::Store(e) => store_error(e),
    }
}

/// An external store's object stream as a response body.
pub(crate) fn remote_stream(s: futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>) -> StreamingBlob {
    StreamingBlob::wrap(Remote(std::sync::Mutex::new(s)))
}

struct Remote(std::sync::Mutex<futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>>);

impl futures_core::Stream for Remote {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        s.as_mut()
            .poll_next(cx)
            .map(|o| o.map(|r| r.map_err(std::io::Error::other)))
    }
}

/// A listing page, from the local store or the bucket's external one.
pub(crate) async fn list_page(
    cx: &RequestContext,
    bucket: &str,
    req: &rheo_objects::listing::ListRequest<'_>,
) -> S3Result<rheo_objects::local::OwnedPage> {
    let Some(x) = external(cx, bucket) else {
        return cx.store.list_objects(bucket, req).map_err(store_error);
    };
    let page = x.list(req).await.map_err(store_error)?;
    Ok(rheo_objects::local::OwnedPage {
        contents: page
            .contents
            .into_iter()
            .map(|m| {
                let meta = ObjectMeta {
                    size: m.size,
                    etag: m.etag,
                    last_modified_ms: m.last_modified_ms,
                    content_type: None,
                    content_encoding: None,
                    user_metadata: Default::default(),
                    file: String::new(),
                    headers: Default::default(),
                    tags: Default::default(),
                    checksum: None,
                    parts: None,
                    inline: None,
                };
                (m.key, meta)
            })
            .collect(),
        common_prefixes: page.common_prefixes,
        truncated: page.truncated,
        next: page.next,
    })
}
