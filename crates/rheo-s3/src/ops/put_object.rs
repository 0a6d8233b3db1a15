use super::common::{
    blocking, check_write_conditions, checksum_fields, etag, origin, put_input, receive, store_error,
};
use crate::RequestContext;
use s3s::dto::{PutObjectInput, PutObjectOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<PutObjectInput>) -> S3Result<PutObjectOutput> {
    let input = req.input;
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
    let current = || cx.store.head_object(&input.bucket, &input.key).ok();
    if input.if_match.is_some() || input.if_none_match.is_some() {
        check_write_conditions(current().as_ref(), input.if_match.as_ref(), input.if_none_match.as_ref())?;
    }
    let mut obj = blocking(|| cx.store.new_object(&input.bucket)).map_err(store_error)?;
    put.checksum = receive(cx, input.body, input.content_length, input.content_md5.as_deref(), &mut obj).await?;
    // Checked again at the commit: a conditional create must not replace what another
    // request wrote meanwhile (the store's commit is ordered per bucket).
    if input.if_match.is_some() || input.if_none_match.is_some() {
        check_write_conditions(current().as_ref(), input.if_match.as_ref(), input.if_none_match.as_ref())?;
    }
    let meta = blocking(|| obj.commit(&input.key, put, origin(cx, "ObjectCreated:Put"), cx.now_ms)).map_err(store_error)?;
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
