use super::common::{blocking, store_error};
use crate::RequestContext;
use s3s::dto::{DeleteBucketInput, DeleteBucketOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<DeleteBucketInput>) -> S3Result<DeleteBucketOutput> {
    blocking(|| cx.store.delete_bucket(&req.input.bucket)).map_err(store_error)?;
    Ok(DeleteBucketOutput {})
}
