use super::common::{check_read_conditions, checksum_fields, etag, no_versions, store_error, timestamp};
use crate::RequestContext;
use s3s::dto::{HeadObjectInput, HeadObjectOutput};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<HeadObjectInput>) -> S3Result<HeadObjectOutput> {
    let input = req.input;
    no_versions(input.version_id.as_ref())?;
    if let Some(x) = super::common::external(cx, &input.bucket) {
        let m = x.head(&input.key).await.map_err(store_error)?;
        return Ok(HeadObjectOutput {
            content_length: i64::try_from(m.size).ok(),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(s3s::dto::ETag::Strong(m.etag.clone())),
            last_modified: Some(timestamp(m.last_modified_ms)),
            content_type: m.content_type.clone().or_else(|| Some("binary/octet-stream".into())),
            content_encoding: m.content_encoding.clone(),
            cache_control: m.headers.get("cache-control").cloned(),
            content_disposition: m.headers.get("content-disposition").cloned(),
            content_language: m.headers.get("content-language").cloned(),
            metadata: (!m.user_metadata.is_empty()).then(|| m.user_metadata.clone().into_iter().collect()),
            ..Default::default()
        });
    }
    // A HEAD's error has no body: the 404 is all clients see.
    let meta = cx.store.head_object(&input.bucket, &input.key).map_err(store_error)?;
    check_read_conditions(
        &meta.etag,
        meta.last_modified_ms,
        input.if_match.as_ref(),
        input.if_none_match.as_ref(),
        input.if_modified_since.as_ref(),
        input.if_unmodified_since.as_ref(),
    )?;
    let range = match &input.range {
        Some(r) => Some(r.check(meta.size)?),
        None => None,
    };
    let whole = range.is_none() && input.checksum_mode.as_ref().is_some_and(|m| m.as_str() == "ENABLED");
    let [crc32, crc32c, crc64nvme, sha1, sha256] = checksum_fields(meta.checksum.as_ref().filter(|_| whole));
    let h = |name: &str| meta.headers.get(name).cloned();
    Ok(HeadObjectOutput {
        content_length: range
            .as_ref()
            .map_or(i64::try_from(meta.size).ok(), |r| i64::try_from(r.end - r.start).ok()),
        content_range: range.map(|r| format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), meta.size)),
        accept_ranges: Some("bytes".into()),
        e_tag: Some(etag(&meta)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        content_type: input
            .response_content_type
            .or_else(|| meta.content_type.clone())
            .or_else(|| Some("binary/octet-stream".into())),
        content_encoding: input.response_content_encoding.or_else(|| meta.content_encoding.clone()),
        cache_control: input.response_cache_control.or_else(|| h("cache-control")),
        content_disposition: input.response_content_disposition.or_else(|| h("content-disposition")),
        content_language: input.response_content_language.or_else(|| h("content-language")),
        expires: input
            .response_expires
            .or_else(|| h("expires").and_then(|v| v.parse().ok()).map(timestamp)),
        metadata: (!meta.user_metadata.is_empty()).then(|| meta.user_metadata.clone().into_iter().collect()),
        parts_count: meta.parts.and_then(|p| i32::try_from(p).ok()).filter(|_| input.part_number.is_some()),
        checksum_crc32: crc32,
        checksum_crc32c: crc32c,
        checksum_crc64nvme: crc64nvme,
        checksum_sha1: sha1,
        checksum_sha256: sha256,
        ..Default::default()
    })
}
