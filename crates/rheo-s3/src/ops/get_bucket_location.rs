use super::common::store_error;
use crate::RequestContext;
use s3s::dto::{BucketLocationConstraint, GetBucketLocationInput, GetBucketLocationOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<GetBucketLocationOutput> {
    if !cx.externals.contains_key(&req.input.bucket) {
        cx.store.head_bucket(&req.input.bucket).map_err(store_error)?;
    }
    // us-east-1 is the empty constraint.
    Ok(GetBucketLocationOutput {
        location_constraint: (cx.region != "us-east-1").then(|| BucketLocationConstraint::from(cx.region.clone())),
    })
}
