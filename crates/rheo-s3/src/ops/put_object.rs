use super::common::{
    MemSink, blocking, check_write_conditions, checksum_fields, etag, origin, precondition, put_input, receive,
    store_error,
};
use rheo_objects::local::INLINE_MAX;
use crate::RequestContext;
use s3s::dto::{PutObjectInput, PutObjectOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<PutObjectInput>) -> S3Result<PutObjectOutput> {
    let input = req.input;
    super::common::check_upload_size(input.content_length)?;
    let mut put = put_input(
        input.content_type,
        input.content_encoding,
        input.metadata,
        input.cache_control,
        input.content_disposition,
        input.content_language,
        input.expires.as_ref(),
        input.tagging.as_deref(),
    )?;
    if let Some(x) = super::common::external(cx, &input.bucket) {
        let create_only = matches!(
            super::common::precondition(input.if_match.as_ref(), input.if_none_match.as_ref()),
            Some(rheo_objects::local::Precondition::Absent)
        );
        if input.if_match.is_some() {
            return Err(super::common::error("NotImplemented", "If-Match is not passed through to external stores."));
        }
        let body = input.body.ok_or_else(|| super::common::error("IncompleteBody", "The request has no body."))?;
        let checked = super::common::Checked::new(body, input.content_md5.as_deref(), input.content_length)?;
        let (etag, size) = x.put(&input.key, &put, create_only, checked).await.map_err(super::common::put_failure)?;
        return Ok(PutObjectOutput {
            e_tag: Some(s3s::dto::ETag::Strong(etag)),
            size: i64::try_from(size).ok(),
            ..Default::default()
        });
    }
    // Checked before the body is read (a doomed upload is refused at once), and again,
    // atomically, when it commits: a conditional create never replaces what another request
    // wrote meanwhile.
    if input.if_match.is_some() || input.if_none_match.is_some() {
        let current = cx.store.head_object(&input.bucket, &input.key).ok();
        check_write_conditions(current.as_ref(), input.if_match.as_ref(), input.if_none_match.as_ref())?;
    }
    let pre = precondition(input.if_match.as_ref(), input.if_none_match.as_ref());
    let small = input
        .content_length
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= INLINE_MAX);
    let meta = if let Some(n) = small {
        // Small: gathered in memory and written with its record in the bucket's log.
        cx.store.head_bucket(&input.bucket).map_err(store_error)?;
        let mut mem = MemSink(Vec::with_capacity(n));
        put.checksum = receive(cx, input.body, input.content_length, input.content_md5.as_deref(), &mut mem).await?;
        blocking(|| {
            cx.store
                .put_inline(&input.bucket, &input.key, put, mem.0, origin(cx, "ObjectCreated:Put"), pre, cx.now_ms)
        })
        .map_err(store_error)?
    } else {
        let mut obj = blocking(|| cx.store.new_object(&input.bucket)).map_err(store_error)?;
        put.checksum = receive(cx, input.body, input.content_length, input.content_md5.as_deref(), &mut obj).await?;
        blocking(|| obj.commit_if(&input.key, put, origin(cx, "ObjectCreated:Put"), pre, cx.now_ms))
            .map_err(store_error)?
    };
    cx.events.changed(&input.bucket);
    let [crc32, crc32c, crc64nvme, sha1, sha256] = checksum_fields(meta.checksum.as_ref());
    Ok(PutObjectOutput {
        e_tag: Some(etag(&meta)),
        checksum_crc32: crc32,
        checksum_crc32c: crc32c,
        checksum_crc64nvme: crc64nvme,
        checksum_sha1: sha1,
        checksum_sha256: sha256,
        checksum_type: meta.checksum.as_ref().map(|_| s3s::dto::ChecksumType::from_static(s3s::dto::ChecksumType::FULL_OBJECT)),
        size: i64::try_from(meta.size).ok(),
        ..Default::default()
    })
}
