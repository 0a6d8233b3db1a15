//! Tags on streams, by name and by resource ARN.

use crate::common::*;

#[tokio::test]
async fn tags_add_list_page_and_remove() {
    let server = TestServer::start().await;
    let c = server.client();
    c.create_stream()
        .stream_name("tagged")
        .shard_count(1)
        .tags("team", "data")
        .send()
        .await
        .unwrap();
    c.add_tags_to_stream()
        .stream_name("tagged")
        .tags("env", "test")
        .tags("owner", "me")
        .send()
        .await
        .unwrap();
    let all = c.list_tags_for_stream().stream_name("tagged").send().await.unwrap();
    let keys: Vec<&str> = all.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["env", "owner", "team"]);
    assert!(!all.has_more_tags());
    let page = c
        .list_tags_for_stream()
        .stream_name("tagged")
        .limit(1)
        .exclusive_start_tag_key("env")
        .send()
        .await
        .unwrap();
    assert_eq!(page.tags()[0].key(), "owner");
    assert!(page.has_more_tags());
    c.remove_tags_from_stream()
        .stream_name("tagged")
        .tag_keys("owner")
        .send()
        .await
        .unwrap();
    let arn = server.arn("tagged");
    c.tag_resource()
        .resource_arn(&arn)
        .tags("via", "arn")
        .send()
        .await
        .unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let pairs: Vec<(&str, Option<&str>)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(
        pairs,
        [("env", Some("test")), ("team", Some("data")), ("via", Some("arn"))]
    );
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("via")
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
    // At most 50 tags on a stream.
    let mut req = c.add_tags_to_stream().stream_name("tagged");
    for i in 0..50 {
        req = req.tags(format!("k{i}"), "v");
    }
    assert_eq!(code(req.send().await), "LimitExceededException");
    assert_eq!(
        code(
            c.add_tags_to_stream()
                .stream_name("tagged")
                .tags("bad*key", "v")
                .send()
                .await
        ),
        "InvalidArgumentException"
    );
    assert_eq!(
        code(c.list_tags_for_stream().stream_name("nope").send().await),
        "ResourceNotFoundException"
    );
}
