use super::common::{blocking, check_write_conditions, no_versions, origin, store_error};
use crate::RequestContext;
use s3s::dto::{DeleteObjectInput, DeleteObjectOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<DeleteObjectInput>) -> S3Result<DeleteObjectOutput> {
    let input = req.input;
    no_versions(input.version_id.as_ref())?;
    if let Some(x) = super::common::external(cx, &input.bucket) {
        x.delete(&input.key).await.map_err(store_error)?;
        return Ok(DeleteObjectOutput::default());
    }
    if input.if_match.is_some() {
        let current = cx.store.head_object(&input.bucket, &input.key).ok();
        check_write_conditions(current.as_ref(), input.if_match.as_ref(), None)?;
    }
    let removed = blocking(|| {
        cx.store
            .delete_object_by(&input.bucket, &input.key, origin(cx, "ObjectRemoved:Delete"), cx.now_ms)
    })
    .map_err(store_error)?;
    if removed {
        cx.events.changed(&input.bucket);
    }
    Ok(DeleteObjectOutput::default())
}
