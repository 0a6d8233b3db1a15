use super::common::{blocking, store_error};
use crate::RequestContext;
use s3s::dto::{DeleteBucketTaggingInput, DeleteBucketTaggingOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<DeleteBucketTaggingOutput> {
    super::common::local_only(cx, &req.input.bucket)?;
    blocking(|| cx.store.update_bucket_config(&req.input.bucket, |c| c.tags.clear())).map_err(store_error)?;
    Ok(DeleteBucketTaggingOutput {})
}
