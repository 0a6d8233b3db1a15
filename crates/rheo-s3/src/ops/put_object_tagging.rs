use super::common::{blocking, no_versions, origin, store_error, tags_of};
use crate::RequestContext;
use s3s::dto::{PutObjectTaggingInput, PutObjectTaggingOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<PutObjectTaggingInput>) -> S3Result<PutObjectTaggingOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    no_versions(input.version_id.as_ref())?;
    let tags = tags_of(&input.tagging, 10)?;
    blocking(|| cx.store.set_tags(&input.bucket, &input.key, tags, origin(cx, "ObjectTagging:Put"), cx.now_ms))
        .map_err(store_error)?;
    cx.events.changed(&input.bucket);
    Ok(PutObjectTaggingOutput::default())
}
