use super::common::{error, timestamp};
use crate::RequestContext;
use s3s::dto::{Bucket, ListBucketsInput, ListBucketsOutput, Owner};
use s3s::{S3Request, S3Result};

pub(super) async fn run(cx: &RequestContext, req: S3Request<ListBucketsInput>) -> S3Result<ListBucketsOutput> {
    let input = req.input;
    let max = match input.max_buckets {
        None => usize::MAX,
        Some(n) if (1..=10_000).contains(&n) => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => return Err(error("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000")),
    };
    let after = input.continuation_token.clone().unwrap_or_default();
    let prefix = input.prefix.clone().unwrap_or_default();
    let mut everything = cx.store.list_buckets();
    everything.extend(cx.externals.keys().map(|n| (n.clone(), 0)));
    everything.sort();
    let all: Vec<(String, i64)> = everything
        .into_iter()
        .filter(|(n, _)| n.starts_with(&prefix) && *n > after)
        .collect();
    let more = all.len() > max;
    let page: Vec<(String, i64)> = all.into_iter().take(max).collect();
    let next = if more { page.last().map(|(n, _)| n.clone()) } else { None };
    Ok(ListBucketsOutput {
        buckets: Some(
            page.into_iter()
                .map(|(name, created)| Bucket {
                    name: Some(name),
                    creation_date: Some(timestamp(created)),
                    bucket_region: Some(cx.region.clone()),
                })
                .collect(),
        ),
        owner: Some(Owner {
            display_name: Some("rheo".into()),
            id: Some(cx.account.clone()),
        }),
        continuation_token: next,
        prefix: input.prefix,
    })
}
