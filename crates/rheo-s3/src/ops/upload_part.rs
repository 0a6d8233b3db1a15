use super::common::{blocking, checksum_fields, receive, store_error};
use crate::RequestContext;
use s3s::dto::{ETag, UploadPartInput, UploadPartOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<UploadPartInput>) -> S3Result<UploadPartOutput> {
    let input = req.input;
    super::common::check_upload_size(input.content_length)?;
    let number = u32::try_from(input.part_number).unwrap_or(0);
    if let Some(x) = super::common::external(cx, &input.bucket) {
        if !(1..=10_000).contains(&number) {
            return Err(super::common::error(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        // A part is at most 5 GiB (checked above); gathered, then sent in one request.
        let mut mem = Vec::new();
        let body = input.body.ok_or_else(|| super::common::error("IncompleteBody", "The request has no body."))?;
        let mut checked = super::common::Checked::new(body, input.content_md5.as_deref(), input.content_length)?;
        while let Some(chunk) = std::future::poll_fn(|c| futures_core::Stream::poll_next(std::pin::Pin::new(&mut checked), c)).await {
            mem.extend_from_slice(&chunk.map_err(|e| e.0)?);
        }
        let etag = x.upload_part(&input.key, &input.upload_id, number, mem).await.map_err(store_error)?;
        return Ok(UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        });
    }
    let mut part = blocking(|| cx.store.upload_part(&input.bucket, &input.upload_id, &input.key, number))
        .map_err(store_error)?;
    let checksum = receive(cx, input.body, input.content_length, input.content_md5.as_deref(), &mut part).await?;
    let etag = blocking(|| part.commit(cx.now_ms)).map_err(store_error)?;
    let [crc32, crc32c, crc64nvme, sha1, sha256] = checksum_fields(checksum.as_ref());
    Ok(UploadPartOutput {
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: crc32,
        checksum_crc32c: crc32c,
        checksum_crc64nvme: crc64nvme,
        checksum_sha1: sha1,
        checksum_sha256: sha256,
        ..Default::default()
    })
}
