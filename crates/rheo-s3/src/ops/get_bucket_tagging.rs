use super::common::{error, store_error, tag_set};
use crate::RequestContext;
use s3s::dto::{GetBucketTaggingInput, GetBucketTaggingOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<GetBucketTaggingInput>) -> S3Result<GetBucketTaggingOutput> {
    super::common::local_only(cx, &req.input.bucket)?;
    let config = cx.store.bucket_config(&req.input.bucket).map_err(store_error)?;
    if config.tags.is_empty() {
        return Err(error("NoSuchTagSet", "The TagSet does not exist"));
    }
    Ok(GetBucketTaggingOutput {
        tag_set: tag_set(&config.tags),
    })
}
