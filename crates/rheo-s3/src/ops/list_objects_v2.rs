use super::common::{error, etag, is_url, list_encode, max_keys, timestamp};
use crate::RequestContext;
use rheo_objects::listing::ListRequest;
use s3s::dto::{CommonPrefix, ListObjectsV2Input, ListObjectsV2Output, Object, Owner};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<ListObjectsV2Input>) -> S3Result<ListObjectsV2Output> {
    let input = req.input;
    let url = is_url(input.encoding_type.as_ref())?;
    let max = max_keys(input.max_keys)?;
    let token = match &input.continuation_token {
        Some(t) => Some(
            rheo_wire::decode_blob(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| error("InvalidArgument", "The continuation token provided is incorrect"))?,
        ),
        None => None,
    };
    let after = match (token.as_deref(), input.start_after.as_deref()) {
        (Some(t), Some(s)) => Some(if t > s { t } else { s }),
        (t, s) => t.or(s),
    };
    let page = super::common::list_page(
        cx,
        &input.bucket,
        &ListRequest {
                prefix: input.prefix.as_deref().unwrap_or_default(),
                delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()),
                after,
                max_keys: max,
            },
    )
    .await?;
    let owner = input.fetch_owner.unwrap_or(false).then(|| Owner {
        display_name: Some("rheo".into()),
        id: Some(cx.account.clone()),
    });
    let key_count = (page.contents.len() + page.common_prefixes.len()) as i32;
    Ok(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(list_encode(input.prefix.as_deref().unwrap_or_default(), url)),
        delimiter: input.delimiter.map(|d| list_encode(&d, url)),
        max_keys: Some(max as i32),
        key_count: Some(key_count),
        is_truncated: Some(page.truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: page.next.filter(|_| page.truncated).map(|n| rheo_wire::encode_blob(n.as_bytes())),
        start_after: input.start_after.map(|s| list_encode(&s, url)),
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
                    owner: owner.clone(),
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
