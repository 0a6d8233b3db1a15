use super::common::{blocking, is_url, list_encode, store_error, timestamp};
use crate::RequestContext;
use s3s::dto::{ListMultipartUploadsInput, ListMultipartUploadsOutput, MultipartUpload};
use s3s::{S3Request, S3Result};

pub(super) async fn run(
    cx: &RequestContext,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<ListMultipartUploadsOutput> {
    let input = req.input;
    super::common::local_only(cx, &input.bucket)?;
    let url = is_url(input.encoding_type.as_ref())?;
    let max = input.max_uploads.map_or(1000, |n| usize::try_from(n).unwrap_or(0).min(1000));
    let prefix = input.prefix.clone().unwrap_or_default();
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let uploads = blocking(|| cx.store.list_uploads(&input.bucket)).map_err(store_error)?;
    let after: Vec<_> = uploads
        .into_iter()
        .filter(|u| u.key.starts_with(&prefix) && (key_marker.is_empty() || u.key > key_marker))
        .collect();
    let truncated = after.len() > max;
    let page: Vec<_> = after.into_iter().take(max).collect();
    Ok(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix.map(|p| list_encode(&p, url)),
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: page.last().filter(|_| truncated).map(|u| list_encode(&u.key, url)),
        next_upload_id_marker: page.last().filter(|_| truncated).map(|u| u.id.clone()),
        encoding_type: input.encoding_type,
        uploads: Some(
            page.into_iter()
                .map(|u| MultipartUpload {
                    key: Some(list_encode(&u.key, url)),
                    upload_id: Some(u.id),
                    initiated: Some(timestamp(u.initiated_ms)),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    })
}
