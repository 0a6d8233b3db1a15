//! Buckets through `aws-sdk-s3`: buckets and objects, ranges and conditions, listings,
//! copies, multipart uploads, tagging, presigned URLs, checksummed and signed chunked uploads,
//! both addressing styles, and event notifications to queues and topics.

use crate::common::{Options, TestServer, sns_client, sqs_client};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, FilterRule, FilterRuleName,
    NotificationConfiguration, NotificationConfigurationFilter, ObjectIdentifier, QueueConfiguration, S3KeyFilter, Tag,
    Tagging, TopicConfiguration,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use md5::Digest as _;
use std::time::Duration;

/// Resolves every name to 127.0.0.1, so `<bucket>.localhost` reaches the test server.
#[derive(Debug, Clone)]
struct Loopback;

impl aws_smithy_runtime_api::client::dns::ResolveDns for Loopback {
    fn resolve_dns<'a>(&'a self, _name: &'a str) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(Ok(vec![std::net::Ipv4Addr::LOCALHOST.into()]))
    }
}

pub fn s3_client_with(url: &str, path_style: bool, key: &str, secret: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_with_resolver(Loopback);
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .force_path_style(path_style)
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

pub fn s3_client(url: &str) -> Client {
    s3_client_with(url, true, "AKIDTEST", "secret")
}

fn md5_hex(b: &[u8]) -> String {
    format!("{:x}", md5::Md5::digest(b))
}

fn code<E: ProvideErrorMetadata + std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String {
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => s.err().code().unwrap_or("").to_owned(),
        other => format!("{other:?}"),
    }
}

fn status<E>(e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> u16 {
    e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0)
}

