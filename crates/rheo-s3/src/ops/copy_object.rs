use super::common::{blocking, check_read_conditions, error, etag, origin, put_input, store_error, timestamp};
use crate::RequestContext;
use s3s::dto::{CopyObjectInput, CopyObjectOutput, CopyObjectResult, CopySource};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<CopyObjectInput>) -> S3Result<CopyObjectOutput> {
    let input = req.input;
    let (src_bucket, src_key) = source(&input.copy_source)?;
    let (from_ext, to_ext) = (super::common::external(cx, &src_bucket), super::common::external(cx, &input.bucket));
    if from_ext.is_some() || to_ext.is_some() {
        let Some(x) = to_ext.filter(|_| src_bucket == input.bucket) else {
            return Err(error(
                "NotImplemented",
                "Copies to or from a bucket on an external store are passed through only within that bucket.",
            ));
        };
        if input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE") {
            return Err(error("NotImplemented", "MetadataDirective REPLACE is not passed through to external stores."));
        }
        let m = x.copy(&src_key, &input.key).await.map_err(store_error)?;
        return Ok(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(s3s::dto::ETag::Strong(m.etag)),
                last_modified: Some(timestamp(m.last_modified_ms)),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let src = cx.store.head_object(&src_bucket, &src_key).map_err(store_error)?;
    check_read_conditions(
        &src.etag,
        src.last_modified_ms,
        input.copy_source_if_match.as_ref(),
        input.copy_source_if_none_match.as_ref(),
        input.copy_source_if_modified_since.as_ref(),
        input.copy_source_if_unmodified_since.as_ref(),
    )
    .map_err(|e| match e.code() {
        // A copy's failed conditions are all 412.
        s3s::S3ErrorCode::NotModified => error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"),
        _ => e,
    })?;
    let replace = input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE");
    let replace_tags = input.tagging_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE");
    if src_bucket == input.bucket && src_key == input.key && !replace && !replace_tags {
        return Err(error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let new = if replace || replace_tags {
        let mut p = if replace {
            put_input(
                input.content_type,
                input.content_encoding,
                input.metadata,
                input.cache_control,
                input.content_disposition,
                input.content_language,
                input.expires.as_ref(),
                None,
            )?
        } else {
            rheo_objects::local::PutInput {
                content_type: src.content_type.clone(),
                content_encoding: src.content_encoding.clone(),
                user_metadata: src.user_metadata.clone(),
                headers: src.headers.clone(),
                ..Default::default()
            }
        };
        p.tags = if replace_tags {
            put_input(None, None, None, None, None, None, None, input.tagging.as_deref())?.tags
        } else {
            src.tags.clone()
        };
        p.checksum = src.checksum.clone();
        Some(p)
    } else {
        None
    };
    let meta = blocking(|| {
        cx.store.copy_object(
            &src_bucket,
            &src_key,
            &input.bucket,
            &input.key,
            new,
            origin(cx, "ObjectCreated:Copy"),
            cx.now_ms,
        )
    })
    .map_err(store_error)?;
    cx.events.changed(&input.bucket);
    Ok(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(etag(&meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The bucket and key a copy reads.
pub(super) fn source(s: &CopySource) -> S3Result<(String, String)> {
    match s {
        CopySource::Bucket { bucket, key, version_id } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(error("InvalidArgument", "Invalid version id specified"));
            }
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(error("InvalidArgument", "Rheo copies only from buckets, not access points.")),
    }
}
