use super::common::{etag, is_url, list_encode, max_keys, timestamp};
use crate::RequestContext;
use rheo_objects::listing::ListRequest;
use s3s::dto::{CommonPrefix, ListObjectsInput, ListObjectsOutput, Object, Owner};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<ListObjectsInput>) -> S3Result<ListObjectsOutput> {
    let input = req.input;
    let url = is_url(input.encoding_type.as_ref())?;
    let max = max_keys(input.max_keys)?;
    let delimiter = input.delimiter.as_deref().filter(|d| !d.is_empty());
    let page = super::common::list_page(
        cx,
        &input.bucket,
        &ListRequest {
                prefix: input.prefix.as_deref().unwrap_or_default(),
                delimiter,
                after: input.marker.as_deref().filter(|m| !m.is_empty()),
                max_keys: max,
            },
    )
    .await?;
    // NextMarker is returned only with a delimiter (without one, clients use the last key).
    let next_marker = page
        .next
        .filter(|_| page.truncated && delimiter.is_some())
        .map(|n| list_encode(&n, url));
    Ok(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(list_encode(input.prefix.as_deref().unwrap_or_default(), url)),
        delimiter: input.delimiter.map(|d| list_encode(&d, url)),
        marker: Some(list_encode(input.marker.as_deref().unwrap_or_default(), url)),
        max_keys: Some(max as i32),
        is_truncated: Some(page.truncated),
        next_marker,
        encoding_type: input.encoding_type,
        contents: Some(
            page.contents
                .into_iter()
                .map(|(k, m)| Object {
                    key: Some(list_encode(&k, url)),
                    size: i64::try_from(m.size).ok(),
                    e_tag: Some(etag(&m)),
                    last_modified: Some(timestamp(m.last_modified_ms)),
                    storage_class: Some(s3s::dto::ObjectStorageClass::from_static(s3s::dto::ObjectStorageClass::STANDARD)),
                    owner: Some(Owner {
                        display_name: Some("rheo".into()),
                        id: Some(cx.account.clone()),
                    }),
                    ..Default::default()
                })
                .collect(),
        ),
        common_prefixes: Some(
            page.common_prefixes
                .into_iter()
                .map(|p| CommonPrefix {
                    prefix: Some(list_encode(&p, url)),
                })
                .collect(),
        ),
        ..Default::default()
    })
}
