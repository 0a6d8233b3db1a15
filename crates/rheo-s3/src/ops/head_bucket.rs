use super::common::store_error;
use crate::RequestContext;
use s3s::dto::{HeadBucketInput, HeadBucketOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<HeadBucketInput>) -> S3Result<HeadBucketOutput> {
    // A HEAD's error has no body: the 404 is all clients see.
    if !cx.externals.contains_key(&req.input.bucket) {
        cx.store.head_bucket(&req.input.bucket).map_err(store_error)?;
    }
    Ok(HeadBucketOutput {
        bucket_region: Some(cx.region.clone()),
        ..Default::default()
    })
}
