use super::common::{blocking, put_input, store_error};
use crate::RequestContext;
use s3s::dto::{CreateMultipartUploadInput, CreateMultipartUploadOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<CreateMultipartUploadOutput> {
    let input = req.input;
    let put = put_input(
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
        let id = x.create_upload(&input.key).await.map_err(store_error)?;
        return Ok(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            ..Default::default()
        });
    }
    let id = blocking(|| cx.store.create_upload(&input.bucket, &input.key, put, cx.now_ms)).map_err(store_error)?;
    Ok(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(id),
        ..Default::default()
    })
}
