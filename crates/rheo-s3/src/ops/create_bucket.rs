use super::common::{blocking, store_error};
use crate::RequestContext;
use rheo_objects::local::ObjectError;
use s3s::dto::{CreateBucketInput, CreateBucketOutput};
use s3s::{S3Request, S3Result, s3_error};

pub(super) async fn run(cx: &RequestContext, req: S3Request<CreateBucketInput>) -> S3Result<CreateBucketOutput> {
    let input = req.input;
    let constraint = input
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .map(|c| c.as_str().to_owned());
    // us-east-1 takes no constraint; elsewhere it must name the region the request is for.
    match constraint.as_deref() {
        None | Some("") if cx.region == "us-east-1" => {}
        Some(r) if r == cx.region && r != "us-east-1" => {}
        None | Some("") => {
            return Err(s3_error!(
                IllegalLocationConstraintException,
                "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
            ));
        }
        Some(r) => {
            return Err(s3_error!(
                IllegalLocationConstraintException,
                "The {r} location constraint is incompatible for the region specific endpoint this request was sent to."
            ));
        }
    }
    if cx.externals.contains_key(&input.bucket) {
        return Err(store_error(ObjectError::BucketAlreadyOwnedByYou));
    }
    match blocking(|| cx.store.create_bucket(&input.bucket, cx.now_ms)) {
        Ok(()) => {}
        // us-east-1 answers a repeated create by its owner with success.
        Err(ObjectError::BucketAlreadyOwnedByYou) if cx.region == "us-east-1" => {}
        Err(e) => return Err(store_error(e)),
    }
    Ok(CreateBucketOutput {
        location: Some(format!("/{}", input.bucket)),
    })
}
