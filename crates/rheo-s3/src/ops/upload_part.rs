use super::common::{blocking, checksum_fields, receive, store_error};
use crate::RequestContext;
use s3s::dto::{ETag, UploadPartInput, UploadPartOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<UploadPartInput>) -> S3Result<UploadPartOutput> {
    let input = req.input;
    super::common::check_upload_size(input.content_length)?;
    let number = u32::try_from(input.part_number).unwrap_or(0);
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
