use super::common::{blocking, error, origin, store_error};
use crate::RequestContext;
use s3s::dto::{DeleteObjectsInput, DeleteObjectsOutput, DeletedObject, Error};
use s3s::{S3Request, S3Result};

/// The most keys one DeleteObjects names.
const MAX_KEYS: usize = 1000;

pub(super) async fn run(cx: &RequestContext, req: S3Request<DeleteObjectsInput>) -> S3Result<DeleteObjectsOutput> {
    let input = req.input;
    if input.delete.objects.len() > MAX_KEYS {
        return Err(error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ));
    }
    let ext = super::common::external(cx, &input.bucket);
    if ext.is_none() {
        cx.store.head_bucket(&input.bucket).map_err(store_error)?;
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let (mut deleted, mut errors) = (Vec::new(), Vec::new());
    let mut any = false;
    for o in input.delete.objects {
        if o.version_id.as_deref().is_some_and(|v| v != "null") {
            errors.push(Error {
                code: Some("NoSuchVersion".into()),
                key: Some(o.key),
                message: Some("The specified version does not exist.".into()),
                version_id: o.version_id,
            });
            continue;
        }
        let outcome = match ext {
            Some(x) => x.delete(&o.key).await.map(|()| false),
            None => blocking(|| cx.store.delete_object_by(&input.bucket, &o.key, origin(cx, "ObjectRemoved:Delete"), cx.now_ms)),
        };
        match outcome {
            Ok(removed) => {
                any |= removed;
                if !quiet {
                    deleted.push(DeletedObject {
                        key: Some(o.key),
                        ..Default::default()
                    });
                }
            }
            Err(e) => {
                let e = store_error(e);
                errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(o.key),
                    message: e.message().map(str::to_owned),
                    version_id: None,
                });
            }
        }
    }
    if any {
        cx.events.changed(&input.bucket);
    }
    Ok(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    })
}
