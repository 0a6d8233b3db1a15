use super::common::{blocking, store_error};
use crate::RequestContext;
use s3s::dto::{DeleteBucketInput, DeleteBucketOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<DeleteBucketInput>) -> S3Result<DeleteBucketOutput> {
    if cx.externals.contains_key(&req.input.bucket) {
        return Err(super::common::error(
            "InvalidRequest",
            "This bucket lives on an external store configured for this server; it is not deleted through Rheo.",
        ));
    }
    blocking(|| cx.store.delete_bucket(&req.input.bucket)).map_err(store_error)?;
    Ok(DeleteBucketOutput {})
}
