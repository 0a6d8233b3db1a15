use super::common::{blocking, store_error};
use crate::RequestContext;
use s3s::dto::{AbortMultipartUploadInput, AbortMultipartUploadOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<AbortMultipartUploadOutput> {
    let input = req.input;
    if let Some(x) = super::common::external(cx, &input.bucket) {
        x.abort_upload(&input.key, &input.upload_id).await.map_err(store_error)?;
        return Ok(AbortMultipartUploadOutput::default());
    }
    blocking(|| cx.store.abort_upload(&input.bucket, &input.upload_id)).map_err(store_error)?;
    Ok(AbortMultipartUploadOutput::default())
}
