use super::common::{blocking, error, store_error, timestamp};
use crate::RequestContext;
use s3s::dto::{ETag, ListPartsInput, ListPartsOutput, Part};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<ListPartsInput>) -> S3Result<ListPartsOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    let (key, parts) = blocking(|| cx.store.list_parts(&input.bucket, &input.upload_id)).map_err(store_error)?;
    if key != input.key {
        return Err(store_error(rheo_objects::local::ObjectError::NoSuchUpload));
    }
    let max = match input.max_parts {
        None => 1000,
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(0).min(1000),
        Some(_) => return Err(error("InvalidArgument", "max-parts cannot be negative")),
    };
    let marker = u32::try_from(input.part_number_marker.unwrap_or(0)).unwrap_or(0);
    let after: Vec<_> = parts.into_iter().filter(|p| p.number > marker).collect();
    let truncated = after.len() > max;
    let page: Vec<_> = after.into_iter().take(max).collect();
    Ok(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: page.last().filter(|_| truncated).map(|p| p.number as i32),
        parts: Some(
            page.into_iter()
                .map(|p| Part {
                    part_number: i32::try_from(p.number).ok(),
                    e_tag: Some(ETag::Strong(p.etag)),
                    size: i64::try_from(p.size).ok(),
                    last_modified: Some(timestamp(p.last_modified_ms)),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    })
}
