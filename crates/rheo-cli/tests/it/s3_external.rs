//! A bucket on an external S3-compatible store: here another Rheo server, a real one on its
//! own port with its own credentials. Objects, listings, copies, deletes, conditional creates
//! and multipart uploads pass through Rheo's S3 API to it, and land there.

use crate::common::{Options, TestServer};
use crate::s3::s3_client_with;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use rheo_objects::external::ExternalConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_bucket_passes_through_to_its_store() {
    let remote = TestServer::with(Options {
        credentials: vec!["AKIDREMOTE:remotesecret"],
        ..Default::default()
    })
    .await;
    let store = s3_client_with(&remote.url(), true, "AKIDREMOTE", "remotesecret");
    store.create_bucket().bucket("remote-lake").send().await.unwrap();
    let front = TestServer::with(Options {
        s3_external: vec![
            ExternalConfig::parse_spec(&format!(
                "name=lake,bucket=remote-lake,endpoint={},access-key-id=AKIDREMOTE,secret-access-key=remotesecret",
                remote.url()
            ))
            .unwrap(),
        ],
        ..Default::default()
    })
    .await;
    let c = crate::s3::s3_client(&front.url());
    c.create_bucket().bucket("local").send().await.unwrap();
    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["lake", "local"]);
    c.head_bucket().bucket("lake").send().await.unwrap();

    // A small object with its metadata, and a large one streamed in parts.
    c.put_object()
        .bucket("lake")
        .key("in/small.json")
        .content_type("application/json")
        .metadata("source", "front")
        .body(ByteStream::from_static(b"{\"n\":1}"))
        .send()
        .await
        .unwrap();
    let big: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 239) as u8).collect();
    c.put_object()
        .bucket("lake")
        .key("in/big.bin")
        .body(ByteStream::from(big.clone()))
        .send()
        .await
        .unwrap();
    // It is on the store, as put.
    let there = store
        .get_object()
        .bucket("remote-lake")
        .key("in/small.json")
        .send()
        .await
        .unwrap();
    assert_eq!(there.content_type(), Some("application/json"));
    assert_eq!(
        there.metadata().unwrap().get("source").map(String::as_str),
        Some("front")
    );
    assert_eq!(there.body.collect().await.unwrap().into_bytes().as_ref(), b"{\"n\":1}");
    let there = store
        .get_object()
        .bucket("remote-lake")
        .key("in/big.bin")
        .send()
        .await
        .unwrap();
    assert!(
        there.e_tag().unwrap().ends_with("-3\""),
        "streamed in 5 MiB parts: {:?}",
        there.e_tag()
    );
    assert_eq!(there.body.collect().await.unwrap().into_bytes().as_ref(), &big[..]);
    // Read back through Rheo: whole, by range, head.
    let got = c
        .get_object()
        .bucket("lake")
        .key("in/big.bin")
        .range("bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.content_range(),
        Some(format!("bytes 100-199/{}", big.len()).as_str())
    );
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &big[100..200]);
    let head = c
        .head_object()
        .bucket("lake")
        .key("in/small.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.content_length(), Some(7));
    let e = c
        .get_object()
        .bucket("lake")
        .key("in/missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.into_service_error().meta().code(), Some("NoSuchKey"));

    // A conditional create: the second is refused.
    let e = c
        .put_object()
        .bucket("lake")
        .key("in/small.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"again"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.into_service_error().meta().code(), Some("PreconditionFailed"));

    // Listings with S3's prefixes and delimiters, in pages.
    for k in ["in/a/1", "in/a/2", "in/b", "out/c", "in-x"] {
        c.put_object()
            .bucket("lake")
            .key(k)
            .body(ByteStream::from_static(b"1"))
            .send()
            .await
            .unwrap();
    }
    let top = c.list_objects_v2().bucket("lake").delimiter("/").send().await.unwrap();
    assert_eq!(
        top.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["in-x"]
    );
    assert_eq!(
        top.common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect::<Vec<_>>(),
        ["in/", "out/"]
    );
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket("lake")
            .prefix("in/")
            .max_keys(2)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(keys, ["in/a/1", "in/a/2", "in/b", "in/big.bin", "in/small.json"]);
    let partial = c.list_objects_v2().bucket("lake").prefix("in/b").send().await.unwrap();
    assert_eq!(
        partial.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["in/b", "in/big.bin"]
    );

    // Copy within the bucket, delete one and several.
    c.copy_object()
        .bucket("lake")
        .key("out/copy.json")
        .copy_source("lake/in/small.json")
        .send()
        .await
        .unwrap();
    let copy = store
        .get_object()
        .bucket("remote-lake")
        .key("out/copy.json")
        .send()
        .await
        .unwrap();
    assert_eq!(copy.body.collect().await.unwrap().into_bytes().as_ref(), b"{\"n\":1}");
    c.delete_object().bucket("lake").key("in-x").send().await.unwrap();
    assert!(
        store
            .head_object()
            .bucket("remote-lake")
            .key("in-x")
            .send()
            .await
            .is_err()
    );

    // The multipart API, passed through.
    let up = c
        .create_multipart_upload()
        .bucket("lake")
        .key("mp.bin")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let parts = [vec![1u8; 5 << 20], vec![2u8; 10]];
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let r = c
            .upload_part()
            .bucket("lake")
            .key("mp.bin")
            .upload_id(id)
            .part_number(i as i32 + 1)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("lake")
        .key("mp.bin")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap();
    let mp = store
        .get_object()
        .bucket("remote-lake")
        .key("mp.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        mp.body.collect().await.unwrap().into_bytes().as_ref(),
        &parts.concat()[..]
    );

    // What is not passed through says so; the bucket is not Rheo's to delete.
    let e = c
        .get_object_tagging()
        .bucket("lake")
        .key("mp.bin")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.into_service_error().meta().code(), Some("NotImplemented"));
    let e = c.delete_bucket().bucket("lake").send().await.unwrap_err();
    assert_eq!(e.into_service_error().meta().code(), Some("InvalidRequest"));
}