async fn body(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let o = c.get_object().bucket(bucket).key(key).send().await.unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn buckets_and_objects_behave_as_s3() {
    let server = TestServer::start().await;
    let c = s3_client(&server.url());
    c.create_bucket().bucket("data").send().await.unwrap();
    // us-east-1 answers its owner's repeated create with success.
    c.create_bucket().bucket("data").send().await.unwrap();
    let e = c.create_bucket().bucket("Bad_Name").send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidBucketName");
    c.head_bucket().bucket("data").send().await.unwrap();
    let e = c.head_bucket().bucket("nope").send().await.unwrap_err();
    assert_eq!(status(&e), 404);
    let buckets = c.list_buckets().send().await.unwrap();
    let names: Vec<_> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["data"]);
    let loc = c.get_bucket_location().bucket("data").send().await.unwrap();
    assert_eq!(
        loc.location_constraint().map(|c| c.as_str()).unwrap_or_default(),
        "",
        "us-east-1 is the empty constraint"
    );

    // Put with metadata, read back whole, by range, and under conditions.
    let content = b"hello, buckets: 0123456789".to_vec();
    let put = c
        .put_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .content_type("text/plain")
        .content_encoding("identity")
        .cache_control("max-age=60")
        .metadata("Owner", "team-a")
        .body(ByteStream::from(content.clone()))
        .send()
        .await
        .unwrap();
    let etag = format!("\"{}\"", md5_hex(&content));
    assert_eq!(put.e_tag(), Some(etag.as_str()));
    let got = c.get_object().bucket("data").key("dir/a b+é.txt").send().await.unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(got.content_encoding(), Some("identity"));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    assert_eq!(got.metadata().unwrap().get("owner").map(String::as_str), Some("team-a"));
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    assert_eq!(got.content_length(), Some(content.len() as i64));
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &content[..]);
    let part = c
        .get_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .range("bytes=7-13")
        .send()
        .await
        .unwrap();
    assert_eq!(part.content_range(), Some("bytes 7-13/26"));
    assert_eq!(part.body.collect().await.unwrap().into_bytes().as_ref(), b"buckets");
    let tail = c
        .get_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .range("bytes=-4")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.body.collect().await.unwrap().into_bytes().as_ref(), b"6789");
    let e = c
        .get_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .range("bytes=100-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRange");
    let e = c
        .get_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 304);
    let e = c
        .get_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .if_match("\"0000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "PreconditionFailed");
    let head = c
        .head_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(26));
    let e = c.get_object().bucket("data").key("missing").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");
    let e = c.head_object().bucket("data").key("missing").send().await.unwrap_err();
    assert_eq!(status(&e), 404);
    let e = c.get_object().bucket("nope").key("k").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchBucket");

    // A conditional create: If-None-Match: * refuses a key that exists.
    let e = c
        .put_object()
        .bucket("data")
        .key("dir/a b+é.txt")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "PreconditionFailed");

    // Copies keep or replace the metadata; the copy's ETag is its MD5.
    c.copy_object()
        .bucket("data")
        .key("copy.txt")
        .copy_source("data/dir/a%20b%2B%C3%A9.txt")
        .send()
        .await
        .unwrap();
    let copy = c.head_object().bucket("data").key("copy.txt").send().await.unwrap();
    assert_eq!(copy.content_type(), Some("text/plain"));
    assert_eq!(
        copy.metadata().unwrap().get("owner").map(String::as_str),
        Some("team-a")
    );
    c.copy_object()
        .bucket("data")
        .key("copy.txt")
        .copy_source("data/copy.txt")
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("application/json")
        .send()
        .await
        .unwrap();
    let copy = c.head_object().bucket("data").key("copy.txt").send().await.unwrap();
    assert_eq!(copy.content_type(), Some("application/json"));
    assert!(copy.metadata().is_none_or(|m| m.is_empty()));
    assert_eq!(body(&c, "data", "copy.txt").await, content);
    let e = c
        .copy_object()
        .bucket("data")
        .key("copy.txt")
        .copy_source("data/copy.txt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequest", "a copy onto itself must change something");

    // Deletes: one, several (a missing key is no error), then the bucket once empty.
    let e = c.delete_bucket().bucket("data").send().await.unwrap_err();
    assert_eq!(code(&e), "BucketNotEmpty");
    c.delete_object().bucket("data").key("missing").send().await.unwrap();
    let del = c
        .delete_objects()
        .bucket("data")
        .delete(
            Delete::builder()
                .objects(ObjectIdentifier::builder().key("copy.txt").build().unwrap())
                .objects(ObjectIdentifier::builder().key("dir/a b+é.txt").build().unwrap())
                .objects(ObjectIdentifier::builder().key("never").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(del.deleted().len(), 3);
    assert!(del.errors().is_empty());
    c.delete_bucket().bucket("data").send().await.unwrap();
    let e = c.delete_bucket().bucket("data").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchBucket");
}

#[tokio::test]
async fn listings_page_by_prefix_delimiter_and_continuation() {
    let server = TestServer::start().await;
    let c = s3_client(&server.url());
    c.create_bucket().bucket("logs").send().await.unwrap();
    let keys = ["a", "a/b", "a/c/d", "b/x y", "b/z", "c=1/é", "d"];
    for k in keys {
        c.put_object()
            .bucket("logs")
            .key(k)
            .body(ByteStream::from_static(b"1"))
            .send()
            .await
            .unwrap();
    }
    // Every key, two at a time: the pages join up.
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket("logs")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        all.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        assert!(page.key_count().unwrap() <= 2);
        if !page.is_truncated().unwrap() {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(all, keys);
    // A delimiter rolls keys up into common prefixes; a key that is also a prefix stays.
    let top = c.list_objects_v2().bucket("logs").delimiter("/").send().await.unwrap();
    let listed: Vec<_> = top.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<_> = top.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(listed, ["a", "d"]);
    assert_eq!(prefixes, ["a/", "b/", "c=1/"]);
    let sub = c
        .list_objects_v2()
        .bucket("logs")
        .prefix("a/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sub.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["a/b"]
    );
    assert_eq!(
        sub.common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect::<Vec<_>>(),
        ["a/c/"]
    );
    let after = c
        .list_objects_v2()
        .bucket("logs")
        .start_after("b/x y")
        .send()
        .await
        .unwrap();
    assert_eq!(after.contents().first().and_then(|o| o.key()), Some("b/z"));
    // encoding-type=url, as the CLI asks (the CLI decodes the keys; this SDK does not).
    let encoded = c
        .list_objects_v2()
        .bucket("logs")
        .prefix("b/")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        encoded.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["b/x%20y", "b/z"]
    );
    // ListObjects (version 1) with a marker.
    let v1 = c
        .list_objects()
        .bucket("logs")
        .marker("b/z")
        .max_keys(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v1.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["c=1/é", "d"]
    );
    assert_eq!(v1.is_truncated(), Some(false));
}

#[tokio::test]
async fn multipart_uploads_join_parts_with_s3s_etag() {
    let server = TestServer::start().await;
    let c = s3_client(&server.url());
    c.create_bucket().bucket("big").send().await.unwrap();
    let up = c
        .create_multipart_upload()
        .bucket("big")
        .key("obj.bin")
        .content_type("application/x-test")
        .metadata("kind", "multi")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let parts: Vec<Vec<u8>> = vec![
        (0..5 * 1024 * 1024).map(|i| (i % 251) as u8).collect(),
        (0..6 * 1024 * 1024).map(|i| (i % 241) as u8).collect(),
        b"the last part may be small".to_vec(),
    ];
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let r = c
            .upload_part()
            .bucket("big")
            .key("obj.bin")
            .upload_id(&id)
            .part_number(i as i32 + 1)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.e_tag(), Some(format!("\"{}\"", md5_hex(p)).as_str()));
        done.push(
            CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let listed = c
        .list_parts()
        .bucket("big")
        .key("obj.bin")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed
            .parts()
            .iter()
            .map(|p| (p.part_number().unwrap(), p.size().unwrap()))
            .collect::<Vec<_>>(),
        [(1, 5 << 20), (2, 6 << 20), (3, 26)]
    );
    let uploads = c.list_multipart_uploads().bucket("big").send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    let e = c
        .complete_multipart_upload()
        .bucket("big")
        .key("obj.bin")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag("\"deadbeef\"").build())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidPart");
    let e = c
        .complete_multipart_upload()
        .bucket("big")
        .key("obj.bin")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(done[2].clone())
                .parts(done[0].clone())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidPartOrder");
    let finished = c
        .complete_multipart_upload()
        .bucket("big")
        .key("obj.bin")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap();
    let mut md5s = md5::Md5::new();
    for p in &parts {
        md5s.update(md5::Md5::digest(p));
    }
    let want = format!("\"{:x}-3\"", md5s.finalize());
    assert_eq!(finished.e_tag(), Some(want.as_str()));
    let head = c.head_object().bucket("big").key("obj.bin").send().await.unwrap();
    assert_eq!(head.e_tag(), Some(want.as_str()));
    assert_eq!(head.content_type(), Some("application/x-test"));
    assert_eq!(head.metadata().unwrap().get("kind").map(String::as_str), Some("multi"));
    assert_eq!(body(&c, "big", "obj.bin").await, parts.concat());
    assert!(
        c.list_multipart_uploads()
            .bucket("big")
            .send()
            .await
            .unwrap()
            .uploads()
            .is_empty()
    );
    let e = c
        .list_parts()
        .bucket("big")
        .key("obj.bin")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");

    // A part below 5 MiB that is not the last; an aborted upload leaves nothing.
    let up = c
        .create_multipart_upload()
        .bucket("big")
        .key("small")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let mut small = Vec::new();
    for n in 1..=2 {
        let r = c
            .upload_part()
            .bucket("big")
            .key("small")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from_static(b"tiny"))
            .send()
            .await
            .unwrap();
        small.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let e = c
        .complete_multipart_upload()
        .bucket("big")
        .key("small")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(small)).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "EntityTooSmall");
    c.abort_multipart_upload()
        .bucket("big")
        .key("small")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    let e = c
        .abort_multipart_upload()
        .bucket("big")
        .key("small")
        .upload_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");
    let e = c.head_object().bucket("big").key("small").send().await.unwrap_err();
    assert_eq!(status(&e), 404);
}

