use super::common::{blocking, check_write_conditions, error, origin, store_error};
use crate::RequestContext;
use s3s::dto::{CompleteMultipartUploadInput, CompleteMultipartUploadOutput, ETag};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<CompleteMultipartUploadOutput> {
    let input = req.input;
    let parts: Vec<(u32, String)> = input
        .multipart_upload
        .and_then(|m| m.parts)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            (
                p.part_number.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                p.e_tag.map(|e| e.value().to_owned()).unwrap_or_default(),
            )
        })
        .collect();
    if parts.is_empty() {
        return Err(error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ));
    }
    if let Some(x) = super::common::external(cx, &input.bucket) {
        if parts.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(store_error(rheo_objects::local::ObjectError::InvalidPartOrder));
        }
        let etags = parts.into_iter().map(|(_, e)| e).collect();
        let etag = x.complete_upload(&input.key, &input.upload_id, etags).await.map_err(store_error)?;
        return Ok(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(ETag::Strong(etag)),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            ..Default::default()
        });
    }
    if input.if_match.is_some() || input.if_none_match.is_some() {
        let current = cx.store.head_object(&input.bucket, &input.key).ok();
        check_write_conditions(current.as_ref(), input.if_match.as_ref(), input.if_none_match.as_ref())?;
    }
    let meta = blocking(|| {
        cx.store.complete_upload(
            &input.bucket,
            &input.upload_id,
            &input.key,
            &parts,
            origin(cx, "ObjectCreated:CompleteMultipartUpload"),
            cx.now_ms,
        )
    })
    .map_err(store_error)?;
    cx.events.changed(&input.bucket);
    Ok(CompleteMultipartUploadOutput {
        bucket: Some(input.bucket.clone()),
        key: Some(input.key.clone()),
        e_tag: Some(ETag::Strong(meta.etag)),
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        ..Default::default()
    })
}
