use super::common::{blocking, check_read_conditions, error, store_error, timestamp};
use crate::RequestContext;
use s3s::dto::{CopyPartResult, ETag, UploadPartCopyInput, UploadPartCopyOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<UploadPartCopyInput>) -> S3Result<UploadPartCopyOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    let (src_bucket, src_key) = super::copy_object::source(&input.copy_source)?;
    let (src, file) = blocking(|| cx.store.open_object(&src_bucket, &src_key)).map_err(store_error)?;
    check_read_conditions(
        &src.etag,
        src.last_modified_ms,
        input.copy_source_if_match.as_ref(),
        input.copy_source_if_none_match.as_ref(),
        input.copy_source_if_modified_since.as_ref(),
        input.copy_source_if_unmodified_since.as_ref(),
    )?;
    let (start, end) = match input.copy_source_range.as_deref() {
        None => (0, src.size),
        Some(r) => parse_range(r, src.size)?,
    };
    let number = u32::try_from(input.part_number).unwrap_or(0);
    let etag = blocking(|| -> rheo_objects::local::Result<String> {
        let mut part = cx.store.upload_part(&input.bucket, &input.upload_id, &input.key, number)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut at = start;
        while at < end {
            let n = usize::try_from((end - at).min(buf.len() as u64)).unwrap_or(0);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            rheo_log::disk::read_full_at(&*file, chunk, at)
                .map_err(|e| rheo_objects::local::ObjectError::Internal(e.to_string()))?;
            part.write(chunk)?;
            at += n as u64;
        }
        part.commit(cx.now_ms)
    })
    .map_err(store_error)?;
    Ok(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(timestamp(cx.now_ms)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `bytes=first-last`, inclusive, within the source.
fn parse_range(r: &str, size: u64) -> S3Result<(u64, u64)> {
    let bad = || error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy");
    let (a, b) = r.strip_prefix("bytes=").and_then(|s| s.split_once('-')).ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b || b >= size {
        return Err(error("InvalidRange", "The requested range is not satisfiable"));
    }
    Ok((a, b + 1))
}