#[tokio::test]
async fn checksummed_uploads_are_verified_and_returned() {
    let server = TestServer::start().await;
    let c = s3_client(&server.url());
    c.create_bucket().bucket("sums").send().await.unwrap();
    // The SDK sends these aws-chunked with the checksum in the trailer.
    for alg in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Crc64Nvme,
    ] {
        let key = format!("k-{}", alg.as_str());
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let put = c
            .put_object()
            .bucket("sums")
            .key(&key)
            .checksum_algorithm(alg.clone())
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        let sum = [
            put.checksum_crc32(),
            put.checksum_crc32_c(),
            put.checksum_sha1(),
            put.checksum_sha256(),
            put.checksum_crc64_nvme(),
        ];
        assert_eq!(sum.iter().flatten().count(), 1, "{alg:?}: one checksum returned");
        let got = c
            .get_object()
            .bucket("sums")
            .key(&key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let back = [
            got.checksum_crc32(),
            got.checksum_crc32_c(),
            got.checksum_sha1(),
            got.checksum_sha256(),
            got.checksum_crc64_nvme(),
        ];
        assert_eq!(sum, back, "{alg:?}: the stored checksum");
        // The SDK validates the body against it as it reads.
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &data[..]);
    }
    // A checksum that does not match: BadDigest, and nothing stored.
    let e = c
        .put_object()
        .bucket("sums")
        .key("bad")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"some bytes"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadDigest");
    let e = c
        .put_object()
        .bucket("sums")
        .key("bad")
        .content_md5("AAAAAAAAAAAAAAAAAAAAAA==")
        .body(ByteStream::from_static(b"some bytes"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadDigest");
    let e = c.head_object().bucket("sums").key("bad").send().await.unwrap_err();
    assert_eq!(status(&e), 404);
}

#[tokio::test]
async fn tags_on_objects_and_buckets() {
    let server = TestServer::start().await;
    let c = s3_client(&server.url());
    c.create_bucket().bucket("tagged").send().await.unwrap();
    c.put_object()
        .bucket("tagged")
        .key("k")
        .tagging("team=a%20b&tier=gold")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let tags = c.get_object_tagging().bucket("tagged").key("k").send().await.unwrap();
    let pairs: Vec<_> = tags.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("team", "a b"), ("tier", "gold")]);
    let got = c.get_object().bucket("tagged").key("k").send().await.unwrap();
    assert_eq!(got.tag_count(), Some(2));
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    c.put_object_tagging()
        .bucket("tagged")
        .key("k")
        .tagging(Tagging::builder().tag_set(tag("only", "one")).build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = c.get_object_tagging().bucket("tagged").key("k").send().await.unwrap();
    assert_eq!(tags.tag_set().len(), 1);
    assert_eq!(body(&c, "tagged", "k").await, b"x", "tagging leaves the bytes");
    c.delete_object_tagging()
        .bucket("tagged")
        .key("k")
        .send()
        .await
        .unwrap();
    assert!(
        c.get_object_tagging()
            .bucket("tagged")
            .key("k")
            .send()
            .await
            .unwrap()
            .tag_set()
            .is_empty()
    );
    let eleven = Tagging::builder()
        .set_tag_set(Some((0..11).map(|i| tag(&format!("k{i}"), "v")).collect()))
        .build()
        .unwrap();
    let e = c
        .put_object_tagging()
        .bucket("tagged")
        .key("k")
        .tagging(eleven)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadRequest");

    let e = c.get_bucket_tagging().bucket("tagged").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchTagSet");
    c.put_bucket_tagging()
        .bucket("tagged")
        .tagging(Tagging::builder().tag_set(tag("env", "dev")).build().unwrap())
        .send()
        .await
        .unwrap();
    let t = c.get_bucket_tagging().bucket("tagged").send().await.unwrap();
    assert_eq!(t.tag_set().first().map(|t| t.value()), Some("dev"));
    c.delete_bucket_tagging().bucket("tagged").send().await.unwrap();
    let e = c.get_bucket_tagging().bucket("tagged").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchTagSet");
}

