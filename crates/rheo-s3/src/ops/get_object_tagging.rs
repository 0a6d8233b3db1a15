use super::common::{no_versions, store_error, tag_set};
use crate::RequestContext;
use s3s::dto::{GetObjectTaggingInput, GetObjectTaggingOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<GetObjectTaggingInput>) -> S3Result<GetObjectTaggingOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    no_versions(input.version_id.as_ref())?;
    let meta = cx.store.head_object(&input.bucket, &input.key).map_err(store_error)?;
    Ok(GetObjectTaggingOutput {
        tag_set: tag_set(&meta.tags),
        version_id: None,
    })
}
