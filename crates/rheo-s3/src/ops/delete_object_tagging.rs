use super::common::{blocking, no_versions, origin, store_error};
use crate::RequestContext;
use s3s::dto::{DeleteObjectTaggingInput, DeleteObjectTaggingOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<DeleteObjectTaggingOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    no_versions(input.version_id.as_ref())?;
    blocking(|| {
        cx.store
            .set_tags(&input.bucket, &input.key, Default::default(), origin(cx, "ObjectTagging:Delete"), cx.now_ms)
    })
    .map_err(store_error)?;
    cx.events.changed(&input.bucket);
    Ok(DeleteObjectTaggingOutput::default())
}