#[tokio::test]
async fn presigned_urls_and_virtual_hosted_style() {
    let server = TestServer::with(Options {
        credentials: vec!["AKIDS3:s3secret"],
        ..Default::default()
    })
    .await;
    let c = s3_client_with(&server.url(), true, "AKIDS3", "s3secret");
    c.create_bucket().bucket("shared").send().await.unwrap();
    let presign = aws_sdk_s3::presigning::PresigningConfig::builder()
        .start_time(std::time::UNIX_EPOCH + Duration::from_millis(server.clock_now() as u64))
        .expires_in(Duration::from_secs(300))
        .build()
        .unwrap();
    let put = c
        .put_object()
        .bucket("shared")
        .key("up.txt")
        .presigned(presign.clone())
        .await
        .unwrap();
    let http = reqwest_like(put.method(), put.uri(), put.headers(), b"presigned body".to_vec()).await;
    assert_eq!(http.0, 200, "{}", http.1);
    let get = c
        .get_object()
        .bucket("shared")
        .key("up.txt")
        .presigned(presign.clone())
        .await
        .unwrap();
    let got = reqwest_like(get.method(), get.uri(), get.headers(), Vec::new()).await;
    assert_eq!((got.0, got.1.as_str()), (200, "presigned body"));
    // A changed signature is refused with S3's error.
    let tampered = get.uri().replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let bad = reqwest_like(get.method(), &tampered, get.headers(), Vec::new()).await;
    assert_eq!(bad.0, 403);
    assert!(bad.1.contains("<Code>SignatureDoesNotMatch</Code>"), "{}", bad.1);
    // A wrong secret, through the SDK.
    let wrong = s3_client_with(&server.url(), true, "AKIDS3", "not-the-secret");
    let e = wrong.list_buckets().send().await.unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    let unknown = s3_client_with(&server.url(), true, "NOBODY", "x");
    let e = unknown.list_buckets().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidAccessKeyId");

    // Virtual-hosted style: the bucket in the host name.
    let vh = s3_client_with(
        &format!("http://localhost:{}", server.addr.port()),
        false,
        "AKIDS3",
        "s3secret",
    );
    vh.put_object()
        .bucket("shared")
        .key("vh/key.txt")
        .body(ByteStream::from_static(b"virtual"))
        .send()
        .await
        .unwrap();
    assert_eq!(body(&c, "shared", "vh/key.txt").await, b"virtual");
    let listed = vh
        .list_objects_v2()
        .bucket("shared")
        .prefix("vh/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1);
}

/// Presigned URLs of signature version 2 (boto3's default for S3): a PUT and a GET signed as
/// S3 documents; a changed signature and an expired URL are refused.
#[tokio::test]
async fn presigned_urls_of_signature_version_2() {
    let server = TestServer::with(Options {
        credentials: vec!["AKIDV2:v2secret"],
        ..Default::default()
    })
    .await;
    let c = s3_client_with(&server.url(), true, "AKIDV2", "v2secret");
    c.create_bucket().bucket("legacy").send().await.unwrap();
    let expires = server.clock_now() / 1000 + 300;
    let url = |method: &str, path: &str, secret: &str, expires: i64, content_type: &str| {
        let headers: Vec<(&str, &str)> = if content_type.is_empty() {
            vec![]
        } else {
            vec![("content-type", content_type)]
        };
        let to_sign = rheo_wire::sigv2::string_to_sign(method, path, None, None, &headers, expires);
        let sig = rheo_wire::sigv2::sign(secret, &to_sign);
        let sig: String = sig
            .bytes()
            .map(|b| match b {
                b'+' => "%2B".to_owned(),
                b'/' => "%2F".to_owned(),
                b'=' => "%3D".to_owned(),
                b => (b as char).to_string(),
            })
            .collect();
        format!(
            "{}{path}?AWSAccessKeyId=AKIDV2&Signature={sig}&Expires={expires}",
            server.url()
        )
    };
    let put = url("PUT", "/legacy/v2.txt", "v2secret", expires, "text/plain");
    let h = [("content-type", "text/plain")];
    let r = reqwest_like("PUT", &put, h.iter().copied(), b"signed the old way".to_vec()).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let get = url("GET", "/legacy/v2.txt", "v2secret", expires, "");
    let r = reqwest_like("GET", &get, std::iter::empty(), Vec::new()).await;
    assert_eq!((r.0, r.1.as_str()), (200, "signed the old way"));
    let wrong = url("GET", "/legacy/v2.txt", "not-the-secret", expires, "");
    let r = reqwest_like("GET", &wrong, std::iter::empty(), Vec::new()).await;
    assert_eq!(r.0, 403);
    assert!(r.1.contains("<Code>SignatureDoesNotMatch</Code>"), "{}", r.1);
    let old = url("GET", "/legacy/v2.txt", "v2secret", server.clock_now() / 1000 - 10, "");
    let r = reqwest_like("GET", &old, std::iter::empty(), Vec::new()).await;
    assert_eq!(r.0, 403);
    assert!(
        r.1.contains("<Code>AccessDenied</Code>") && r.1.contains("expired"),
        "{}",
        r.1
    );
}

/// Sends a request over a plain connection; (status, body).
async fn reqwest_like(
    method: &str,
    uri: &str,
    headers: impl Iterator<Item = (&str, &str)>,
    body: Vec<u8>,
) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let mut b = http::Request::builder().method(method).uri(uri);
    for (n, v) in headers {
        b = b.header(n, v);
    }
    let req = b.body(Full::new(bytes::Bytes::from(body))).unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A signed aws-chunked upload (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), built by hand as
/// S3's documentation specifies: each chunk's signature is checked, and a tampered chunk fails.
#[tokio::test]
async fn signed_chunked_uploads_verify_each_chunk() {
    let server = TestServer::with(Options {
        credentials: vec!["AKIDCH:chunksecret"],
        ..Default::default()
    })
    .await;
    let c = s3_client_with(&server.url(), true, "AKIDCH", "chunksecret");
    c.create_bucket().bucket("chunks").send().await.unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 200) as u8).collect();
    let send = |tamper: bool| {
        let data = data.clone();
        let server_url = server.url();
        let host = server.addr.to_string();
        let now = server.clock_now();
        async move {
            let (req, body) = signed_chunked(&host, "/chunks/signed.bin", &data, now, tamper);
            let mut b = http::Request::builder()
                .method("PUT")
                .uri(format!("{server_url}/chunks/signed.bin"));
            for (n, v) in &req {
                b = b.header(n.as_str(), v.as_str());
            }
            let resp = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http()
                .request(b.body(http_body_util::Full::new(bytes::Bytes::from(body))).unwrap())
                .await
                .unwrap();
            let status = resp.status().as_u16();
            use http_body_util::BodyExt;
            let text = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&text).into_owned())
        }
    };
    let (status, text) = send(true).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    let e = c
        .head_object()
        .bucket("chunks")
        .key("signed.bin")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), 404, "a refused upload leaves nothing");
    let (status, text) = send(false).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(body(&c, "chunks", "signed.bin").await, data);
}

