use super::common::{blocking, store_error, tags_of};
use crate::RequestContext;
use s3s::dto::{PutBucketTaggingInput, PutBucketTaggingOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<PutBucketTaggingInput>) -> S3Result<PutBucketTaggingOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    let tags = tags_of(&input.tagging, 50)?;
    blocking(|| cx.store.update_bucket_config(&input.bucket, |c| c.tags = tags)).map_err(store_error)?;
    Ok(PutBucketTaggingOutput {})
}