fn status_of<E>(e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> u16 {
    status(e)
}

/// Headers and body of a signed chunked PUT (chunks of 64 KiB).
fn signed_chunked(host: &str, path: &str, data: &[u8], now_ms: i64, tamper: bool) -> (Vec<(String, String)>, Vec<u8>) {
    use rheo_wire::sigv4;
    let amz_date = sigv4::format_amz_date(now_ms);
    let date = &amz_date[..8];
    let scope = sigv4::Scope {
        access_key: "AKIDCH".into(),
        date: date.into(),
        region: "us-east-1".into(),
        service: "s3".into(),
    };
    let chunks: Vec<&[u8]> = data.chunks(64 * 1024).collect();
    let mut encoded_len = 0usize;
    for c in chunks.iter().map(|c| c.len()).chain(std::iter::once(0)) {
        encoded_len += format!("{c:x}").len() + ";chunk-signature=".len() + 64 + 2 + c + 2;
    }
    let headers_owned = vec![
        ("host".to_owned(), host.to_owned()),
        ("x-amz-date".to_owned(), amz_date.clone()),
        (
            "x-amz-content-sha256".to_owned(),
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_owned(),
        ),
        ("x-amz-decoded-content-length".to_owned(), data.len().to_string()),
        ("content-encoding".to_owned(), "aws-chunked".to_owned()),
        ("content-length".to_owned(), encoded_len.to_string()),
    ];
    let hv: Vec<(&str, &str)> = headers_owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let parts = sigv4::RequestParts {
        method: "PUT",
        path,
        query: None,
        headers: &hv,
    };
    let signed = [
        "content-encoding",
        "content-length",
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amz-decoded-content-length",
    ];
    let auth = sigv4::authorization(
        &parts,
        &scope,
        "chunksecret",
        &amz_date,
        &signed,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let seed = auth.rsplit("Signature=").next().unwrap().to_owned();
    let sig = sigv4::Signature {
        scope: scope.clone(),
        signed_headers: vec![],
        signature: seed,
        amz_date: amz_date.clone(),
        presigned: false,
        expires_s: None,
    };
    let mut chain = sigv4::ChunkSigner::new("chunksecret", &sig);
    let mut body = Vec::new();
    for (i, c) in chunks.iter().copied().chain(std::iter::once(&[][..])).enumerate() {
        let s = expected_signature(&mut chain, c);
        body.extend_from_slice(format!("{:x};chunk-signature={s}\r\n", c.len()).as_bytes());
        let mut c = c.to_vec();
        // The second chunk changed after signing.
        if tamper && i == 1 {
            c[0] ^= 1;
        }
        body.extend_from_slice(&c);
        body.extend_from_slice(b"\r\n");
    }
    assert_eq!(body.len(), encoded_len);
    let mut headers = headers_owned;
    headers.push(("authorization".to_owned(), auth));
    (headers, body)
}

/// The next chunk's signature, as S3 documents it.
fn expected_signature(chain: &mut rheo_wire::sigv4::ChunkSigner, chunk: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(chunk);
    chain.sign_chunk(&hash)
}

#[tokio::test]
async fn object_events_reach_queues_and_topics() {
    let server = TestServer::start().await;
    let c = s3_client(&server.url());
    let sqs = sqs_client(&server.url());
    let sns = sns_client(&server.url());
    c.create_bucket().bucket("events").send().await.unwrap();
    let direct = sqs
        .create_queue()
        .queue_name("s3-direct")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let via = sqs
        .create_queue()
        .queue_name("s3-via-topic")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let arn_of = |url: &str| format!("arn:aws:sqs:us-east-1:000000000000:{}", url.rsplit('/').next().unwrap());
    let topic = sns
        .create_topic()
        .name("s3-events")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn_of(&via))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let filter = |prefix: &str, suffix: &str| {
        NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(FilterRule::builder().name(FilterRuleName::Prefix).value(prefix).build())
                    .filter_rules(FilterRule::builder().name(FilterRuleName::Suffix).value(suffix).build())
                    .build(),
            )
            .build()
    };
    // A destination that does not exist is refused.
    let e = c
        .put_bucket_notification_configuration()
        .bucket("events")
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn("arn:aws:sqs:us-east-1:000000000000:missing")
                        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    let config = NotificationConfiguration::builder()
        .queue_configurations(
            QueueConfiguration::builder()
                .id("to-queue")
                .queue_arn(arn_of(&direct))
                .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
                .events(aws_sdk_s3::types::Event::from("s3:ObjectRemoved:*"))
                .filter(filter("in/", ".json"))
                .build()
                .unwrap(),
        )
        .topic_configurations(
            TopicConfiguration::builder()
                .id("to-topic")
                .topic_arn(&topic)
                .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:Put"))
                .filter(filter("other/", ""))
                .build()
                .unwrap(),
        )
        .build();
    c.put_bucket_notification_configuration()
        .bucket("events")
        .notification_configuration(config)
        .send()
        .await
        .unwrap();
    let got = c
        .get_bucket_notification_configuration()
        .bucket("events")
        .send()
        .await
        .unwrap();
    assert_eq!(got.queue_configurations().len(), 1);
    assert_eq!(got.topic_configurations().len(), 1);
    assert_eq!(got.queue_configurations()[0].id(), Some("to-queue"));
    assert_eq!(got.queue_configurations()[0].events().len(), 2);
    // The test event, to the queue and (through the topic) to its subscriber.
    let test = receive(&sqs, &direct, 1).await;
    assert_eq!(test[0]["Event"], "s3:TestEvent");
    assert_eq!(test[0]["Bucket"], "events");
    assert_eq!(receive(&sqs, &via, 1).await[0]["Event"], "s3:TestEvent");

    let data = b"{\"n\": 1}";
    c.put_object()
        .bucket("events")
        .key("in/a b.json")
        .body(ByteStream::from_static(data))
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket("events")
        .key("in/skip.csv")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket("events")
        .key("other/t.txt")
        .body(ByteStream::from_static(b"t"))
        .send()
        .await
        .unwrap();
    c.delete_object()
        .bucket("events")
        .key("in/a b.json")
        .send()
        .await
        .unwrap();
    let events = receive(&sqs, &direct, 2).await;
    let created = &events[0]["Records"][0];
    assert_eq!(created["eventVersion"], "2.1");
    assert_eq!(created["eventSource"], "aws:s3");
    assert_eq!(created["awsRegion"], "us-east-1");
    assert_eq!(created["eventName"], "ObjectCreated:Put");
    assert_eq!(created["s3"]["configurationId"], "to-queue");
    assert_eq!(created["s3"]["bucket"]["name"], "events");
    assert_eq!(created["s3"]["bucket"]["arn"], "arn:aws:s3:::events");
    assert_eq!(created["s3"]["object"]["key"], "in/a+b.json");
    assert_eq!(created["s3"]["object"]["size"], data.len());
    assert_eq!(created["s3"]["object"]["eTag"], md5_hex(data));
    assert_eq!(created["requestParameters"]["sourceIPAddress"], "127.0.0.1");
    let removed = &events[1]["Records"][0];
    assert_eq!(removed["eventName"], "ObjectRemoved:Delete");
    let (s1, s2) = (
        created["s3"]["object"]["sequencer"].as_str().unwrap(),
        removed["s3"]["object"]["sequencer"].as_str().unwrap(),
    );
    assert!(s1 < s2, "sequencers order a key's changes: {s1} {s2}");
    let topic_events = receive(&sqs, &via, 1).await;
    assert_eq!(topic_events[0]["Records"][0]["s3"]["object"]["key"], "other/t.txt");
    assert_eq!(topic_events[0]["Records"][0]["s3"]["configurationId"], "to-topic");
    // Nothing else arrives (the .csv matched no configuration).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let more = sqs
        .receive_message()
        .queue_url(&direct)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    assert!(more.messages().is_empty());
}

/// Receives `n` messages' JSON bodies, deleting them.
async fn receive(sqs: &aws_sdk_sqs::Client, url: &str, n: usize) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for _ in 0..50 {
        let r = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in r.messages() {
            out.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if out.len() >= n {
            break;
        }
    }
    assert_eq!(out.len(), n, "{out:?}");
    out
}
